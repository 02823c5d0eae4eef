"""The dashboard: drawn from the published tables only, suppression shown as suppression, the
funnel's limits, the weekly heatmap, and the change since the previous run."""

import math
import re
from dataclasses import replace
from datetime import date
from pathlib import Path

import dagster as dg
import plotly.offline
import polars as pl
import pytest

from pipelines.defs.reports import dashboard
from pipelines.paths import PROJECT_ROOT
from pipelines.privacy.scan import text_findings
from pipelines.publication.publish import Prepared, store
from pipelines.publication.releases import previous_release
from pipelines.publication.tables import MUNICIPALITY, NOT_YET_DUE
from pipelines.reference import tables as reference
from pipelines.reference.rules import project_period
from pipelines.reports.dashboard import (
    Release,
    changes,
    control_limits,
    read_release,
    views,
    write_dashboard,
)
from pipelines.warehouse.build import connect_read_only

CHANGED_SCHOOL = "OKP"
SCREENSHOTS = PROJECT_ROOT / ".artifacts" / "screenshots"


def earlier_run(prepared: Prepared) -> Prepared:
    """The same release as an earlier run saw it: 3 fewer high-risk pupils at one school in
    the semester in progress, and its medium-risk count then suppressed."""
    cells = prepared.tables["school_indicators"]
    in_progress = (pl.col("status") == "in progress") & (pl.col("school_id") == CHANGED_SCHOOL)
    in_progress &= pl.col("dimension") == "all"
    earlier = cells.with_columns(
        value=pl.when(in_progress & (pl.col("measure") == "risk_high"))
        .then(pl.col("value") - 3)
        .when(in_progress & (pl.col("measure") == "risk_medium"))
        .then(None)
        .otherwise(pl.col("value")),
        suppressed=pl.when(in_progress & (pl.col("measure") == "risk_medium"))
        .then(True)
        .otherwise(pl.col("suppressed")),
    )
    return replace(prepared, tables={**prepared.tables, "school_indicators": earlier})


@pytest.fixture(scope="module")
def publication_folder(prepared, tmp_path_factory) -> Path:
    """Two publications in a row: the earlier run's, then the demo's."""
    folder = tmp_path_factory.mktemp("data") / "publication"
    store(earlier_run(prepared), folder)
    store(prepared, folder)
    return folder


@pytest.fixture(scope="module")
def release(publication_folder) -> Release:
    return read_release(publication_folder, *project_period())


@pytest.fixture(scope="module")
def drawn(release) -> dict:
    return {view.anchor: view for view in views(release)}


@pytest.fixture(scope="module")
def dashboard_file(release, tmp_path_factory) -> Path:
    output = tmp_path_factory.mktemp("reports") / "dashboard.html"
    write_dashboard(release, output)
    return output


def test_control_limits_follow_the_normal_approximation():
    low, high = control_limits(0.1, [100, 400], 1.959964)
    assert low == pytest.approx([0.1 - 0.0588, 0.1 - 0.0294], abs=1e-4)
    assert high == pytest.approx([0.1 + 0.0588, 0.1 + 0.0294], abs=1e-4)
    assert control_limits(0.02, [4], 3.090232)[0] == [0.0]  # clipped at zero


def _cell(semester, school, measure, value, suppressed=False, status="in progress"):
    return {
        "semester_id": semester, "status": status, "school_id": school, "school_name": school,
        "dimension": "all", "measure": measure, "value": value, "suppressed": suppressed,
        "suppression": "primary" if suppressed else None,
    }  # fmt: skip


def test_changes_compare_only_cells_published_in_both_runs():
    before = pl.DataFrame(
        [
            _cell("2026/27-S1", "AAA", "risk_high", 10.0),
            _cell("2026/27-S1", "AAA", "pupils", 100.0),
            _cell("2026/27-S1", "BBB", "risk_high", 6.0),
            _cell("2026/27-S1", "CCC", "risk_high", None, suppressed=True),
            _cell("2026/27-S2", "AAA", "risk_high", None, status=NOT_YET_DUE),
        ]
    )
    now = pl.DataFrame(
        [
            _cell("2026/27-S1", "AAA", "risk_high", 12.0),
            _cell("2026/27-S1", "AAA", "pupils", 100.0),
            _cell("2026/27-S1", "BBB", "risk_high", None, suppressed=True),
            _cell("2026/27-S1", "CCC", "risk_high", 7.0),
            _cell("2026/27-S2", "AAA", "risk_high", 3.0),
        ]
    )
    found = changes(now, before)
    assert found.rows() == [
        ("2026/27-S1", "AAA", "risk_high", 10.0, 12.0, 2.0, True),
        ("2026/27-S1", "BBB", "risk_high", None, None, None, False),
        ("2026/27-S1", "CCC", "risk_high", None, None, None, False),
    ]


