"""The analyst notebooks: their figures (built by pure functions, checked here on seeded random
data), and their exports, run headless against the demo warehouse, checked in the page and in
Chromium offline."""

import base64
import html
import json
import random
import re
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from pipelines.paths import PROJECT_ROOT
from pipelines.reference import tables as reference
from pipelines.reports.notebooks import (
    COUNT_HEADROOM,
    INDICATOR_QUALITY,
    PAGE_SIZE,
    RISK_TRENDS,
    SCHOOL_DEEP_DIVE,
    Partial,
    as_of_label,
    export_html,
    is_partial,
    paged_table,
    semester_heatmap,
    series_colours,
    static_output,
    time_chart,
)
from pipelines.reports.style import (
    INTERNAL_BANNER,
    PARTIAL_PATTERN,
    RISK_LABELS,
    RISK_LEVEL_COLOURS,
    STACK_COLOURS,
    partial_label,
)
from pipelines.warehouse.build import connect_read_only

pytestmark = pytest.mark.slow(60)

FIRST_SCHOOL, SECOND_SCHOOL = (s.school_id for s in reference.schools()[:2])
SCREENSHOTS = PROJECT_ROOT / ".artifacts" / "screenshots"
RISK_PALETTE = set(STACK_COLOURS.values())
TITLES = ("x", "y", "legend")

BROKEN_NOTEBOOK = """import marimo

app = marimo.App()


@app.cell
def _():
    import marimo as mo

    return (mo,)


@app.cell
def _(mo):
    raise ValueError(f"the deliberately broken cell, {mo.cli_args()['reason']}")


if __name__ == "__main__":
    app.run()
"""


# --- the figures, on seeded random data ---------------------------------------------------


def random_points(rng: random.Random) -> tuple[pl.DataFrame, Partial]:
    """As-of points over 2-4 semesters: month ends, then the semester's date (sometimes on
    the same day as the last month end); the last semester is under way."""
    rows, day = [], date(2025, 9, 30)
    semesters = rng.randint(2, 4)
    for number in range(semesters):
        semester_id = f"{2025 + number // 2}/{26 + number // 2}-S{number % 2 + 1}"
        for _ in range(rng.randint(1, 5)):
            rows.append((semester_id, day, "month"))
            day += timedelta(days=rng.randint(25, 35))
        end = rows[-1][1] if rng.random() < 0.3 else day
        rows.append((semester_id, end, "semester"))
        day = end + timedelta(days=rng.randint(20, 60))
    partial = Partial(rows[-1][0], rows[-1][1])
    return pl.DataFrame(rows, schema=["semester_id", "as_of", "kind"], orient="row").with_columns(
        as_of_label=as_of_label(), partial=is_partial(partial)
    ), partial


def decoded(value):
    """A Plotly array as a list: typed arrays (`bdata`) decoded."""
    if isinstance(value, dict) and "bdata" in value:
        array = np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"])
        return array.reshape(value["shape"]).tolist() if "shape" in value else array.tolist()
    return value


def assert_time_axis(figure, order: list[str], partial: Partial | None, *, rate: bool) -> None:
    """One point per category in every trace (solid and dashed parts of a line together), a
    categorical axis in `order`, rates within 0-100%, and the partial semester labelled."""
    layout = figure["layout"]
    assert layout["xaxis"]["type"] == "category"
    assert layout["xaxis"]["categoryarray"] == order
    for trace in figure["data"]:
        xs = decoded(trace["x"])
        assert len(xs) == len(set(xs)) and set(xs) <= set(order), trace["name"]
    by_group: dict[str, set] = {}
    for trace in figure["data"]:
        ys = decoded(trace["y"])
        shown = {x for x, y in zip(decoded(trace["x"]), ys, strict=True) if y is not None}
        by_group.setdefault(trace["legendgroup"], set()).update(shown)
    assert all(len(points) > 0 for points in by_group.values())
    if rate:
        assert layout["yaxis"]["range"] == [0, 1]
        values = [y for t in figure["data"] for y in decoded(t["y"]) if y is not None]
        assert all(0 <= y <= 1 for y in values)
    if partial is not None:
        texts = [a["text"] for a in layout.get("annotations", [])]
        assert any(partial_label(partial.until) in text for text in texts), texts


