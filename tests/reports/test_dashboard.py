"""The dashboards: the public one drawn from the published tables only, suppression shown as
suppression, the internal one from the warehouse's aggregates under its banner; the funnel's
limits and dropdowns, the weekly heatmap, the semester in progress marked, the project against
its targets, the deliveries, the header's filter and tiles, and the change since the previous
publication; both checked in Chromium offline."""

import json
import math
import os
import random
import re
from dataclasses import replace
from datetime import date
from pathlib import Path

import dagster as dg
import plotly.graph_objects as go
import plotly.offline
import polars as pl
import pytest

from pipelines.defs.reports import dashboard, dashboard_internal
from pipelines.ingest.staging import read_table
from pipelines.paths import PROJECT_ROOT
from pipelines.privacy.scan import PERSONAL_CODE, text_findings
from pipelines.publication.publish import Prepared, store
from pipelines.publication.releases import previous_release
from pipelines.publication.tables import CELL_KEY, MEASURES, MUNICIPALITY, NOT_YET_DUE
from pipelines.reference import tables as reference
from pipelines.reference.calendar import riga_time
from pipelines.reference.rules import COMPARISONS_LV, number_text, project_period, rules
from pipelines.reports.dashboard import (
    FLAGGED_STATUSES,
    OUTSIDE_95,
    OUTSIDE_99_8,
    PupilLevelData,
    Release,
    View,
    changes,
    control_limits,
    funnel_series,
    read_release,
    read_warehouse,
    views,
    write_dashboard,
    write_internal_dashboard,
)
from pipelines.reports.figures import to_json
from pipelines.reports.style import (
    INTERNAL_BANNER,
    RISK_COLOURS,
    STACK_COLOURS,
    STACK_LABELS,
    partial_label,
)
from pipelines.warehouse.build import connect_read_only

pytestmark = pytest.mark.slow(40)

CHANGED_SCHOOL = "OKP"
# `PMP_SCREENSHOTS` moves the screenshots (e.g. to hand them over).
SCREENSHOTS = Path(os.environ.get("PMP_SCREENSHOTS", PROJECT_ROOT / ".artifacts" / "screenshots"))
PUBLIC_CHARTS = (
    "completeness", "trend", "funnel", "composition", "heatmap", "coverage", "project", "change"
)  # fmt: skip
INTERNAL_CHARTS = PUBLIC_CHARTS[:-1]


def plotted(view: View) -> go.Figure:
    """The view's figure as plotly.py reads it: validated, its traces' properties by name."""
    return go.Figure(view.figure)


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
def release(publication_folder, ingested) -> Release:
    return read_release(publication_folder, read_table(ingested, "delivery_log"), *project_period())


@pytest.fixture(scope="module")
def drawn(release) -> dict:
    return {view.anchor: view for view in views(release)}


@pytest.fixture(scope="module")
def dashboard_file(release, tmp_path_factory) -> Path:
    output = tmp_path_factory.mktemp("reports") / "dashboard.html"
    write_dashboard(release, output)
    return output


@pytest.fixture(scope="module")
def internal(demo_warehouse, ingested) -> Release:
    deliveries = read_table(ingested, "delivery_log")
    return read_warehouse(demo_warehouse, ingested, deliveries, *project_period())[0]


@pytest.fixture(scope="module")
def internal_file(demo_warehouse, ingested, tmp_path_factory) -> Path:
    output = tmp_path_factory.mktemp("reports") / "dashboard_internal.html"
    deliveries = read_table(ingested, "delivery_log")
    write_internal_dashboard(demo_warehouse, ingested, deliveries, output, *project_period())
    return output


def test_control_limits_follow_the_normal_approximation():
    low, high = control_limits(0.1, [100, 400], 1.959964)
    assert low == pytest.approx([0.1 - 0.0588, 0.1 - 0.0294], abs=1e-4)
    assert high == pytest.approx([0.1 + 0.0588, 0.1 + 0.0294], abs=1e-4)
    assert control_limits(0.02, [4], 3.090232)[0] == [0.0]  # clipped at zero


