"""The quality report: one page per gate run that holds everything it shows, every table and
expectation with its result, and what broke a failed one; checked offline in Chromium."""

import importlib
import random
import re
from dataclasses import replace
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path

import polars as pl
import pytest

from pipelines.publication import gate_worker
from pipelines.publication.gate import expectations, expected_rows, outcome
from pipelines.publication.gate_worker import GateUnavailable
from pipelines.publication.publish import (
    GateFailed,
    Prepared,
    gate,
    publish,
    release_digest,
    store,
)
from pipelines.publication.quality_report import (
    ExpectationOutcome,
    GateRun,
    quality_report,
    report_file,
    shown,
    write_report,
)
from pipelines.publication.tables import disclosure_settings

KEY = ("semester_id", "school_id", "dimension", "measure")
# The module, not the function `pipelines.publication` exports under its name.
publish_module = importlib.import_module("pipelines.publication.publish")


class ReportRows(HTMLParser):
    """The expectation rows of a report page: table, expectation, result class, the row's
    text and the cells of its examples table."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[dict] = []
        self.depth = 0  # 1 inside an expectation row, 2 inside one of its examples' rows
        self.in_cell = False

    def handle_starttag(self, tag: str, attrs: list) -> None:
        found = dict(attrs)
        if tag == "tr" and "expectation" in (found.get("class") or "").split():
            self.rows.append(
                {
                    "table": found["data-table"],
                    "expectation": found["data-expectation"],
                    "status": found["class"].split()[1],
                    "text": "",
                    "examples": [],
                }
            )
            self.depth = 1
        elif self.depth and tag == "tr":
            self.depth += 1
            self.rows[-1]["examples"].append([])
        elif self.depth > 1 and tag == "td":
            self.in_cell = True
            self.rows[-1]["examples"][-1].append("")

    def handle_endtag(self, tag: str) -> None:
        if self.depth and tag == "tr":
            self.depth -= 1
        elif tag == "td":
            self.in_cell = False

    def handle_data(self, data: str) -> None:
        if self.depth:
            self.rows[-1]["text"] += data
        if self.in_cell:
            self.rows[-1]["examples"][-1][-1] += data


def parsed(page: str) -> list[dict]:
    reader = ReportRows()
    reader.feed(page)
    return [{**r, "examples": [cells for cells in r["examples"] if cells]} for r in reader.rows]


def random_outcome(rng: random.Random, number: int) -> ExpectationOutcome:
    """A passed or failed expectation of one of the shapes Great Expectations gives: a table
    value observed, rows read and broken (with examples), values missing, or an error. Its
    texts carry markup, which the page must show as text."""
    success = rng.random() < 0.5
    shape = rng.choice(["table", "rows", "values", "error"] if not success else ["table", "rows"])
    checked = rng.randint(10, 500) if shape == "rows" else None
    unexpected = None if shape in ("table", "error") else 0 if success else rng.randint(1, 30)
    examples = [
        {
            "value": rng.choice([-3.0, 2.5, "<b>x</b>"]),
            **{k: f"{k}-{rng.randint(1, 9)}" for k in KEY},
        }
        for _ in range(min(unexpected or 0, 20))
    ]
    return ExpectationOutcome(
        description=f"Pārbaude {number} <i>&</i> / expectation {number}",
        expectation=f"expect_{number}_{rng.choice(['rows', 'values'])}",
        arguments={"column": f"c{number}", "min_value": 0},
        success=success,
        observed=rng.randint(0, 9999) if shape == "table" else None,
        checked=checked,
        unexpected=unexpected,
        examples=examples,
        missing=["2028/29-S2"] if shape == "values" else [],
        error="column <c> not found" if shape == "error" else None,
    )


def random_run(seed: int) -> GateRun:
    rng = random.Random(seed)
    tables = {
        f"table_{t}": [random_outcome(rng, n) for n in range(rng.randint(1, 12))]
        for t in range(rng.randint(1, 5))
    }
    return GateRun(f"{rng.getrandbits(128):032x}", datetime(2026, 12, 7, 12, 5, tzinfo=UTC),
                   ["2025/26-S1", "2028/29-S2"], 5, tables)  # fmt: skip


@pytest.mark.parametrize("seed", range(25))
def test_every_table_and_expectation_is_listed_with_its_result_and_what_broke_it(seed):
    run = random_run(seed)
    page = quality_report(run)
    rows = parsed(page)
    listed = [(table, o) for table, outcomes in run.tables.items() for o in outcomes]
    assert [(r["table"], r["expectation"], r["status"]) for r in rows] == [
        (table, o.expectation, "passed" if o.success else "failed") for table, o in listed
    ]
    for row, (_, found) in zip(rows, listed, strict=True):
        assert found.description in row["text"]
        assert ("izturēta / passed" if found.success else "neizturēta / failed") in row["text"]
        assert row["examples"] == [[shown(e[c]) for c in ("value", *KEY)] for e in found.examples]
        if found.examples:
            assert f"{len(found.examples)} of {found.unexpected} shown" in row["text"]
        if found.checked is not None:
            assert f"{found.unexpected} of {found.checked} rows unexpected" in row["text"]
        for part in (found.observed, found.error, *found.missing):
            assert part is None or str(part) in row["text"]
    failed = sum(not o.success for _, o in listed)
    assert ('id="run-result"><span class="result failed"' in page) == (failed > 0)
    assert run.content_digest in page
    assert "<i>" not in page and "<b>" not in page and "<c>" not in page  # shown as text
    # Nothing outside the page: no script, no stylesheet or image, no link but its anchors.
    assert "<script" not in page and "src=" not in page and "<link" not in page
    assert re.findall(r'href="([^"]*)"', page) == [f"#table-{t}" for t in run.tables]


@pytest.mark.parametrize(
    ("moment", "riga"),
    [
        (datetime(2026, 12, 7, 12, 5, tzinfo=UTC), "07.12.2026 14:05:00"),  # winter: UTC+2
        (datetime(2026, 7, 1, 21, 30, tzinfo=UTC), "02.07.2026 00:30:00"),  # summer: UTC+3
    ],
)
def test_the_run_is_dated_in_riga_time(moment, riga):
    page = quality_report(replace(random_run(0), checked_at=moment))
    assert f'id="checked-at">{riga} (Rīgas laiks / Riga time)' in page


def test_the_report_replaces_the_previous_runs_whole(tmp_path):
    first, second = random_run(1), random_run(2)
    write_report(first, tmp_path)
    assert write_report(second, tmp_path) == report_file(tmp_path)
    assert report_file(tmp_path).read_text(encoding="utf-8") == quality_report(second)
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]


def test_great_expectations_results_become_outcomes_with_errors_and_missing_values():
    import great_expectations as gx
    import great_expectations.expectations as gxe
    import pandas as pd

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = {"globally": False}
    frame = pd.DataFrame({"semester_id": ["a", "b", "c"], "value": [1.0, -2.0, None]})
    batch = (
        context.data_sources.add_pandas("p")
        .add_dataframe_asset(name="t")
        .add_batch_definition_whole_dataframe("whole")
        .get_batch(batch_parameters={"dataframe": frame})
    )
    suite = gx.ExpectationSuite(
        name="t",
        expectations=[
            gxe.ExpectColumnDistinctValuesToEqualSet(
                column="semester_id", value_set=["a", "b", "d"], description="semesters"
            ),
            gxe.ExpectColumnValuesToBeBetween(column="value", min_value=0),
            gxe.ExpectColumnValuesToBeNull(column="absent"),
        ],
    )
    results = batch.validate(suite, result_format={"result_format": "SUMMARY"}).results
    found = {o.expectation: o for o in map(outcome, results)}
    semesters = found["expect_column_distinct_values_to_equal_set"]
    assert semesters.description == "semesters" and not semesters.success
    assert (semesters.unexpected, semesters.examples, semesters.missing) == (
        1,
        [{"value": "c"}],
        ["d"],
    )
    between = found["expect_column_values_to_be_between"]
    assert between.description == "expect_column_values_to_be_between"  # none given
    assert (between.checked, between.unexpected, between.examples) == (3, 1, [{"value": -2.0}])
    assert between.arguments == {"column": "value", "min_value": 0}
    absent = found["expect_column_values_to_be_null"]
    assert not absent.success and "absent" in absent.error


def planted_negative(prepared: Prepared) -> tuple[Prepared, dict]:
    """The demo's tables with one published school count of a final semester set to −3."""
    indicators = prepared.tables["school_indicators"]
    cell = indicators.filter(
        (pl.col("status") == "final") & ~pl.col("suppressed") & (pl.col("school_id") != "ALL")
        & (pl.col("measure") == "pupils") & (pl.col("dimension") == "7-9")
    ).row(0, named=True)  # fmt: skip
    where = pl.all_horizontal(pl.col(k) == cell[k] for k in KEY)
    planted = indicators.with_columns(value=pl.when(where).then(-3.0).otherwise(pl.col("value")))
    return replace(prepared, tables={**prepared.tables, "school_indicators": planted}), cell