@pytest.mark.parametrize("seed", range(25))
def test_time_charts_keep_every_as_of_date_on_a_categorical_axis(seed):
    rng = random.Random(seed)
    points, partial = random_points(rng)
    order = points.sort("as_of", "kind")["as_of_label"].to_list()
    assert len(set(order)) == points.height  # a month end and a semester end on one day: two
    counts = points.with_columns(
        **{
            level: pl.Series([rng.randint(0, 400) for _ in range(points.height)])
            for level in RISK_LABELS
        }
    ).with_columns(pupils=pl.sum_horizontal(list(RISK_LABELS)) + 1)
    levels = counts.unpivot(
        on=list(RISK_LABELS),
        index=["as_of_label", "partial", "pupils"],
        variable_name="level",
        value_name="count",
    ).with_columns(
        share=pl.col("count") / pl.col("pupils"), level=pl.col("level").replace_strict(RISK_LABELS)
    )

    figure = time_chart(
        levels, x="as_of_label", y="share", series="level", order=order,
        series_order=list(RISK_LABELS.values()), colours=RISK_LEVEL_COLOURS, mode="stacked",
        rate=True, title="t", titles=TITLES, partial=partial,
    ).to_plotly_json()  # fmt: skip

    assert_time_axis(figure, order, partial, rate=True)
    assert [len(decoded(t["x"])) for t in figure["data"]] == [len(order)] * len(RISK_LABELS)
    stacks = np.sum([decoded(t["y"]) for t in figure["data"]], axis=0)
    assert np.all(stacks <= 1 + 1e-9)
    partial_labels = set(points.filter("partial")["as_of_label"])
    for trace in figure["data"]:
        shapes = dict(zip(decoded(trace["x"]), trace["marker"]["pattern"]["shape"], strict=True))
        assert {x for x, shape in shapes.items() if shape == PARTIAL_PATTERN} == partial_labels


@pytest.mark.parametrize("seed", range(25))
def test_count_axes_fit_the_largest_bar_and_lines_dash_the_partial_semester(seed):
    rng = random.Random(seed)
    points, partial = random_points(rng)
    order = points.sort("as_of", "kind")["as_of_label"].to_list()
    bands = ["1-3", "4-6", "7-9", "10-12"]
    frame = pl.concat(
        points.with_columns(
            band=pl.lit(band),
            crossings=pl.Series([rng.randint(0, 600) for _ in range(points.height)]),
            attendance=pl.Series([rng.uniform(0.8, 1) for _ in range(points.height)]),
        )
        for band in bands
    )
    common = {
        "x": "as_of_label", "series": "band", "order": order, "series_order": bands,
        "colours": series_colours(bands), "title": "t", "titles": TITLES, "partial": partial,
    }  # fmt: skip

    bars = time_chart(frame, y="crossings", mode="grouped", rate=False, **common).to_plotly_json()
    lines = time_chart(frame, y="attendance", mode="lines", rate=True, **common).to_plotly_json()

    assert_time_axis(bars, order, partial, rate=False)
    top = frame["crossings"].max()
    low, high = bars["layout"]["yaxis"]["range"]
    assert low == 0 and (top <= high <= top * COUNT_HEADROOM if top else high == 1)
    assert bars["layout"]["barmode"] == "group"
    assert_time_axis(lines, order, partial, rate=True)
    partial_labels = set(points.filter("partial")["as_of_label"])
    for band in bands:
        parts = [t for t in lines["data"] if t["legendgroup"] == band]
        solid = [t for t in parts if "dash" not in t["line"]]
        dashed = [t for t in parts if t["line"].get("dash") == "dash"]
        assert len(solid) == 1 and len(dashed) == 1
        drawn_solid = {
            x for x, y in zip(solid[0]["x"], solid[0]["y"], strict=True) if y is not None
        }
        drawn_dashed = {
            x for x, y in zip(dashed[0]["x"], dashed[0]["y"], strict=True) if y is not None
        }
        assert drawn_solid == set(order) - partial_labels
        assert partial_labels <= drawn_dashed and len(drawn_dashed - partial_labels) <= 1
    for figure in (bars, lines):
        colours = {
            t["marker"]["color"] if "marker" in t and "color" in t["marker"] else t["line"]["color"]
            for t in figure["data"]
        }
        assert not colours & RISK_PALETTE


