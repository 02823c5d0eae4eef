"""The demo generator: deterministic, contract-shaped, realistic, and honest about its defects."""

from collections import Counter
from datetime import date

import polars as pl
import pytest

from pipelines.demo.generate import generate, manifest_path
from pipelines.ingest import justification
from pipelines.ingest.readers import RawTable, RejectedFile, read_delivery
from pipelines.ingest.values import parse_date
from pipelines.privacy import personal_code
from pipelines.reference.calendar import school_calendar
from pipelines.reference.tables import grade_band, schools

CONTRACT_DEFECTS = {
    "tolerate": {
        "encoding_windows_1257",
        "utf8_bom",
        "crlf",
        "trailing_empty_line",
        "no_final_newline",
        "title_row",
        "header_spaces_case",
        "columns_shuffled",
        "extra_columns",
        "dates_trailing_dot",
        "dates_iso",
        "xlsx_spreadsheet_dates",
        "xlsx_text_dates",
        "code_without_hyphen",
        "code_with_spaces",
        "duplicate_identical",
    },
    "reject": {
        "undecodable",
        "not_csv_or_xlsx",
        "empty_file",
        "header_only",
        "required_column_missing",
        "unknown_header",
        "truncated_file",
        "unknown_school_folder",
        "period_outside_school_validity",
    },
    "quarantine": {
        "code_format",
        "code_check_digit",
        "date_unparseable",
        "date_future",
        "date_outside_school_year",
        "absence_on_day_without_lessons",
        "grade_out_of_scale",
        "class_unknown",
        "pupil_not_in_register",
        "support_outside_target_group",
        "unknown_school",
        "conflicting_duplicate",
    },
}
# Rejections that need the reference data or the calendar: the files themselves read fine.
REJECTED_AFTER_READING = {"unknown_school_folder", "period_outside_school_validity"}


@pytest.fixture(scope="session")
def tables(demo) -> dict[str, list[RawTable]]:
    landing, manifest = demo
    read = {}
    for record in manifest["files"]:
        try:
            read[record["file"]] = read_delivery(landing / record["file"])
        except RejectedFile as rejected:
            read[record["file"]] = rejected
    return read


def test_same_seed_and_arguments_give_identical_bytes(tmp_path):
    first, second = tmp_path / "a" / "landing", tmp_path / "b" / "landing"
    for out in (first, second):
        generate(out, end_date=date(2025, 11, 14), scale=0.1, defect_rate=0.01)
    files = sorted(p.relative_to(first) for p in first.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(second) for p in second.rglob("*") if p.is_file())
    assert len(files) > 30
    for name in files:
        assert (first / name).read_bytes() == (second / name).read_bytes(), name
    assert manifest_path(first).read_bytes() == manifest_path(second).read_bytes()


def test_every_contract_defect_is_injected_and_listed(demo):
    _, manifest = demo
    seen: dict[str, set[str]] = {}
    for defect in manifest["defects"]:
        seen.setdefault(defect["category"], set()).add(defect["defect"])
    for category, expected in CONTRACT_DEFECTS.items():
        assert expected <= seen[category], expected - seen[category]


def test_every_file_parses_back_under_the_contract(demo, tables):
    _, manifest = demo
    rejected = {d["file"]: d["defect"] for d in manifest["defects"] if d["category"] == "reject"}
    for record in manifest["files"]:
        result = tables[record["file"]]
        reason = rejected.get(record["file"])
        if reason and reason not in REJECTED_AFTER_READING:
            assert isinstance(result, RejectedFile), record["file"]
            assert result.reason == reason
            continue
        assert not isinstance(result, RejectedFile), f"{record['file']}: {result}"
        if reason:
            continue
        assert sorted(t.kind for t in result) == sorted(record["kinds"])
        assert sum(t.rows.height for t in result) == record["rows"]


def test_dialects_encodings_and_delivery_modes_are_mixed(demo, tables):
    _, manifest = demo
    files = [f for f in manifest["files"] if f["kinds"]]
    assert {f["dialect"] for f in files} == {"E", "M"}
    assert {f["encoding"] for f in files} >= {"utf-8", "utf-8-sig", "cp1257", "xlsx"}
    nightly = [f for f in files if f["period_start"] == f["period_end"]]
    snapshots = [f for f in files if f["period_start"] != f["period_end"]]
    assert nightly and snapshots
    corrections = [f for f in files if f["supersedes"]]
    assert any(f["dialect"] == "E" for f in corrections)
    assert any(f["dialect"] == "M" for f in corrections)


def test_row_defects_point_at_the_named_row(demo, tables):
    _, manifest = demo
    checked = 0
    for defect in manifest["defects"]:
        if defect["defect"] not in ("code_format", "code_check_digit") or defect["file"].endswith(
            ".xlsx"
        ):
            continue
        (table,) = tables[defect["file"]]
        value = table.rows.filter(pl.col("row") == defect["row"])["Personas kods"][0]
        assert personal_code.problem(value) is not None, defect
        checked += 1
    assert checked > 20