@pytest.fixture(scope="module")
def failed_gate(prepared, tmp_path_factory) -> tuple[Prepared, dict, Path, list]:
    planted, cell = planted_negative(prepared)
    quality = tmp_path_factory.mktemp("quality")
    semesters = sorted(planted.semesters["semester_id"].to_list())
    results = gate(planted.tables, semesters, release_digest(planted), quality)
    return planted, cell, quality, results


ROWS = """() => Array.from(document.querySelectorAll('tr.expectation')).map(row => ({
    table: row.dataset.table,
    expectation: row.dataset.expectation,
    column: (row.querySelector('.arguments').innerText.match(/column=([a-z_]+)/) || [])[1] || '',
    result: row.querySelector('.result').innerText,
    visible: row.querySelector('.result').getBoundingClientRect().height > 0,
    examples: Array.from(row.querySelectorAll('table.examples tbody tr')).map(
        tr => Array.from(tr.cells).map(td => td.innerText)),
}))"""


def test_the_report_opens_offline_in_chromium_and_shows_the_failed_expectation(
    failed_gate, offline_page
):
    planted, cell, quality, results = failed_gate
    requests = []
    page = offline_page.page
    page.on("request", lambda request: requests.append(request.url))
    page.goto(report_file(quality).as_uri())
    rows = page.evaluate(ROWS)
    semesters = sorted(planted.semesters["semester_id"].to_list())
    threshold, _ = disclosure_settings()
    for table in planted.tables:
        suite = expectations(semesters, expected_rows(table, semesters), threshold)
        assert sorted(r["expectation"] for r in rows if r["table"] == table) == sorted(
            e.expectation_type for e in suite
        )
    assert all(r["visible"] for r in rows)
    failed = {
        (r["table"], f"{r['expectation']}({r['column']})")
        for r in rows
        if r["result"] == "✗ neizturēta / failed"
    }
    gated = {(r.table, f.split(":")[0]) for r in results for f in r.failures}
    assert failed == gated
    assert ("school_indicators", "expect_column_values_to_be_between(value)") in failed
    assert {r["result"] for r in rows} <= {"✓ izturēta / passed", "✗ neizturēta / failed"}
    negative = next(r for r in rows if r["expectation"] == "expect_column_values_to_be_between"
                    and r["column"] == "value" and r["table"] == "school_indicators")  # fmt: skip
    assert negative["examples"] == [["-3", *(cell[k] for k in KEY)]]
    assert page.locator("#content-digest").inner_text() == release_digest(planted)
    assert page.locator("#run-result").inner_text() == "✗ neizturēta / failed"
    assert requests == [report_file(quality).as_uri()]  # nothing but the page itself
    assert offline_page.errors == []