def test_a_label_outside_the_axis_order_is_an_error_not_a_dropped_point():
    frame = pl.DataFrame(
        {"x": ["a", "b"], "y": [1, 2], "s": ["one", "one"], "partial": [False, False]}
    )
    with pytest.raises(ValueError, match=r"\['b'\] are not in the axis order"):
        time_chart(
            frame, x="x", y="y", series="s", order=["a"], series_order=["one"],
            colours={"one": "#000"}, mode="grouped", rate=False, title="t", titles=TITLES,
            partial=None,
        )  # fmt: skip


def test_series_colours_never_use_the_risk_palette():
    names = [f"series {i}" for i in range(30)]
    assert not set(series_colours(names).values()) & RISK_PALETTE


def test_the_heatmap_titles_its_colour_bar_and_marks_the_partial_semester():
    partial = Partial("2026/27-S1", date(2026, 11, 20))
    columns = ["2025/26-S1", "2025/26-S2", f"2026/27-S1 ({partial.label})"]
    frame = pl.DataFrame(
        [(c, r, (i + j) / 20) for i, c in enumerate(columns) for j, r in enumerate(["A", "B"])],
        schema=["semester", "school", "share"],
        orient="row",
    )
    figure = semester_heatmap(
        frame, x="semester", y="school", z="share", x_order=columns, y_order=["A", "B"],
        title="t", titles=("x", "y", "Vidējs vai augsts risks / Medium or high risk"),
        partial=partial,
    ).to_plotly_json()  # fmt: skip

    [heatmap] = figure["data"]
    assert heatmap["colorbar"]["title"]["text"] == "Vidējs vai augsts risks / Medium or high risk"
    assert heatmap["zmin"] == 0 and heatmap["zmax"] == pytest.approx(0.15)
    assert [a["text"] for a in figure["layout"]["annotations"]] == [f"▨ ┄ {partial.label}"]