def _register_rows(tables, semester_start: date, semester_end: date) -> pl.DataFrame:
    """The pupil registers of the full snapshots for one semester, one row per enrolment."""
    frames = []
    for name, result in tables.items():
        if isinstance(result, RejectedFile) or name.startswith(("XYZ", "KPP/kavejumi_2026")):
            continue
        for table in result:
            period = table.title_period
            if table.kind == "skoleni" and period in (None, (semester_start, semester_end)):
                admitted = "Uzņemšanas datums" if table.dialect == "E" else "Uzņemts"
                in_name = f"_{semester_start:%Y%m%d}-{semester_end:%Y%m%d}" in name
                if period or in_name:
                    frames.append(
                        table.rows.select(
                            school=pl.lit(name.split("/")[0]),
                            code=pl.col("Personas kods"),
                            klase=pl.col("Klase"),
                            admitted=parse_date(admitted),
                        )
                    )
    return pl.concat(frames).unique(["school", "code"])


def test_enrolment_by_grade_band_matches_2025_26(tables):
    register = _register_rows(tables, date(2025, 9, 1), date(2025, 12, 19))
    at_start = register.filter(pl.col("admitted") <= date(2025, 9, 1))
    bands = Counter(grade_band(int(k.split(".")[0])) for k in at_start["klase"])
    for band, published in {"1-3": 2236, "4-6": 2146, "7-9": 1899, "10-12": 986}.items():
        assert abs(bands[band] - published) <= 0.02 * published, (band, bands[band])


def test_about_180_pupils_supported_in_2025_26_semester_1(demo, tables):
    name = "_municipality/atbalsts_20250901-20251219.csv"
    planted = {d["row"] for d in demo[1]["defects"] if d["file"] == name}
    (support,) = tables[name]
    rows = support.rows.filter(~pl.col("row").is_in(planted))
    pupils = rows.filter(parse_date("Sākuma datums") <= date(2025, 12, 19))["Personas kods"]
    assert 144 <= pupils.n_unique() <= 216
    assert set(rows["Aktivitāte"]) == {"LAS", "R9"}


def test_unjustified_absences_cluster_in_a_minority(demo, tables):
    calendar = school_calendar()
    absences, notes, resolved_m = [], [], []
    for name, result in tables.items():
        if isinstance(result, RejectedFile) or "_v2" in name or name.startswith("_"):
            continue
        school = name.split("/")[0]
        for table in result:
            if table.kind not in ("kavejumi", "zimes"):
                continue
            rows = table.rows.with_columns(pupil=pl.lit(school + ":") + pl.col("Personas kods"))
            if table.kind == "kavejumi" and table.dialect == "E":
                absences.append(rows.select("pupil", date=parse_date("Datums"), mark="Atzīme"))
            elif table.kind == "zimes":
                notes.append(
                    rows.select(
                        "pupil",
                        parse_date("No").alias("from"),
                        parse_date("Līdz").alias("to"),
                        submitted=parse_date("Iesniegts"),
                    )
                )
            elif table.kind == "kavejumi":
                resolved_m.append(rows.filter(pl.col("Iemesls") == "Neattaisnots").select("pupil"))
    (window,) = {s.note_deadline_school_days for s in schools()}
    e = justification.resolve(
        pl.concat(absences).drop_nulls(), pl.concat(notes).drop_nulls(), calendar, window
    )
    unjustified = pl.concat(
        [e.filter(pl.col("reason").str.starts_with("unjustified")).select("pupil"), *resolved_m]
    )
    assert set(e["reason"].unique()) >= {"unjustified_late_note", "justified_by_note", "illness"}
    per_pupil = unjustified.group_by("pupil").len()["len"].sort(descending=True)
    enrolled = 7267
    top = per_pupil.head(enrolled // 10).sum()
    assert top / per_pupil.sum() >= 0.40


def test_grades_use_the_scale_of_the_grade_level(tables):
    seen_levels, seen_marks = set(), set()
    for result in tables.values():
        if isinstance(result, RejectedFile):
            continue
        for table in result:
            if table.kind != "vertejumi":
                continue
            grade = table.rows["Klase"].str.split(".").list.first().cast(pl.Int64, strict=False)
            values = table.rows.with_columns(grade=grade)
            seen_levels |= set(values.filter(pl.col("grade") <= 3)["Vērtējums"].unique())
            seen_marks |= set(values.filter(pl.col("grade") >= 4)["Vērtējums"].unique())
    assert {"S", "T", "A", "P", "nv", "atb"} <= seen_levels
    assert {str(n) for n in range(2, 11)} | {"nv", "atb"} <= seen_marks
    assert any(v.endswith("%") and "," in v for v in seen_marks)
    assert any(v.endswith(" %") for v in seen_marks)


def test_illness_peaks_in_a_winter_wave(tables):
    illness = []
    for name, result in tables.items():
        if isinstance(result, RejectedFile) or "_v2" in name:
            continue
        for table in result:
            if table.kind != "kavejumi":
                continue
            mark = "Atzīme" if table.dialect == "E" else "Iemesls"
            sick = table.rows.filter(pl.col(mark).is_in(["ns", "Slimība"]))
            illness.append(sick.select(day=parse_date("Datums")))
    per_day = (
        pl.concat(illness)
        .filter(pl.col("day").dt.year() * 100 + pl.col("day").dt.month() <= 202605)
        .group_by(month=pl.col("day").dt.month())
        .agg(per_day=pl.len() / pl.col("day").n_unique())
    )
    rate = dict(per_day.iter_rows())
    assert rate[2] > 1.4 * rate[10]
    assert rate[2] > 1.4 * rate[5]
