"""Publication on the demo: suppression proved by attack, the quality gate, the extracts.

The gate runs in the test's own process (`gate_in_process`): the worker process it runs in
otherwise is tested in tests/publication/test_quality_report.py and test_publish_on_change.py."""

import importlib
import json
from dataclasses import replace
from pathlib import Path

import dagster as dg
import openpyxl
import polars as pl
import pytest

import pipelines.defs.publication as publication_defs
from pipelines import cli
from pipelines.privacy.scan import text_findings
from pipelines.publication.extracts import COVER_NOTE, WIDE_SUFFIX, extract_text
from pipelines.publication.protection import COUNT_MEASURES, attack_release, published_cells
from pipelines.publication.publish import (
    GateFailed,
    Prepared,
    ProtectionFailed,
    gate,
    release_digest,
    write_extracts,
)
from pipelines.publication.tables import COUNT, INDICATOR_MEASURES, NOT_YET_DUE, SHARE

pytestmark = pytest.mark.usefixtures("gate_in_process")

COUNTED = [*COUNT_MEASURES, "pupils_supported"]

SEMESTERS = 8

publish_module = importlib.import_module("pipelines.publication.publish")


@pytest.fixture(scope="module")
def exports(prepared, tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("published")
    semesters = sorted(prepared.semesters["semester_id"].to_list())
    results = gate(prepared.tables, semesters, release_digest(prepared), root / "quality")
    assert all(r.success for r in results), [r.failures for r in results]
    report = (root / "quality" / "report.html").read_text(encoding="utf-8")
    assert [p.name for p in sorted((root / "quality").iterdir())] == [
        "gate_record.json",
        "report.html",
    ]
    assert all(f'id="table-{table}"' in report for table in prepared.tables)
    assert 'class="result failed"' not in report
    written = write_extracts(prepared, root / "exports", root / "ledger", "a release")
    assert [(r.period, r.number) for r in written] == [("2025/26-S1", 1), ("2025/26-S2", 1)]
    return root / "exports"


def test_no_suppressed_cell_of_the_demo_can_be_narrowed_below_five(prepared):
    # Each cell attacked until integer tables that fit the published ones span 5 (exact below)
    found = attack_release(prepared.values, *published_cells(prepared.tables), False, enough=5)
    suppressed = {
        table: frame.filter(pl.col("suppressed") & pl.col("measure").is_in(COUNTED)).height
        for table, frame in prepared.tables.items()
    }
    attacked = dict(found.group_by("table").len().iter_rows())
    assert attacked == {t: n for t, n in suppressed.items() if n}
    assert attacked["school_indicators"] > 100 and attacked["school_support"] > 10
    assert found["width"].min() >= 5, found.sort("width").head()
    assert (found["low"] >= 1).all()  # zeros are published: a suppressed count is not zero
    assert prepared.narrowest_interval == found["width"].min()
    reported = {r["table"]: r["narrowest"] for r in prepared.protection["attack"]}
    assert reported == dict(found.group_by("table").agg(pl.col("width").min()).iter_rows())


def test_suppressed_cells_have_a_flag_and_no_value_and_no_reason(prepared):
    for frame in prepared.tables.values():
        hidden = frame.filter(pl.col("suppressed"))
        assert hidden["value"].null_count() == hidden.height
        assert "suppression" not in frame.columns  # a reason per cell would narrow it
    loss = pl.DataFrame(prepared.protection["information_loss"])
    indicators = prepared.tables["school_indicators"].filter(pl.col("status") != NOT_YET_DUE)
    hidden = indicators.filter(pl.col("suppressed") & pl.col("measure").is_in(COUNTED))
    assert loss.filter(pl.col("table") == "school_indicators")["suppressed"].sum() == hidden.height


def test_no_municipality_figure_is_suppressed_where_a_school_cell_would_do(prepared):
    """The municipality's cells cost a hundred times a school's: the ones suppressed are small
    themselves, or equal to a school's (the only non-zero school), or a complement no school
    cell can give. A municipality risk level is suppressed only in a semester where one is
    small itself: then the band margin of the municipality's own row needs a second one."""
    indicators = prepared.tables["school_indicators"].filter(pl.col("status") != NOT_YET_DUE)
    risk = indicators.filter(
        (pl.col("school_id") == "ALL") & pl.col("measure").is_in(["risk_medium", "risk_high"])
    )
    small = {
        cell[1]
        for cell, value in prepared.values.items()
        if cell[0] == "school_indicators" and cell[3] == "ALL" and 0 < value < 5
        and cell[2] in ("risk_medium", "risk_high")
    }  # fmt: skip
    assert set(risk.filter(pl.col("suppressed"))["semester_id"]) <= small
    assert risk["suppressed"].mean() < 0.25


def test_the_series_runs_to_2029_with_future_semesters_not_yet_due(prepared):
    indicators = prepared.tables["school_indicators"]
    assert indicators["semester_id"].n_unique() == SEMESTERS
    future = indicators.filter(pl.col("status") == NOT_YET_DUE)
    assert future["semester_id"].unique().sort().to_list() == [
        "2026/27-S2", "2027/28-S1", "2027/28-S2", "2028/29-S1", "2028/29-S2",
    ]  # fmt: skip
    assert future["value"].null_count() == future.height
    grid = indicators.group_by("semester_id").len()["len"].unique().to_list()
    assert len(grid) == 1  # the same grid in every semester


def test_the_municipality_equals_the_sum_of_its_schools_where_published(prepared):
    indicators = prepared.tables["school_indicators"].filter(
        (pl.col("measure") == "pupils") & (pl.col("dimension") == "all")
        & (pl.col("semester_id") == "2025/26-S1")
    )  # fmt: skip
    total = indicators.filter(pl.col("school_id") == "ALL")["value"][0]
    schools = indicators.filter(pl.col("school_id") != "ALL")
    assert not schools["suppressed"].any()
    assert schools["value"].sum() == total == 7296


def test_extract_folders_hold_every_format_and_a_manifest(exports):
    revision = exports / "2025-26-S1" / "r1"
    names = sorted(p.name for p in revision.iterdir())
    for table in ("school_indicators", "school_support", "project_to_date", "weekly_absence"):
        assert {f"{table}.csv", f"{table}.xlsx", f"{table}.parquet"} <= set(names)
        assert {f"{table}{WIDE_SUFFIX}.csv", f"{table}{WIDE_SUFFIX}.xlsx"} <= set(names)
    assert {"data_dictionary.csv", "data_dictionary.xlsx", COVER_NOTE} <= set(names)
    manifest = json.loads((revision / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["period"] == "2025/26-S1" and manifest["revision"] == 1
    assert manifest["rules"]["MK89_UNJUSTIFIED"] == "1"
    assert manifest["rule_set_version"] and manifest["code_version"] and manifest["generated_at"]
    listed = {f["name"]: f for f in manifest["files"]}
    assert set(listed) == set(names) - {"manifest.json"}
    assert (
        listed["school_indicators.parquet"]["rows"]
        == pl.read_parquet(revision / "school_indicators.parquet").height
    )


def test_every_revision_covers_its_period_and_the_ones_before_with_a_cover_note(exports):
    folders = sorted(exports.glob("*/r*"))
    assert len(folders) == 2
    for folder in folders:
        period = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))["period"]
        for table in ("school_indicators", "school_support", "weekly_absence"):
            semesters = pl.read_parquet(folder / f"{table}.parquet")["semester_id"]
            assert semesters.max() == period  # no later semester, not yet due or not
        later = pl.read_parquet(folder / "data_dictionary.parquet").filter(
            pl.col("kind") == "semester"
        )
        assert later["name"].min() > period and later["name"].max() == "2028/29-S2"
        note = (folder / COVER_NOTE).read_text(encoding="utf-8-sig")
        assert f"Pārskata periods: {period}" in note
        assert "Skolēnu skaiti no 1 līdz 4 (mazāki par 5) nav publicēti" in note


MEASURES = {m.name: m for m in INDICATOR_MEASURES}


def shown_equal(measure: str, shown: float, value: float) -> bool:
    """A value as the extract shows it: a count exactly, a share to 0.1 percentage points,
    lessons per pupil to one decimal."""
    scale = MEASURES[measure].scale
    if scale == COUNT:
        return shown == value and float(shown).is_integer()
    return abs(shown - value) <= (5e-4 if scale == SHARE else 0.05) + 1e-9


def test_xlsx_opens_with_openpyxl_and_round_trips(exports):
    revision = exports / "2025-26-S1" / "r1"
    parquet = pl.read_parquet(revision / "school_indicators.parquet")
    book = openpyxl.load_workbook(revision / "school_indicators.xlsx")
    sheet = book.active
    assert sheet.freeze_panes == "A2"
    assert sheet["A1"].font.bold
    assert sheet.column_dimensions["D"].width > 10  # school names fit
    rows = list(sheet.iter_rows())
    assert [c.value for c in rows[0]] == parquet.columns
    value = parquet.columns.index("value")
    for row, expected in zip(rows[1:], parquet.iter_rows(named=True), strict=True):
        cell = row[value]
        if expected["value"] is None:
            assert cell.value is None
            continue
        assert shown_equal(expected["measure"], cell.value, expected["value"]), expected
        scale = MEASURES[expected["measure"]].scale
        assert cell.number_format == {COUNT: "0", SHARE: "0.0%"}.get(scale, "0.0")


def test_csv_reads_back_with_semicolons_and_decimal_commas(exports):
    revision = exports / "2025-26-S1" / "r1"
    raw = (revision / "school_indicators.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    assert b";all;pupils;7296;0" in raw  # a count as an integer, not 7296,0
    assert b";attendance_rate;9" in raw  # a share in percent
    back = pl.read_csv(
        revision / "school_indicators.csv", separator=";", decimal_comma=True,
        schema_overrides={"value": pl.Float64},
    ).rename(lambda c: c.lstrip("\ufeff"))  # fmt: skip
    parquet = pl.read_parquet(revision / "school_indicators.parquet")
    for shown, expected in zip(back.iter_rows(named=True), parquet.iter_rows(named=True),
                               strict=True):  # fmt: skip
        if expected["value"] is None:
            assert shown["value"] is None
            continue
        percent = MEASURES[expected["measure"]].scale == SHARE
        value = shown["value"] / 100 if percent else shown["value"]
        assert shown_equal(expected["measure"], value, expected["value"]), expected
    assert back["suppressed"].cast(pl.Boolean).to_list() == parquet["suppressed"].to_list()


def test_no_identifier_appears_in_any_extract(exports, ingested, prepared):
    schools = [*pl.read_csv(Path(__file__).parents[2] / "data/reference/schools.csv")["name"]]
    files = sorted(exports.rglob("*.*"))
    assert len(files) > 20
    for path in files:
        text = extract_text(path) if path.suffix != ".json" else path.read_text(encoding="utf-8")
        assert text_findings(text, prepared.pupil_keys, [*schools, "Ogres novads"]) == [], path


def test_a_revision_only_follows_changed_numbers(prepared, exports, tmp_path):
    ledger = exports.parent / "ledger"
    assert write_extracts(prepared, exports, ledger, "a release") == []  # identical numbers
    assert sorted(p.name for p in (exports / "2025-26-S1").iterdir()) == ["r1"]

    changed = with_municipality_pupils_plus_one(prepared, pl.col("semester_id") == "2025/26-S1")
    written = write_extracts(changed, exports, ledger, "a later release")
    assert [(r.period, r.number) for r in written] == [("2025/26-S1", 2), ("2025/26-S2", 2)]
    manifest = json.loads((exports / "2025-26-S1" / "r2" / "manifest.json").read_text("utf-8"))
    assert manifest["release"] == "a later release"
    changelog = (exports / "2025-26-S1" / "r2" / "changelog.md").read_text(encoding="utf-8")
    assert "revision 2 replaces revision 1" in changelog
    assert "school_indicators: 1 cells changed" in changelog
    assert "| school_indicators | 2025/26-S1 | ALL | all | pupils | 7296 | 7297 |" in changelog
    assert (exports / "2025-26-S1" / "r2" / "changes.csv").exists()
    assert (exports / "2025-26-S1" / "r1" / "manifest.json").exists()  # never overwritten


def with_municipality_pupils_plus_one(prepared: Prepared, where: pl.Expr) -> Prepared:
    """The municipality's pupils one more than its schools' in the semesters `where` selects:
    a changed number, and totals that no longer add up."""
    total = (pl.col("school_id") == "ALL") & (pl.col("measure") == "pupils")
    cells = total & (pl.col("dimension") == "all") & where
    tables = dict(prepared.tables)
    tables["school_indicators"] = tables["school_indicators"].with_columns(
        value=pl.when(cells).then(pl.col("value") + 1).otherwise(pl.col("value"))
    )
    return replace(prepared, tables=tables)


def test_the_quality_gate_fails_on_a_planted_inconsistency_and_blocks_the_extract(
    prepared, tmp_path, monkeypatch
):
    monkeypatch.setenv("PMP_DATA_DIR", str(tmp_path))
    planted = with_municipality_pupils_plus_one(prepared, pl.col("status") == "final")
    monkeypatch.setattr(publication_defs, "prepare", lambda *_, **__: planted)
    result = dg.materialize(
        [
            publication_defs.published_tables,
            publication_defs.publication_quality_gate,
            publication_defs.ministry_extracts,
        ],
        raise_on_error=False,
    )
    checks = {e.check_name: e for e in result.get_asset_check_evaluations()}
    failed = checks["quality_gate_school_indicators"]
    assert not failed.passed
    assert "margin_difference" in failed.metadata["failed_expectations"].value
    report = tmp_path / "quality" / "report.html"
    assert failed.metadata["quality_report"].value == str(report)
    page = report.read_text(encoding="utf-8")
    row = 'data-table="school_indicators" data-expectation="expect_column_values_to_be_between"'
    assert f'class="expectation failed" {row}' in page
    assert checks["quality_gate_school_support"].passed
    materialized = {e.asset_key for e in result.get_asset_materialization_events()}
    assert dg.AssetKey(["publication", "ministry_extracts"]) not in materialized
    assert not (tmp_path / "exports").exists()


@pytest.mark.parametrize(
    "error",
    [
        ProtectionFailed("nothing published: the attack narrows 1 suppressed cells below 5"),
        GateFailed("school_indicators: expect_column_values_to_be_between(value): 1"),
    ],
)
def test_pmp_publish_says_why_nothing_was_published_in_one_line(error, monkeypatch, capsys):
    def refuse(*_):
        raise error

    monkeypatch.setattr(publish_module, "publish", refuse)
    with pytest.raises(SystemExit) as stop:
        cli.main(["publish"])
    assert str(stop.value) == f"pmp publish: {error}"
    assert "Traceback" not in capsys.readouterr().err