@pytest.mark.parametrize("rows", [0, 1, PAGE_SIZE, PAGE_SIZE + 1, 3 * PAGE_SIZE + 7])
def test_tables_page_past_20_rows_and_keep_every_row(rows):
    frame = pl.DataFrame({"n": list(range(rows)), "name": [f"<row {i}>" for i in range(rows)]})

    table = paged_table(frame, "t")

    pages = re.findall(r'<tbody class="page" data-page="(\d+)">(.*?)</tbody>', table)
    shown = [html.unescape(c) for _, body in pages for c in re.findall(r"<td>(.*?)</td>", body)]
    assert shown == [f"<row {i}>" for i in range(rows)]
    assert all(body.count("<tr>") <= PAGE_SIZE for _, body in pages)
    assert len(pages) == max(1, -(-rows // PAGE_SIZE))
    assert table.count('type="radio"') == (len(pages) if len(pages) > 1 else 0)


def test_an_output_only_marimo_can_draw_is_an_error_not_a_blank_in_the_page():
    figure = html.escape(
        json.dumps({"data": [{"type": "bar", "y": [1]}], "layout": {}}), quote=True
    )
    drawn, count = static_output(
        f"<p>a</p><marimo-plotly data-figure='{figure}'></marimo-plotly>", 3
    )
    assert count == 1 and '<div class="notebook-figure" id="figure-3">' in drawn
    assert "<marimo-" not in drawn
    with pytest.raises(ValueError, match="<marimo-ui-element>, which draws nothing offline"):
        static_output("<marimo-ui-element><marimo-table data-data='[]'></marimo-table>", 0)


# --- the exports ---------------------------------------------------------------------------


def page_figures(page: Path) -> list[dict]:
    """Every figure of an exported page, as the page draws it."""
    text = page.read_text(encoding="utf-8")
    specs = re.findall(
        r'<script type="application/json" data-figure="[^"]+">(.*?)</script>', text, re.S
    )
    return [json.loads(spec) for spec in specs]


def cells_markup(page: Path) -> str:
    """The cells' HTML, without the page's scripts and the figures' JSON."""
    text = page.read_text(encoding="utf-8")
    body = text[text.index("<body>") :]
    return re.sub(r"<script\b.*?</script>", "", body, flags=re.S)


def errors(page: Path) -> list[str]:
    return [
        html.unescape(message)
        for message in re.findall(
            r'<pre class="cell-error" data-error="[^"]*">[^:]*: (.*?)</pre>',
            page.read_text(encoding="utf-8"),
            re.S,
        )
    ]


def text_of(fragment: str) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", fragment)).strip())


def table_rows(page: Path) -> list[list[str]]:
    """The cells of every table row, as text."""
    return [
        [text_of(cell) for cell in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row, re.S)]
        for row in re.findall(r"<tr>(.*?)</tr>", cells_markup(page), re.S)
    ]


def rows(database: Path, staging: Path, query: str, **params: str) -> list[tuple]:
    con = connect_read_only(database, staging)
    try:
        return con.sql(query, params=params or None).fetchall()
    finally:
        con.close()


def titled(figures: list[dict], start: str) -> dict:
    [figure] = [f for f in figures if f["layout"]["title"]["text"].startswith(start)]
    return figure


@pytest.fixture(scope="module")
def warehouse_arguments(demo_warehouse, ingested) -> dict[str, str]:
    return {"warehouse": str(demo_warehouse), "staging": str(ingested)}


@pytest.fixture(scope="module")
def risk_trends_page(warehouse_arguments, tmp_path_factory) -> Path:
    output = tmp_path_factory.mktemp("notebooks") / "risk_trends.html"
    return export_html(RISK_TRENDS, output, warehouse_arguments)


def test_risk_trends_shows_each_semester(risk_trends_page, demo_warehouse, ingested):
    page = risk_trends_page
    assert page.is_file() and errors(page) == []
    assert len(page_figures(page)) == 5
    shown = text_of(cells_markup(page))
    semesters = rows(
        demo_warehouse,
        ingested,
        """
        SELECT r.semester_id, max(r.as_of), count(*),
            count(*) FILTER (WHERE r.risk_level IN ('medium', 'high')),
            (SELECT count(*) FROM programme.mk89_list AS l WHERE l.semester_id = r.semester_id)
        FROM indicators.pupil_risk AS r
        WHERE r.kind = 'semester'
        GROUP BY r.semester_id
        """,
    )
    assert semesters
    for semester_id, as_of, pupils, at_risk, mk89 in semesters:
        assert (
            f"{semester_id} , {as_of:%d.%m.%Y}: vidējs vai augsts risks / medium or high risk "
            f"{at_risk} / {pupils} ({at_risk / pupils:.1%}); MK 89: {mk89} ;"
        ) in shown


def test_risk_trends_figures_hold_every_as_of_date_on_fitting_axes(
    risk_trends_page, demo_warehouse, ingested
):
    figures = page_figures(risk_trends_page)
    dates = rows(
        demo_warehouse,
        ingested,
        "SELECT as_of, kind, semester_id, complete FROM indicators.as_of_dates ORDER BY as_of, kind",
    )
    order = [f"{d:%d.%m.%Y}" + (" (sem.)" if kind == "semester" else "") for d, kind, *_ in dates]
    assert sum(kind == "semester" for _, kind, *_ in dates) >= 3
    [(semester_id, until)] = [
        (s, d) for d, kind, s, complete in dates if kind == "semester" and not complete
    ]
    partial = Partial(semester_id, until)

    levels = titled(figures, "Riska līmeņi laikā")
    assert_time_axis(levels, order, partial, rate=True)
    # One bar per as-of date, semester ends included; a date no school had delivered data
    # for by then stays on the axis, empty, and the page names it.
    known = [
        f"{d:%d.%m.%Y}" + (" (sem.)" if kind == "semester" else "")
        for d, kind in rows(
            demo_warehouse, ingested,
            "SELECT DISTINCT as_of, kind FROM indicators.pupil_risk ORDER BY as_of, kind",
        )
    ]  # fmt: skip
    assert sum(label.endswith("(sem.)") for label in known) >= 3
    for trace in levels["data"]:
        assert decoded(trace["x"]) == known
    unknown = [label for label in order if label not in known]
    no_data = re.search(r"Bez datiem / No data: (.*?) \(", text_of(cells_markup(risk_trends_page)))
    assert no_data and no_data.group(1) == (", ".join(unknown) or "–")
    attendance = titled(figures, "Apmeklējums no semestra sākuma")
    assert_time_axis(attendance, order, partial, rate=True)
    mk89 = titled(figures, "MK 89 pārsniegumi")
    assert_time_axis(mk89, order, partial, rate=False)
    assert mk89["layout"]["barmode"] == "group"
    top = max(max(decoded(t["y"])) for t in mk89["data"])
    assert top <= mk89["layout"]["yaxis"]["range"][1] <= top * COUNT_HEADROOM
    [(most,)] = rows(
        demo_warehouse, ingested,
        """
        SELECT max(n) FROM (
            SELECT count(*) AS n FROM indicators.pupil_indicators
            WHERE rule_id = 'MK89_UNJUSTIFIED' AND fired GROUP BY as_of, kind, grade_band
        )
        """,
    )  # fmt: skip
    assert top == most
    bands = titled(figures, "Vidējs vai augsts risks pa klašu grupām")
    assert bands["layout"]["yaxis"]["range"] == [0, 1]
    assert any(partial.label in x for t in bands["data"] for x in decoded(t["x"]))
    schools = titled(figures, "Vidējs vai augsts risks pa skolām")
    assert schools["data"][0]["colorbar"]["title"]["text"].startswith("Vidējs vai augsts risks")
    for figure in (attendance, mk89, bands):
        colours = {t.get("marker", {}).get("color") or t["line"]["color"] for t in figure["data"]}
        assert not colours & RISK_PALETTE
    assert {t["marker"]["color"] for t in levels["data"]} <= RISK_PALETTE


def test_risk_trends_export_is_offline_internal_and_without_code(risk_trends_page):
    text = risk_trends_page.read_text(encoding="utf-8")
    markup = cells_markup(risk_trends_page)
    assert INTERNAL_BANNER in markup
    # Nothing loaded from elsewhere: every script inline, no stylesheet, image or font linked.
    assert all("src=" not in tag for tag in re.findall(r"<script\b[^>]*>", text))
    assert not re.search(r"<link\b", cells_markup(risk_trends_page) + text[: text.index("<script")])
    assert "<marimo-" not in markup
    assert not re.search(r"""(?:src|href)=["']?(?:https?:)?//""", markup)
    assert "con.sql" not in text and "def _(" not in text and "import marimo" not in text
    pages = re.findall(r'data-page="(\d+)">(.*?)</tbody>', markup, re.S)
    assert len(pages) > 1 and all(body.count("<tr>") <= PAGE_SIZE for _, body in pages)


@pytest.mark.parametrize("requested", [None, SECOND_SCHOOL], ids=["default", SECOND_SCHOOL])
def test_school_deep_dive_shows_only_its_school(
    requested, warehouse_arguments, demo_warehouse, ingested, tmp_path
):
    school = requested or FIRST_SCHOOL
    other = SECOND_SCHOOL if school == FIRST_SCHOOL else FIRST_SCHOOL
    arguments = warehouse_arguments | ({"school": requested} if requested else {})

    page = export_html(SCHOOL_DEEP_DIVE, tmp_path / "deep_dive.html", arguments)

    assert page.is_file() and errors(page) == []
    figures = page_figures(page)
    assert len(figures) == 5
    for figure in figures:
        if figure["layout"]["yaxis"].get("tickformat") == ".0%":
            assert figure["layout"]["yaxis"]["range"] == [0, 1]
    shown = text_of(cells_markup(page))
    assert INTERNAL_BANNER in shown
    names = dict(rows(demo_warehouse, ingested, "SELECT school_id, name FROM core.schools"))
    assert f"{names[school]} ({school})" in shown
    assert names[other] not in shown
    risk = rows(
        demo_warehouse,
        ingested,
        """
        SELECT semester_id,
            count(*) FILTER (WHERE school_id = $school),
            count(*) FILTER (WHERE school_id = $school AND risk_level IN ('medium', 'high')),
            count(*) FILTER (WHERE risk_level IN ('medium', 'high')) / count(*)
        FROM indicators.pupil_risk
        WHERE kind = 'semester'
        GROUP BY semester_id
        HAVING count(*) FILTER (WHERE school_id = $school) > 0
        """,
        school=school,
    )
    assert risk
    for semester_id, pupils, at_risk, municipality in risk:
        assert (
            f"{semester_id} : skolā / at the school {at_risk} / {pupils} ({at_risk / pupils:.1%}); "
            f"pašvaldībā / municipality {municipality:.1%}"
        ) in shown
    [(top_rule, fired)] = rows(
        demo_warehouse,
        ingested,
        """
        SELECT rule_id, count(*)
        FROM indicators.pupil_indicators
        WHERE kind = 'semester' AND fired AND school_id = $school
            AND semester_id = (
                SELECT max(semester_id) FROM indicators.pupil_risk WHERE school_id = $school
            )
        GROUP BY rule_id
        ORDER BY count(*) DESC, rule_id
        LIMIT 1
        """,
        school=school,
    )
    assert f"{top_rule} ({fired})" in shown
    for semester_id, supported, at_risk in rows(
        demo_warehouse,
        ingested,
        """
        SELECT semester_id, sum(pupils_at_risk_supported), sum(pupils_at_risk)
        FROM programme.support_coverage
        WHERE school_id = $school
        GROUP BY semester_id
        """,
        school=school,
    ):
        assert f"{semester_id} : atbalsts / supported {supported} / {at_risk} riska" in shown


def test_indicator_quality_shows_the_backtest_and_the_evaluation(
    warehouse_arguments, demo_warehouse, ingested, tmp_path
):
    page = export_html(INDICATOR_QUALITY, tmp_path / "indicator_quality.html", warehouse_arguments)

    assert page.is_file() and errors(page) == []
    figures = page_figures(page)
    assert len(figures) == 3
    table = {row[0]: row for row in table_rows(page)}
    backtest = rows(
        demo_warehouse,
        ingested,
        "SELECT predictor, flagged, precision_rate, recall_rate FROM indicators.backtest",
    )
    rules = {
        rule for (rule,) in rows(demo_warehouse, ingested, "SELECT rule_id FROM reference.rules")
    }
    assert rules | {"RISK_MEDIUM_OR_HIGH", "RISK_HIGH", "BASELINE_GRADES", "BASELINE_SCHOOLS"} == {
        predictor for predictor, *_ in backtest
    }
    for predictor, flagged, precision, recall in backtest:
        shown = table[predictor]
        assert str(flagged) in shown
        assert ("–" if precision is None else f"{precision:.1%}") in shown
        assert ("–" if recall is None else f"{recall:.1%}") in shown
    evaluation = titled(figures, "Precizitāte pirmajiem K")
    expected = rows(
        demo_warehouse,
        ingested,
        """
        SELECT predictor, precision_rate FROM indicators.evaluation
        WHERE as_of IS NULL AND horizon = 'year' AND outcome = 'any' AND capacity_kind = '180'
        """,
    )
    [k180] = [t for t in evaluation["data"] if t["name"] == "K = 180"]
    drawn = dict(zip(decoded(k180["x"]), decoded(k180["y"]), strict=True))
    assert drawn == pytest.approx(dict(expected))
    assert "SCORE" in drawn and evaluation["layout"]["yaxis"]["range"] == [0, 1]
    precision_recall = titled(figures, "Precizitāte pret pārklājumu")
    assert precision_recall["layout"]["xaxis"]["range"] == [0, 1]
    assert precision_recall["layout"]["yaxis"]["range"] == [0, 1]
    shown = text_of(cells_markup(page))
    score = rows(
        demo_warehouse, ingested,
        "SELECT precision_rate FROM indicators.evaluation WHERE as_of IS NULL AND horizon = 'year'"
        " AND outcome = 'any' AND capacity_kind = '180' AND predictor = 'SCORE'",
    )[0][0]  # fmt: skip
    assert (
        f"SCORE (riska modelis (score) / the score): precizitāte / precision {score:.1%}" in shown
    )


def test_a_failing_cell_fails_the_export(tmp_path):
    notebook = tmp_path / "broken.py"
    notebook.write_text(BROKEN_NOTEBOOK, encoding="utf-8")

    with pytest.raises(
        RuntimeError, match=r"(?s)broken\.py.*the deliberately broken cell, on purpose"
    ):
        export_html(notebook, tmp_path / "broken.html", {"reason": "on purpose"})

    assert errors(tmp_path / "broken.html") == ["the deliberately broken cell, on purpose"]
    assert not (tmp_path / "__marimo__").exists()


# --- in Chromium, offline ------------------------------------------------------------------

CHARTS = """() => [...document.querySelectorAll('.js-plotly-plot')].map(chart => ({
    id: chart.id,
    points: chart.data.map(trace => ['x', 'y', 'z'].map(axis =>
        Array.from(trace[axis] || []).flat().filter(v => v !== null).length)),
    marks: chart.querySelectorAll('path.point, g.trace.bars path, g.hm image').length,
    annotations: [...chart.querySelectorAll('g.annotation-text-g')].map(a => a.textContent),
    dashed: chart.querySelectorAll('g.scatterlayer path.js-line[style*="stroke-dasharray"]').length,
    hatched: chart.querySelectorAll('defs pattern').length,
}))"""


def test_the_risk_trends_export_works_offline_in_chromium(
    risk_trends_page, offline_page, demo_warehouse, ingested
):
    [(until,)] = rows(
        demo_warehouse, ingested,
        "SELECT as_of FROM indicators.as_of_dates WHERE kind = 'semester' AND NOT complete",
    )  # fmt: skip
    requests: list[str] = []
    page = offline_page.page
    page.on("request", lambda request: requests.append(request.url))

    page.goto(risk_trends_page.as_uri())
    page.wait_for_function("document.querySelectorAll('.js-plotly-plot .main-svg').length >= 5")

    charts = page.evaluate(CHARTS)
    assert len(charts) == 5
    assert all(c["marks"] > 0 and any(any(p) for p in c["points"]) for c in charts), charts
    time_charts = [c for c in charts if c["annotations"]]
    assert len(time_charts) == 5
    for chart in time_charts:
        assert any(partial_label(until) in text for text in chart["annotations"]), chart
    assert sum(c["dashed"] for c in charts) > 0 and sum(c["hatched"] for c in charts) > 0
    banner = page.locator("#internal-banner")
    assert banner.is_visible() and banner.inner_text() == INTERNAL_BANNER
    # The internal dashboard's purple banner, one look for every internal page.
    assert banner.evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(106, 27, 154)"
    visible = page.locator("body").inner_text()
    assert "con.sql" not in visible and "def _(" not in visible and "mo.md" not in visible
    assert page.locator(".paged-table nav label").count() > 1
    assert [url for url in requests if not url.startswith(("file:", "data:"))] == []
    assert offline_page.errors == []
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / "notebook_risk_trends.png", full_page=True)
    assert (SCREENSHOTS / "notebook_risk_trends.png").stat().st_size > 50_000