def test_the_page_is_one_file_that_needs_no_network(dashboard_file):
    text = dashboard_file.read_text(encoding="utf-8")
    assert plotly.offline.get_plotlyjs() in text
    assert not re.search(r"<script[^>]+src=", text)
    assert not re.search(r"<link[^>]+href=", text)
    assert text.count('class="plotly-graph-div"') == 7
    assert dashboard_file.stat().st_size < 8_000_000


def test_it_shows_no_pupil_key_and_reads_no_warehouse(dashboard_file, demo_warehouse, ingested):
    con = connect_read_only(demo_warehouse, ingested)
    keys = {key for (key,) in con.sql("SELECT pupil_key FROM core.pupils").fetchall()}
    con.close()
    text = dashboard_file.read_text(encoding="utf-8").replace(plotly.offline.get_plotlyjs(), "")
    schools = [s.name for s in reference.schools()] + ["Ogres novads"]
    assert text_findings(text, keys, schools) == []
    assert "import duckdb" not in Path("pipelines/reports/dashboard.py").read_text(encoding="utf-8")
    assert "pipelines.warehouse" not in Path("pipelines/reports/dashboard.py").read_text(
        encoding="utf-8"
    )


def test_the_trend_runs_to_2028_29_with_future_semesters_empty(drawn, prepared):
    trend = drawn["trend"].figure
    crossings = next(t for t in trend.data if t.name == "MK 89")
    assert list(crossings.x)[-1] == "2028/29-S2" and len(crossings.x) == 8
    cells = prepared.tables["school_indicators"].filter(
        (pl.col("school_id") == MUNICIPALITY)
        & (pl.col("dimension") == "all")
        & (pl.col("measure") == "mk89_crossings")
    )
    assert list(crossings.y) == cells.sort("semester_id")["value"].to_list()
    assert list(crossings.y)[3:] == [None] * 5
    assert list(crossings.y)[:3] == [317, 574, 203]  # 2026/27 S1 with LEP's September to November


def test_the_funnel_marks_schools_against_independent_limits(drawn, prepared):
    cells = prepared.tables["school_indicators"].filter(
        (pl.col("semester_id") == "2025/26-S2") & (pl.col("dimension") == "all")
    )
    value = {(r["school_id"], r["measure"]): r["value"] for r in cells.iter_rows(named=True)}
    base = value[(MUNICIPALITY, "mk89_crossings")] / value[(MUNICIPALITY, "pupils")]
    schools = drawn["funnel"].figure.data[0]
    outside = {
        school
        for school, pupils, share, colour in zip(
            schools.text, schools.x, schools.y, schools.marker.color, strict=True
        )
        if colour == "#c8553d"
    }
    expected = {
        school
        for (school, measure), count in value.items()
        if measure == "mk89_crossings" and school != MUNICIPALITY and count is not None
        and abs(count / value[(school, "pupils")] - base)
        > 3.090232 * math.sqrt(base * (1 - base) / value[(school, "pupils")])
    }  # fmt: skip
    assert outside == expected
    assert len(schools.x) == sum(
        1 for (s, m), v in value.items() if m == "mk89_crossings" and s != MUNICIPALITY and v
    )


def test_suppressed_cells_are_drawn_as_suppressed_never_as_zero(drawn, prepared):
    weekly = prepared.tables["weekly_absence"].filter(
        pl.col("suppressed") & (pl.col("measure") == "absence_rate")
    )
    assert weekly.height > 0
    heatmap = drawn["heatmap"].figure.data
    absence, hidden = heatmap[0], heatmap[1]
    names = list(absence.y)
    weeks = list(absence.x)
    for row in weekly.iter_rows(named=True):
        i, j = names.index(row["school_name"]), weeks.index(row["dimension"])
        assert absence.z[i][j] is None
        assert hidden.z[i][j] == 1
        assert row["dimension"] in " ".join(drawn["heatmap"].notes)