def test_a_failed_gate_publishes_nothing_and_names_the_report(failed_gate, tmp_path, monkeypatch):
    planted, _, quality, _ = failed_gate
    monkeypatch.setattr(publish_module, "prepare", lambda *_: planted)
    with pytest.raises(GateFailed) as failed:
        publish(tmp_path / "warehouse.duckdb", tmp_path / "staging", tmp_path / "publication",
                quality, tmp_path / "exports")  # fmt: skip
    assert str(failed.value).endswith(f"(quality report: {report_file(quality)})")
    assert "expect_column_values_to_be_between(value)" in str(failed.value)
    assert not (tmp_path / "publication" / "current").exists()


def test_a_gate_that_cannot_run_publishes_nothing_and_says_why_in_one_line(
    prepared, tmp_path, monkeypatch
):
    quality = tmp_path / "quality"
    quality.write_text("a file where the report's folder should be", encoding="utf-8")
    monkeypatch.setattr(publish_module, "prepare", lambda *_: prepared)
    with pytest.raises(GateUnavailable) as failed:
        publish(tmp_path / "warehouse.duckdb", tmp_path / "staging", tmp_path / "publication",
                quality, tmp_path / "exports")  # fmt: skip
    message = str(failed.value)
    assert message.startswith("nothing published: the quality gate could not run: ")
    assert "\n" not in message and str(quality) in message
    assert not (tmp_path / "publication" / "current").exists()
    assert not (tmp_path / "exports").exists()


def test_a_release_in_force_that_failed_its_gate_sends_no_extracts(
    failed_gate, tmp_path, monkeypatch
):
    """As the Dagster asset can leave it (the release stored, then its blocking gate failed):
    the same content published again is gated again from its kept results, and fails."""
    planted, _, quality, _ = failed_gate
    store(planted, tmp_path / "publication")
    monkeypatch.setattr(publish_module, "prepare", lambda *_: planted)
    with pytest.raises(GateFailed) as failed:
        publish(tmp_path / "warehouse.duckdb", tmp_path / "staging", tmp_path / "publication",
                quality, tmp_path / "exports")  # fmt: skip
    assert "expect_column_values_to_be_between(value)" in str(failed.value)
    assert not (tmp_path / "exports").exists()


def test_a_gate_that_does_not_answer_is_stopped_and_publishes_nothing(
    prepared, tmp_path, monkeypatch
):
    monkeypatch.setattr(gate_worker, "GATE_TIMEOUT_SECONDS", 0.2)  # it is still importing
    monkeypatch.setattr(publish_module, "prepare", lambda *_: prepared)
    with pytest.raises(GateUnavailable) as failed:
        publish(tmp_path / "warehouse.duckdb", tmp_path / "staging", tmp_path / "publication",
                tmp_path / "quality", tmp_path / "exports")  # fmt: skip
    assert str(failed.value) == (
        "nothing published: the quality gate did not answer within 0.2 s (stopped)"
    )
    assert not (tmp_path / "publication" / "current").exists()