@pytest.mark.parametrize("seed", range(20))
def test_the_funnel_draws_rounded_numbers_that_no_scan_mistakes_for_a_code(seed):
    """Shares, limits and ranges with at most two decimals: an 11-digit float tail would read
    as a personal code to the internal page's scan (it did, on a small demo)."""
    rng = random.Random(seed)
    pupils = {school: rng.randint(20, 1200) for school in "ABCDEFGHIJ"}
    counts = {school: rng.randint(0, n // 4) for school, n in pupils.items()}
    pupils[MUNICIPALITY], counts[MUNICIPALITY] = sum(pupils.values()), sum(counts.values())
    text = json.dumps(funnel_series(pupils, counts, "S", "all", "MK 89"))
    assert re.findall(r"\d\.\d{3,}", text) == []
    assert re.findall(PERSONAL_CODE, text) == []


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


def test_every_figure_is_one_plotly_accepts_unchanged(drawn, internal):
    """The figures are Plotly's JSON, written without plotly.py's figure objects: plotly.py
    finds nothing in any of them to reject (a misspelt property) or to change."""
    for view in [*drawn.values(), *views(internal)]:
        validated = go.Figure(view.figure).to_plotly_json()
        assert json.loads(to_json(validated)) == json.loads(to_json(view.figure)), view.anchor


def test_the_page_is_one_file_that_needs_no_network(dashboard_file):
    text = dashboard_file.read_text(encoding="utf-8")
    assert plotly.offline.get_plotlyjs() in text
    assert not re.search(r"<script[^>]+src=", text)
    assert not re.search(r"<link[^>]+href=", text)
    assert text.count('class="plotly-graph-div"') == len(PUBLIC_CHARTS)
    assert dashboard_file.stat().st_size < 8_000_000


def test_neither_page_shows_a_pupil_key_and_the_public_one_reads_no_warehouse(
    dashboard_file, internal_file, demo_warehouse, ingested
):
    con = connect_read_only(demo_warehouse, ingested)
    keys = {key for (key,) in con.sql("SELECT pupil_key FROM core.pupils").fetchall()}
    con.close()
    schools = [s.name for s in reference.schools()] + ["Ogres novads"]
    for page in (dashboard_file, internal_file):
        text = page.read_text(encoding="utf-8").replace(plotly.offline.get_plotlyjs(), "")
        assert text_findings(text, keys, schools) == []
    source = Path("pipelines/reports/dashboard.py").read_text(encoding="utf-8")
    assert "import duckdb" not in source
    assert "pipelines.warehouse" not in source  # the internal one reads through publication


def test_the_internal_dashboard_holds_aggregates_only(internal, prepared):
    """One cell per semester, school, grade band (or activity, or week) and measure, from the
    marts the publication reads, nothing suppressed: the same cells the public tables have."""
    for name, cells in internal.tables.items():
        assert cells.select(CELL_KEY).is_duplicated().sum() == 0, name
        assert not cells["suppressed"].any()
        public = prepared.tables[name]
        assert cells.select(CELL_KEY).sort(CELL_KEY).equals(public.select(CELL_KEY).sort(CELL_KEY))
        both = public.join(cells, on=list(CELL_KEY), suffix="_internal")
        assert both.filter(pl.col("value") != pl.col("value_internal")).is_empty(), name
        assert both.filter(pl.col("suppressed") & pl.col("value_internal").is_null()).height == 0


def test_a_pupil_key_in_the_internal_page_stops_it_being_written(
    demo_warehouse, ingested, tmp_path
):
    con = connect_read_only(demo_warehouse, ingested)
    ((key,),) = con.sql("SELECT pupil_key FROM core.pupils LIMIT 1").fetchall()
    con.close()
    log = read_table(ingested, "delivery_log")
    leaking = log.with_columns(status=pl.lit("rejected"), reason=pl.lit(f"row of pupil {key}"))
    output = tmp_path / "dashboard_internal.html"
    with pytest.raises(PupilLevelData, match=r"1 pupil key"):
        write_internal_dashboard(
            demo_warehouse, ingested, leaking.head(1), output, *project_period()
        )
    assert not output.exists()


def test_the_trend_runs_to_2028_29_with_future_semesters_empty(drawn, prepared):
    trend = plotted(drawn["trend"])
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
    schools = plotted(drawn["funnel"]).data[0]
    outside = {
        school
        for school, pupils, share, colour in zip(
            schools.text, schools.x, schools.y, schools.marker.color, strict=True
        )
        if colour == OUTSIDE_99_8
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
    heatmap = plotted(drawn["heatmap"]).data
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
    composition = plotted(drawn["composition"]).data
    suppressed = [t for t in composition if t.name == STACK_LABELS["suppressed"]]
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
    absence, _, breaks = plotted(drawn["heatmap"]).data[:3]
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
    bars = {trace.name: trace for trace in plotted(view).data}
    high = bars[MEASURES["risk_high"].label]
    assert list(high.y) == [f"2026/27-S1 {CHANGED_SCHOOL}"]
    assert list(high.x) == [3]
    medium = MEASURES["risk_medium"].label
    assert f"2026/27-S1 {CHANGED_SCHOOL} {medium}" in " ".join(view.notes)
    assert all(len(trace.x) == 0 for name, trace in bars.items() if "high" not in name)


def test_the_first_publication_shows_its_own_values(prepared, ingested, tmp_path):
    store(prepared, tmp_path)
    assert previous_release(tmp_path) is None
    release = read_release(tmp_path, read_table(ingested, "delivery_log"), *project_period())
    view = next(v for v in views(release) if v.anchor == "change")
    assert "Pirmā publikācija" in view.notes[0]
    pupils = next(t for t in plotted(view).data if t.name == MEASURES["pupils"].label)
    cells = prepared.tables["school_indicators"].filter(
        (pl.col("school_id") == MUNICIPALITY) & (pl.col("dimension") == "all")
        & (pl.col("measure") == "pupils") & (pl.col("status") != NOT_YET_DUE)
    ).sort("semester_id")  # fmt: skip
    assert list(pupils.x) == cells["value"].to_list()
    assert list(pupils.y)[-1] == f"2026/27-S1 ({partial_label(release.data_cutoff)})"


def test_the_project_is_drawn_against_its_targets(drawn, prepared):
    figure = plotted(drawn["project"])
    targets = reference.project_targets()
    legend = {t.name for t in figure.data if t.showlegend is not False}
    assert {"LAS", "R9", "KONS", "MENT", "INIC"} <= legend
    cells = prepared.tables["project_to_date"]
    for row in targets.iter_rows(named=True):
        axis = {"pupils_supported": "y", "hours": "y2", "events": "y3"}[row["measure"]]
        traces = [t for t in figure.data if t.legendgroup == row["activity"] and t.yaxis == axis]
        solid, dashed, target = traces
        assert list(target.x)[-1] == "31.08.2029" and list(target.y)[-1] == row["target"]
        assert all(a <= b for a, b in zip(target.y, list(target.y)[1:], strict=False))
        published = cells.filter(
            (pl.col("school_id") == MUNICIPALITY) & (pl.col("dimension") == row["activity"])
            & (pl.col("measure") == row["measure"])
        ).sort("semester_id")  # fmt: skip
        drawn_values = [a if a is not None else b for a, b in zip(solid.y, dashed.y, strict=True)]
        assert drawn_values == published["value"].to_list()


def test_the_completeness_panel_counts_every_file_and_names_them_only_internally(
    drawn, release, internal
):
    figure = plotted(drawn["completeness"])
    files, flagged = figure.data[0], figure.data[1]
    assert sum(v for row in files.z for v in row if v is not None) == release.deliveries.height
    held_or_rejected = release.deliveries.filter(pl.col("status").is_in(FLAGGED_STATUSES))
    assert held_or_rejected.height > 0
    assert sum(int(n) for n in flagged.text) == held_or_rejected.height
    assert drawn["completeness"].table == ""
    table = next(v for v in views(internal) if v.anchor == "completeness").table
    for file, reason in held_or_rejected.select("file", "reason").rows():
        assert file in table
        assert reason.split(":")[0] in table


def test_an_empty_delivery_log_is_said_not_drawn_empty(release):
    for nothing in (None, release.deliveries.head(0)):
        view = views(replace(release, deliveries=nothing))[0]
        assert view.anchor == "completeness"
        assert view.notes == ("Piegāžu žurnāls ir tukšs. / The delivery log is empty.",)


def test_none_and_suppressed_are_distinct_and_the_risk_palette_is_for_risk_only():
    def rgb(colour: str) -> tuple[int, ...]:
        return tuple(int(colour[i : i + 2], 16) for i in (1, 3, 5))

    none, hidden = rgb(STACK_COLOURS["risk_none"]), rgb(STACK_COLOURS["suppressed"])
    # Before: #b8c4bb and #9e9e9e, two greys. Now suppressed alone is grey; none has a hue.
    assert len(set(hidden)) == 1 and max(none) - min(none) > 40
    assert math.dist(none, hidden) > 60
    assert {STACK_COLOURS["suppressed"], OUTSIDE_95, OUTSIDE_99_8}.isdisjoint(RISK_COLOURS.values())


def test_publication_time_is_shown_in_riga_time():
    assert riga_time("2026-01-15T12:00:00+00:00") == "15.01.2026 14:00"  # winter: UTC+2
    assert riga_time("2026-07-01T22:30:00+00:00") == "02.07.2026 01:30"  # summer: UTC+3


def test_the_assets_write_both_dashboards_with_their_metadata(
    publication_folder, demo_warehouse, ingested, monkeypatch
):
    root = publication_folder.parent
    (root / "staging").symlink_to(ingested)
    (root / "warehouse.duckdb").symlink_to(demo_warehouse)
    monkeypatch.setenv("PMP_DATA_DIR", str(root))
    result = dg.materialize([dashboard, dashboard_internal])
    assert result.success
    output = root / "reports" / "dashboard.html"
    metadata = result.asset_materializations_for_node("reports__dashboard")[0].metadata
    assert metadata["bytes"].value == output.stat().st_size
    assert metadata["dashboard"].value == output.as_uri()
    assert metadata["data_cutoff"].value == "2026-11-20"
    assert "Weekly absence" in metadata["views"].value
    internal_output = root / "reports" / "dashboard_internal.html"
    metadata = result.asset_materializations_for_node("reports__dashboard_internal")[0].metadata
    assert metadata["bytes"].value == internal_output.stat().st_size
    assert INTERNAL_BANNER in internal_output.read_text(encoding="utf-8")
    assert INTERNAL_BANNER not in output.read_text(encoding="utf-8")


# Per chart: the traces that carry at least one value, the marks Plotly drew, the annotations'
# texts, and the boxes of its titles (figure, axis, subplot and colour bar titles) and of its
# labels (other annotations, legend entries, text on points).
CHART_CONTENTS = """() => Array.from(document.querySelectorAll('.js-plotly-plot')).map(chart => {
  const box = el => { const r = el.getBoundingClientRect();
                      return [r.left, r.top, r.right, r.bottom]; };
  const annotations = chart.layout.annotations || [];
  const notes = Array.from(chart.querySelectorAll('g.annotation'));
  const isTitle = el => (annotations[Number(el.dataset.index)] || {}).name === 'title';
  return {
    id: chart.id,
    traces: chart.data.filter(trace => ['x', 'y', 'z'].some(axis =>
        Array.from(trace[axis] || []).flat().some(value => value !== null))).length,
    marks: chart.querySelectorAll('path.point, g.trace.bars path, g.hm image').length,
    annotations: annotations.map(a => a.text),
    titles: [
      ...Array.from(chart.querySelectorAll(
        '.gtitle, g[class^="g-x"][class$="title"] text, g[class^="g-y"][class$="title"] text,'
        + ' .cbtitle text')).map(box),
      ...notes.filter(isTitle).map(box),
    ].filter(b => b[2] > b[0]),
    labels: [
      ...notes.filter(el => !isTitle(el)).map(box),
      ...Array.from(chart.querySelectorAll('.legendtext')).map(box),
    ].filter(b => b[2] > b[0]),
    points: Array.from(chart.querySelectorAll('.textpoint text')).map(box)
        .filter(b => b[2] > b[0]),
  };
})"""
CHART_DATA = """id => document.getElementById(id).data.map(t => ({
  name: t.name, x: t.x, y: t.y, text: t.text, pattern: t.marker && t.marker.pattern
      ? t.marker.pattern.shape : null, dash: t.line ? t.line.dash : null}))"""


def overlap(a: list[float], b: list[float]) -> float:
    return max(0.0, min(a[2], b[2]) - max(a[0], b[0])) * max(0.0, min(a[3], b[3]) - max(a[1], b[1]))


def open_dashboard(page, path: Path, charts: tuple[str, ...]) -> list[dict]:
    page.goto(path.as_uri())
    page.wait_for_function(
        f"document.querySelectorAll('.js-plotly-plot .main-svg').length >= {len(charts)}"
    )
    return page.evaluate(CHART_CONTENTS)


def check_charts(found: list[dict], charts: tuple[str, ...], cutoff: date) -> None:
    """Every chart has data and drawn marks, no label overlaps a title, no two labels on
    points overlap, and every time chart labels the semester in progress."""
    assert [c["id"] for c in found] == [f"chart-{a}" for a in charts]
    assert all(c["traces"] > 0 and c["marks"] > 0 for c in found), found
    for chart in found:
        clashes = [(a, t) for a in chart["labels"] for t in chart["titles"] if overlap(a, t) > 1]
        assert clashes == [], chart["id"]
        points = chart["points"]
        assert [
            (a, b) for i, a in enumerate(points) for b in points[i + 1 :] if overlap(a, b) > 1
        ] == [], chart["id"]
    partial = partial_label(cutoff)
    for chart in found:
        if chart["id"] in ("chart-trend", "chart-project", "chart-heatmap", "chart-completeness",
                           "chart-composition"):  # fmt: skip
            assert any(partial in text for text in chart["annotations"]), chart["id"]


def check_partial_drawn(page, cutoff: date) -> None:
    """The semester in progress is hatched in the trend's bars and dashed in its lines."""
    trend = page.evaluate(CHART_DATA, "chart-trend")
    semesters = list(trend[0]["x"])
    at = semesters.index("2026/27-S1")
    mk89 = next(t for t in trend if t["name"] == "MK 89")
    assert mk89["pattern"][at] == "/" and set(mk89["pattern"][:at]) == {""}
    dashed = next(t for t in trend if t["dash"] == "dash")
    assert dashed["y"][at] is not None and dashed["y"][at + 1 :] == [None] * (
        len(semesters) - at - 1
    )
    project = page.evaluate(CHART_DATA, "chart-project")
    assert any(t["dash"] == "dash" and t["y"] and t["y"][at] is not None for t in project)


def test_the_public_dashboard_in_chromium(dashboard_file, release, offline_page):
    page = offline_page.page
    found = open_dashboard(page, dashboard_file, PUBLIC_CHARTS)
    check_charts(found, PUBLIC_CHARTS, release.data_cutoff)
    check_partial_drawn(page, release.data_cutoff)
    assert page.locator("#internal-banner").count() == 0
    assert INTERNAL_BANNER not in page.content()
    note = page.locator("#suppression-note").inner_text()
    assert "Slēpts" in note and "Suppressed" in note and "not a zero" in note
    assert "suppressed values" in page.locator("#heatmap").inner_text()
    assert "(Rīgas laiks / Riga time)" in page.locator("#facts").inner_text()
    assert offline_page.errors == []
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / "dashboard_public.png", full_page=True)
    assert (SCREENSHOTS / "dashboard_public.png").stat().st_size > 50_000


def test_the_internal_dashboard_in_chromium(internal_file, internal, offline_page):
    page = offline_page.page
    found = open_dashboard(page, internal_file, INTERNAL_CHARTS)
    check_charts(found, INTERNAL_CHARTS, internal.data_cutoff)
    check_partial_drawn(page, internal.data_cutoff)
    banner = page.locator("#internal-banner")
    assert banner.inner_text() == INTERNAL_BANNER and banner.is_visible()
    assert banner.evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(106, 27, 154)"
    assert page.locator("#suppression-note").count() == 0
    headers = {
        tuple(table.locator("th").all_inner_texts()) for table in page.locator("table").all()
    }
    columns = {column for header in headers for column in header}
    assert not any("pupil" in c or "skolēn" in c or "personas" in c for c in columns), columns
    assert (
        page.locator("#flagged-files tbody tr").count()
        == internal.deliveries.filter(pl.col("status").is_in(FLAGGED_STATUSES)).height
    )
    assert offline_page.errors == []
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / "dashboard_internal.png", full_page=True)
    assert (SCREENSHOTS / "dashboard_internal.png").stat().st_size > 50_000


def test_the_filter_and_the_funnel_dropdowns_redraw_with_the_chosen_cells(
    dashboard_file, release, offline_page
):
    page = offline_page.page
    open_dashboard(page, dashboard_file, PUBLIC_CHARTS)
    cells = release.tables["school_indicators"]
    value = {
        (r["semester_id"], r["school_id"], r["dimension"], r["measure"]): r["value"]
        for r in cells.iter_rows(named=True)
    }
    page.select_option('select[data-control="school"]', CHANGED_SCHOOL)
    page.select_option('select[data-control="band"]', "7-9")
    trend = page.evaluate(CHART_DATA, "chart-trend")
    mk89 = next(t for t in trend if t["name"] == "MK 89")
    assert mk89["y"] == [value[(s, CHANGED_SCHOOL, "7-9", "mk89_crossings")] for s in mk89["x"]]
    tile = page.locator('[data-tile="0"]').inner_text()
    assert tile == f"{value[('2026/27-S1', CHANGED_SCHOOL, '7-9', 'pupils')]:,.0f}".replace(
        ",", " "
    )
    page.select_option('select[data-control="funnel-semester"]', "2025/26-S1")
    page.select_option('select[data-control="funnel-band"]', "4-6")
    schools = page.evaluate(CHART_DATA, "chart-funnel")[0]
    for school, pupils, share in zip(schools["text"], schools["x"], schools["y"], strict=True):
        key = ("2025/26-S1", school, "4-6")
        assert pupils == value[(*key, "pupils")]
        assert share == pytest.approx(100 * value[(*key, "mk89_crossings")] / pupils, abs=0.005)
    assert "2025/26-S1" in page.locator("#status-funnel").inner_text()
    funnel = next(c for c in page.evaluate(CHART_CONTENTS) if c["id"] == "chart-funnel")
    points = funnel["points"]
    assert [
        (a, b) for i, a in enumerate(points) for b in points[i + 1 :] if overlap(a, b) > 1
    ] == []
    assert offline_page.errors == []


def test_the_page_defines_every_rule_and_level_with_its_threshold(dashboard_file, offline_page):
    page = offline_page.page
    page.goto(dashboard_file.as_uri())
    rows = page.locator("#rules tbody tr").all_inner_texts()
    for rule in rules()["rule"]:
        row = next(r for r in rows if r.startswith(rule["id"]))
        if "threshold" in rule:  # as the data dictionary writes it, e.g. 0,05 / 0.05
            lv, en = (number_text(rule["threshold"], language) for language in ("lv", "en"))
            assert f"slieksnis: {COMPARISONS_LV[rule['comparison']]} {lv}" in row, row
            assert f"threshold: {rule['comparison']} {en}" in row, row
    levels = page.locator("#risk-levels tbody tr").all_inner_texts()
    composite = rules()["composite"]
    assert [level.split("\t")[1] for level in levels] == [
        f"punkti: mazāk par {composite['low']} / points: fewer than {composite['low']}",
        *(
            f"punkti: vismaz {composite[level]} / points: at least {composite[level]}"
            for level in ("low", "medium", "high")
        ),
    ]