def test_a_suppressed_municipality_risk_cell_is_drawn_as_suppressed(release):
    """A suppressed municipality risk level (the demo's own, where a band's high risk is 1-4,
    and one planted in grades 7-9) is the grey 'suppressed' bar, never a zero."""
    cells = release.tables["school_indicators"]
    planted = (
        (pl.col("school_id") == MUNICIPALITY) & (pl.col("semester_id") == "2025/26-S1")
        & (pl.col("dimension") == "7-9") & pl.col("measure").is_in(["risk_high", "risk_medium"])
    )  # fmt: skip
    cells = cells.with_columns(
        value=pl.when(planted).then(None).otherwise(pl.col("value")),
        suppressed=planted | pl.col("suppressed"),
    )
    tables = {**release.tables, "school_indicators": cells}
    drawn = {v.anchor: v for v in views(replace(release, tables=tables))}
    composition = drawn["composition"].figure.data
    suppressed = [t for t in composition if t.name == "slēpts / suppressed"]
    high = [t for t in composition if t.name == "augsts / high"]
    shown_as_suppressed = [
        (trace.xaxis, band)
        for trace in suppressed
        for band, share in zip(trace.x, trace.y, strict=True)
        if share is not None
    ]
    hidden = cells.filter(
        (pl.col("school_id") == MUNICIPALITY) & pl.col("suppressed")
        & pl.col("measure").is_in(["risk_high", "risk_medium"])
    )  # fmt: skip
    assert "7-9" in hidden["dimension"].to_list()
    assert {band for _, band in shown_as_suppressed} == set(hidden["dimension"])
    for trace in high:
        for band, share in zip(trace.x, trace.y, strict=True):
            if (trace.xaxis, band) in shown_as_suppressed:
                assert share is None
    assert "7-9" in " ".join(drawn["composition"].notes)


def test_the_heatmap_shows_breaks_and_the_winter_wave(drawn):
    absence, _, breaks = drawn["heatmap"].figure.data
    weeks = list(absence.x)
    municipality = list(absence.y).index("Ogres novads")
    for week in ("2025-10-20", "2025-12-22", "2025-12-29", "2026-07-13"):
        assert breaks.z[municipality][weeks.index(week)] == 1
        assert absence.z[municipality][weeks.index(week)] is None
    rates = {w: r for w, r in zip(weeks, absence.z[municipality], strict=True) if r is not None}
    peak = max(rates, key=rates.get)
    assert date(2026, 1, 15) <= date.fromisoformat(peak) <= date(2026, 3, 15)
    assert rates[peak] > 1.5 * rates["2025-09-15"]


def test_the_change_view_shows_what_moved_since_the_previous_run(drawn):
    view = drawn["change"]
    bars = {trace.name: trace for trace in view.figure.data}
    high = bars["augsts risks / high risk"]
    assert list(high.y) == [f"2026/27-S1 {CHANGED_SCHOOL}"]
    assert list(high.x) == [3]
    assert f"2026/27-S1 {CHANGED_SCHOOL} vidējs risks / medium risk" in " ".join(view.notes)
    assert all(len(trace.x) == 0 for name, trace in bars.items() if "high" not in name)


def test_the_first_publication_says_there_is_nothing_to_compare(prepared, tmp_path):
    store(prepared, tmp_path)
    assert previous_release(tmp_path) is None
    view = next(v for v in views(read_release(tmp_path, *project_period())) if v.anchor == "change")
    assert "Pirmā publikācija" in view.notes[0]


def test_the_asset_writes_the_dashboard_with_its_metadata(publication_folder, monkeypatch):
    monkeypatch.setenv("PMP_DATA_DIR", str(publication_folder.parent))
    result = dg.materialize([dashboard])
    assert result.success
    output = publication_folder.parent / "reports" / "dashboard.html"
    assert output.exists()
    metadata = result.asset_materializations_for_node("reports__dashboard")[0].metadata
    assert metadata["bytes"].value == output.stat().st_size
    assert metadata["dashboard"].value == output.as_uri()
    assert metadata["data_cutoff"].value == "2026-11-20"
    assert "Weekly absence" in metadata["views"].value


# Per chart: the traces that carry at least one value, and the marks Plotly drew.
CHART_CONTENTS = """() => Array.from(document.querySelectorAll('.js-plotly-plot')).map(chart => ({
    id: chart.id,
    traces: chart.data.filter(trace => ['x', 'y', 'z'].some(axis =>
        Array.from(trace[axis] || []).flat().some(value => value !== null))).length,
    marks: chart.querySelectorAll('path.point, g.trace.bars path, g.hm image').length,
}))"""


def test_the_dashboard_opens_offline_in_chromium_with_data_in_every_chart(
    dashboard_file, offline_page
):
    page = offline_page.page
    page.goto(dashboard_file.as_uri())
    page.wait_for_function("document.querySelectorAll('.js-plotly-plot .main-svg').length >= 7")
    charts = page.evaluate(CHART_CONTENTS)
    assert [c["id"] for c in charts] == [
        f"chart-{a}"
        for a in ("trend", "funnel", "composition", "heatmap", "coverage", "project", "change")
    ]
    assert all(c["traces"] > 0 and c["marks"] > 0 for c in charts), charts
    note = page.locator("#suppression-note").inner_text()
    assert "Slēpts" in note and "Suppressed" in note and "not a zero" in note
    assert "suppressed values" in page.locator("#heatmap").inner_text()
    assert offline_page.errors == []
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / "dashboard.png", full_page=True)
    assert (SCREENSHOTS / "dashboard.png").stat().st_size > 50_000
