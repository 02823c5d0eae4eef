"""The analyst notebooks in `notebooks/`: marimo files, run headless and exported to HTML.

The notebooks build every chart through the figure functions here (pure: a frame in, a
figure out), so the charts' data and axes are tested without running marimo, and name their
columns and axes from one `LABELS`. Time charts put the as-of dates (or semesters, or months)
on a categorical axis in their order, so a label such as "23.12.2025 (sem.)" is one
category, never a date Plotly drops; rate axes run from 0 to 100%, count axes to just above
the largest value; a semester still under way is hatched (bars) or dashed (lines), shaded and
labelled `partial_label(until)`.

`export_html` runs a notebook headless (`marimo export html`, which runs every cell; when a
cell raises marimo still writes the page but exits with status 1, and the export raises
then) and writes its own page from the cells' outputs: no code, Plotly's JavaScript inline
(marimo's own page loads its JavaScript, fonts and icons from a CDN and is blank offline),
the internal banner on top, since the notebooks read the unsuppressed warehouse.
"""

import html
import json
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Literal

import duckdb
import plotly.graph_objects as go
import polars as pl

from pipelines.paths import PROJECT_ROOT, staging_dir, warehouse_file
from pipelines.publication.tables import MEASURES
from pipelines.reports.figures import plotly_js
from pipelines.reports.style import (
    INTERNAL_BANNER,
    INTERNAL_BANNER_STYLE,
    PARTIAL_PATTERN,
    partial_label,
)
from pipelines.warehouse.build import connect_read_only

NOTEBOOKS_DIR = PROJECT_ROOT / "notebooks"
RISK_TRENDS = NOTEBOOKS_DIR / "risk_trends.py"
SCHOOL_DEEP_DIVE = NOTEBOOKS_DIR / "school_deep_dive.py"
INDICATOR_QUALITY = NOTEBOOKS_DIR / "indicator_quality.py"
NOTEBOOKS: tuple[Path, ...] = (RISK_TRENDS, SCHOOL_DEEP_DIVE, INDICATOR_QUALITY)

# The column and axis labels of the notebooks, one for each name they show.
LABELS = {
    "as_of_label": "Datums / As of",
    "semester_id": "Semestris / Semester",
    "month": "Mēnesis / Month",
    "grade_band": "Klašu grupa / Grade band",
    "school": "Skola / School",
    "scope": "Kam / For",
    "level": "Riska līmenis / Risk level",
    "share": "Skolēnu daļa / Share of pupils",
    "at_risk_share": "Vidējs vai augsts risks / Medium or high risk",
    "at_risk": "Vidējs vai augsts / Medium or high",
    "attendance": "Apmeklējums / Attendance",
    "mk89_crossings": MEASURES["mk89_crossings"].label,
    "rule": "Rādītājs / Rule",
    "pupils_fired": "Skolēni / Pupils",
    "coverage": "Riska skolēni ar atbalstu / Pupils at risk with support",
    "count": "Skolēni / Pupils",
    "pupils": "Visi skolēni / All pupils",
    "expected_lessons": "Plānotas stundas / Expected lessons",
    "missed_lessons": "Kavētas / Missed",
    "pupils_at_risk": "Riska skolēni / Pupils at risk",
    "pupils_at_risk_supported": "Ar atbalstu / Supported",
    "kind": "Veids / Kind",
    "predictor": "Prognozētājs / Predictor",
    "precision_rate": "Precizitāte / Precision",
    "recall_rate": "Pārklājums / Recall",
    "median_lead_weeks": "Brīdinājuma laiks, mediāna nedēļās / Median lead time, weeks",
    "description": "Apraksts / Description",
    "flagged": "Atzīmēti / Flagged",
    "true_positives": "Pareizi / True positives",
    "capacity": "Atzīmēti pēc kārtas / Flagged in rank order",
    "auc": "AUC",
}
PAGE_SIZE = 20  # table rows per page
# Series that are not risk levels (grade bands, school against municipality, predictors):
# blues, greens, violets and greys, none of the risk levels' yellow, orange and red.
SERIES_COLOURS = ("#1f5f8b", "#2a9d8f", "#7b5ea7", "#5fa8d3", "#6c757d", "#264653", "#8ab17d")
PARTIAL_FILL = "rgba(120, 120, 120, 0.12)"
COUNT_HEADROOM = 1.08  # a count axis ends this far above the largest value


@dataclass(frozen=True)
class Partial:
    """The semester still under way: its data reach only `until`."""

    semester_id: str
    until: date

    @property
    def label(self) -> str:
        return partial_label(self.until)


def open_warehouse(arguments: dict[str, str]) -> tuple[duckdb.DuckDBPyConnection, Path]:
    """A read-only connection to the warehouse a notebook was given (`--warehouse`, `--staging`;
    by default the project's), and its path."""
    warehouse = Path(arguments.get("warehouse") or warehouse_file())
    if not warehouse.is_file():
        raise FileNotFoundError(f"no warehouse at {warehouse}: run `make demo` or pass --warehouse")
    return connect_read_only(warehouse, Path(arguments.get("staging") or staging_dir())), warehouse


def partial_semester(con: duckdb.DuckDBPyConnection) -> Partial | None:
    """The semester whose as-of date is the data cut-off rather than its end, if any."""
    found = con.sql(
        "SELECT semester_id, as_of FROM indicators.as_of_dates "
        "WHERE kind = 'semester' AND NOT complete"
    ).fetchall()
    return Partial(*found[0]) if found else None


def percent(value: float | None) -> str:
    """A rate as a percentage with one decimal, a dash when there is none."""
    return "–" if value is None else f"{value:.1%}"


def as_of_label() -> pl.Expr:
    """An as-of date as its axis category: "31.10.2025", a semester's date "23.12.2025 (sem.)"
    (a month's last school day and a semester's end can fall on the same day)."""
    return pl.col("as_of").dt.strftime("%d.%m.%Y") + pl.when(pl.col("kind") == "semester").then(
        pl.lit(" (sem.)")
    ).otherwise(pl.lit(""))


def semester_label(partial: Partial | None) -> pl.Expr:
    """A semester as its axis category, the one under way with its `partial_label`."""
    if partial is None:
        return pl.col("semester_id")
    return (
        pl.when(pl.col("semester_id") == partial.semester_id)
        .then(pl.lit(f"{partial.semester_id} ({partial.label})"))
        .otherwise(pl.col("semester_id"))
    )


def is_partial(partial: Partial | None) -> pl.Expr:
    """Whether a row belongs to the semester under way."""
    if partial is None:
        return pl.lit(False)
    return pl.col("semester_id") == partial.semester_id


def series_colours(names: Sequence[str]) -> dict[str, str]:
    """A colour per series that is not a risk level."""
    return {name: SERIES_COLOURS[i % len(SERIES_COLOURS)] for i, name in enumerate(names)}


def count_range(values: Sequence[float | None]) -> list[float]:
    """A count axis from 0 to just above the largest value."""
    top = max((v for v in values if v is not None), default=0)
    return [0, top * COUNT_HEADROOM if top > 0 else 1]


def _hover(frame: pl.DataFrame, hover: dict[str, str]) -> tuple[list[list], str]:
    columns = list(hover)
    data = frame.select(columns).rows() if columns else []
    lines = "".join(f"<br>{label}: %{{customdata[{i}]}}" for i, label in enumerate(hover.values()))
    return [list(row) for row in data], lines


def time_chart(
    frame: pl.DataFrame,
    *,
    x: str,
    y: str,
    series: str,
    order: Sequence[str],
    series_order: Sequence[str],
    colours: dict[str, str],
    mode: Literal["stacked", "grouped", "lines"],
    rate: bool,
    title: str,
    titles: tuple[str, str, str],
    partial: Partial | None,
    hover: dict[str, str] | None = None,
    horizontal: bool = False,
    interval: tuple[str, str] | None = None,
) -> go.Figure:
    """One trace per series over the categories `order` of column `x` (the time axis, or with
    `horizontal` the category axis drawn vertically); `y` is a rate (axis 0-100%) or a count
    (axis to just above the largest value, or of the largest stack). Rows where the column
    `partial` is true (the semester under way) are hatched bars or a dashed line, their
    categories shaded and labelled `partial.label`; a series wholly partial says so in the
    legend. `titles`: the category axis, the value axis and the legend. `interval`: the columns
    of each bar's lower and upper bound, drawn as error bars."""
    unknown = set(frame[x].unique().to_list()) - set(order)
    if unknown:
        raise ValueError(f"{title}: {x} values {sorted(unknown)} are not in the axis order")
    rank = {category: i for i, category in enumerate(order)}
    frame = frame.sort(pl.col(x).replace_strict(rank, return_dtype=pl.Int64))
    figure = go.Figure()
    for name in series_order:
        rows = frame.filter(pl.col(series) == name)
        if rows.is_empty():
            continue
        flags = rows["partial"].to_list()
        wholly_partial = partial and all(flags) and partial.label not in name
        label = f"{name} ({partial.label})" if wholly_partial else name
        customdata, extra = _hover(rows, hover or {})
        value = ":.1%" if rate else ""
        category, measure = ("y", "x") if horizontal else ("x", "y")
        template = f"{name}<br>%{{{category}}}: %{{{measure}{value}}}{extra}<extra></extra>"
        common = {"name": label, "legendgroup": name, "customdata": customdata}
        categories, values = rows[x].to_list(), rows[y].to_list()
        axes = {"x": values, "y": categories} if horizontal else {"x": categories, "y": values}
        if mode == "lines":
            solid = [v if not f else None for v, f in zip(values, flags, strict=True)]
            # The dashed part starts at the last complete point, so the line is unbroken.
            dashed = [
                v if f or (i + 1 < len(flags) and flags[i + 1]) else None
                for i, (v, f) in enumerate(zip(values, flags, strict=True))
            ]
            figure.add_scatter(
                x=categories, y=solid, mode="lines+markers", line_color=colours[name],
                hovertemplate=template, **common,
            )  # fmt: skip
            if any(flags):
                figure.add_scatter(
                    x=categories, y=dashed, mode="lines+markers", showlegend=False,
                    line={"color": colours[name], "dash": "dash"},
                    marker={"symbol": "circle-open"}, hovertemplate=template, **common,
                )  # fmt: skip
        else:
            errors = {}
            if interval:
                low, high = (rows[column] for column in interval)
                error = {
                    "type": "data", "array": (high - rows[y]).to_list(),
                    "arrayminus": (rows[y] - low).to_list(), "color": "#333",
                }  # fmt: skip
                errors = {"error_x" if horizontal else "error_y": error}
            figure.add_bar(
                **axes, **errors, orientation="h" if horizontal else "v",
                marker={
                    "color": colours[name],
                    "pattern": {"shape": [PARTIAL_PATTERN if f else "" for f in flags]},
                },
                hovertemplate=template, **common,
            )  # fmt: skip
    value_axis: dict = {"title": {"text": titles[1]}, "rangemode": "tozero"}
    if rate:
        value_axis |= {"range": [0, 1], "tickformat": ".0%"}
    elif mode == "stacked":
        stacks = frame.group_by(x).agg(pl.col(y).sum())[y].to_list()
        value_axis |= {"range": count_range(stacks)}
    else:
        value_axis |= {"range": count_range(frame[interval[1] if interval else y].to_list())}
    category_axis = {
        "title": {"text": titles[0]},
        "type": "category",
        "categoryorder": "array",
        "categoryarray": list(order),
    }
    figure.update_layout(
        title={"text": title},
        barmode="stack" if mode == "stacked" else "group",
        legend={"title": {"text": titles[2]}},
        xaxis=value_axis if horizontal else category_axis,
        yaxis=category_axis if horizontal else value_axis,
        margin={"t": 90},
    )
    # The shade runs from just after the last complete category (so the semester's dates with
    # no data yet are in it) to the last partial one.
    partial_ranks = [rank[c] for c in frame.filter("partial")[x].to_list()]
    complete_ranks = [rank[c] for c in frame.filter(~pl.col("partial"))[x].to_list()]
    if partial and partial_ranks and not horizontal:
        start = max((r for r in complete_ranks if r < min(partial_ranks)), default=-1) + 0.5
        _shade(figure, start, max(partial_ranks) + 0.5, partial.label)
    return figure


def _shade(figure: go.Figure, start: float, end: float, label: str) -> None:
    """Shade the categories from `start` to `end` (axis positions) and label them on top."""
    figure.add_vrect(x0=start, x1=end, fillcolor=PARTIAL_FILL, line_width=0, layer="below")
    figure.add_annotation(
        x=(start + end) / 2, y=1, xref="x", yref="paper", yanchor="bottom", showarrow=False,
        text=f"▨ ┄ {label}", font={"size": 12},
    )  # fmt: skip


def precision_recall_chart(
    frame: pl.DataFrame,
    *,
    series: str,
    series_order: Sequence[str],
    base_rate: float,
    title: str,
    titles: tuple[str, str, str],
    hover: dict[str, str],
) -> go.Figure:
    """Each predictor (column `predictor`) at its recall (x) and precision (y), both axes 0-100%,
    a marker sized by `flagged`, coloured by `series`; the precision of flagging at random
    (`base_rate`) as a dashed line."""
    colours = series_colours(series_order)
    largest = max(frame["flagged"].max() or 1, 1)
    figure = go.Figure()
    for name in series_order:
        rows = frame.filter(pl.col(series) == name)
        if rows.is_empty():
            continue
        customdata, extra = _hover(rows, hover)
        figure.add_scatter(
            x=rows["recall_rate"].to_list(), y=rows["precision_rate"].to_list(),
            text=rows["predictor"].to_list(), mode="markers+text", textposition="top center",
            name=name, customdata=customdata,
            marker={
                "color": colours[name], "sizemode": "area", "sizemin": 4,
                "size": rows["flagged"].to_list(), "sizeref": 2 * largest / 40**2,
            },
            hovertemplate=f"%{{text}}<br>{titles[0]}: %{{x:.1%}}<br>{titles[1]}: %{{y:.1%}}"
            f"{extra}<extra></extra>",
        )  # fmt: skip
    figure.add_hline(
        y=base_rate, line_dash="dash", line_color="#555",
        annotation_text=f"nejauša atlase / at random {percent(base_rate)}",
    )  # fmt: skip
    figure.update_layout(
        title={"text": title},
        xaxis={"title": {"text": titles[0]}, "range": [0, 1], "tickformat": ".0%"},
        yaxis={"title": {"text": titles[1]}, "range": [0, 1], "tickformat": ".0%"},
        legend={"title": {"text": titles[2]}},
        height=600,
        margin={"t": 90},
    )
    return figure


def semester_heatmap(
    frame: pl.DataFrame,
    *,
    x: str,
    y: str,
    z: str,
    x_order: Sequence[str],
    y_order: Sequence[str],
    title: str,
    titles: tuple[str, str, str],
    partial: Partial | None,
) -> go.Figure:
    """A rate per semester (x) and row (y) as colour, the value written in each cell; the
    colour bar is titled `titles[2]` and runs from 0 to the largest rate (at most 100%). The
    semester under way is shaded and labelled. `frame` holds one row per cell."""
    cells = {(row[x], row[y]): row[z] for row in frame.iter_rows(named=True)}
    matrix = [[cells.get((column, row)) for column in x_order] for row in y_order]
    top = max((v for v in frame[z].to_list() if v is not None), default=0)
    figure = go.Figure(
        go.Heatmap(
            x=list(x_order), y=list(y_order), z=matrix, zmin=0, zmax=min(1, top) or 1,
            colorscale="OrRd", texttemplate="%{z:.1%}",
            hovertemplate="%{y}<br>%{x}: %{z:.1%}<extra></extra>",
            colorbar={"title": {"text": titles[2], "side": "right"}, "tickformat": ".0%"},
        )
    )  # fmt: skip
    figure.update_layout(
        title={"text": title},
        xaxis={"title": {"text": titles[0]}, "type": "category"},
        yaxis={"title": {"text": titles[1]}, "type": "category", "autorange": "reversed"},
        height=max(400, 40 * len(y_order) + 160),
        margin={"t": 90},
    )
    columns = [i for i, column in enumerate(x_order) if partial and partial.label in column]
    if partial and columns:
        _shade(figure, columns[0] - 0.5, columns[-1] + 0.5, partial.label)
    return figure


def percent_column(column: str, header: str) -> pl.Expr:
    """A share (0 to 1) as a table's percentage column, one decimal, under `header`."""
    return (100 * pl.col(column)).round(1).alias(header)


def paged_table(frame: pl.DataFrame, table_id: str) -> str:
    """`frame` as an HTML table; past `PAGE_SIZE` rows in pages, one shown at a time, chosen
    by page numbers that need no script (radio buttons and CSS), so it pages in marimo and in
    the exported page alike. Every row is in the page: none is left out."""
    header = "".join(f"<th>{html.escape(column)}</th>" for column in frame.columns)

    def cell(value: object) -> str:
        number = ' class="number"' if isinstance(value, int | float) else ""
        return f"<td{number}>{html.escape('–' if value is None else str(value))}</td>"

    rows = ["<tr>" + "".join(cell(v) for v in row) + "</tr>" for row in frame.rows()]
    pages = [rows[i : i + PAGE_SIZE] for i in range(0, len(rows), PAGE_SIZE)] or [[]]
    bodies = "".join(
        f'<tbody class="page" data-page="{n + 1}">{"".join(page)}</tbody>'
        for n, page in enumerate(pages)
    )
    table = f'<table class="notebook-table"><thead><tr>{header}</tr></thead>{bodies}</table>'
    look = (
        f"#{table_id} table {{ border-collapse: collapse; font-size: 0.9rem; margin: 0.5rem 0; }}"
        f" #{table_id} th, #{table_id} td {{ border: 1px solid #ccc; padding: 0.2rem 0.5rem; }}"
        f" #{table_id} th {{ background: #f2f2f2; }}"
        f" #{table_id} td.number {{ text-align: right; }}"
        f" #{table_id} input.page-choice {{ display: none; }}"
        f" #{table_id} nav label {{ cursor: pointer; padding: 0 0.3rem; color: #1f5f8b; }}"
    )
    if len(pages) == 1:
        return f'<div class="paged-table" id="{table_id}"><style>{look}</style>{table}</div>'
    numbers = range(1, len(pages) + 1)
    radios = "".join(
        f'<input type="radio" class="page-choice" name="{table_id}" id="{table_id}-{n}"'
        f"{' checked' if n == 1 else ''}>"
        for n in numbers
    )
    labels = " ".join(f'<label for="{table_id}-{n}">{n}</label>' for n in numbers)
    shown = ", ".join(f'#{table_id}-{n}:checked ~ table tbody[data-page="{n}"]' for n in numbers)
    current = ", ".join(
        f'#{table_id}-{n}:checked ~ nav label[for="{table_id}-{n}"]' for n in numbers
    )
    style = (
        f"<style>{look} #{table_id} tbody.page {{ display: none; }} {shown} "
        f"{{ display: table-row-group; }} {current} {{ font-weight: bold; }}</style>"
    )
    return (
        f'<div class="paged-table" id="{table_id}">{style}{radios}'
        f"<nav>Lapa / Page: {labels} ({len(rows)} rindas / rows)</nav>{table}</div>"
    )


def cli_arguments(arguments: dict[str, str]) -> list[str]:
    """The `--key value` pairs a notebook reads with `mo.cli_args()`, after marimo's `--`."""
    pairs = [part for key, value in arguments.items() for part in (f"--{key}", value)]
    return ["--", *pairs] if pairs else []


def cell_outputs(marimo_page: str) -> list[dict]:
    """The outputs of every cell, in order, from the session snapshot marimo embeds in its
    exported page."""
    key = '"session": '
    session, _ = json.JSONDecoder().raw_decode(marimo_page, marimo_page.index(key) + len(key))
    return [output for cell in session["cells"] for output in cell["outputs"]]


PLOTLY_ELEMENT = re.compile(r"<marimo-plotly data-figure='([^']*)'[^>]*>.*?</marimo-plotly>", re.S)
MARIMO_ELEMENT = re.compile(r"<marimo-[a-z-]+")


def static_output(fragment: str, first_figure: int) -> tuple[str, int]:
    """A cell's HTML with marimo's Plotly elements replaced by a div and the figure's JSON
    (drawn by the page's script); the number of figures it held. Any other marimo element
    (interactive, rendered by marimo's JavaScript only) is an error: it would be blank."""
    count = 0

    def figure(match: re.Match[str]) -> str:
        nonlocal count
        spec = json.loads(html.unescape(match.group(1)))
        figure_id = f"figure-{first_figure + count}"
        count += 1
        data = json.dumps(spec).replace("</", "<\\/")
        return (
            f'<div class="notebook-figure" id="{figure_id}"></div>'
            f'<script type="application/json" data-figure="{figure_id}">{data}</script>'
        )

    replaced = PLOTLY_ELEMENT.sub(figure, fragment)
    leftover = MARIMO_ELEMENT.search(replaced)
    if leftover:
        raise ValueError(f"an output holds {leftover.group(0)}>, which draws nothing offline")
    return replaced, count


def static_page(title: str, outputs: list[dict]) -> str:
    """The exported page: the internal banner, each cell's output (code never), every figure
    drawn by Plotly's JavaScript inline; a cell's error shown as such."""
    parts, figures = [], 0
    for output in outputs:
        if output["type"] == "error":
            name, message = (html.escape(str(output.get(key, ""))) for key in ("ename", "evalue"))
            parts.append(f'<pre class="cell-error" data-error="{name}">{name}: {message}</pre>')
            continue
        data = output.get("data", {})
        fragment = data.get("text/html") or data.get("text/markdown") or ""
        if not fragment and data.get("text/plain"):
            fragment = f"<pre>{html.escape(data['text/plain'])}</pre>"
        if fragment:
            shown, count = static_output(fragment, figures)
            figures += count
            parts.append(f'<section class="cell">{shown}</section>')
    cells = "\n".join(parts)
    return f"""<!DOCTYPE html>
<html lang="lv"><head><meta charset="utf-8">
<title>{html.escape(title)}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 0 auto; max-width: 1200px; padding: 1rem;
  color: #222; }}
{INTERNAL_BANNER_STYLE}
.cell {{ margin: 1.2rem 0; }} .cell-error {{ color: #a00; white-space: pre-wrap; }}
.notebook-figure {{ width: 100%; min-height: 450px; }}
table {{ border-collapse: collapse; }} th, td {{ padding: 0.2rem 0.5rem; text-align: left; }}
</style>
<script>{plotly_js()}</script>
</head><body>
<div id="internal-banner">{html.escape(INTERNAL_BANNER)}</div>
{cells}
<script>
for (const spec of document.querySelectorAll("script[data-figure]")) {{
  const figure = JSON.parse(spec.textContent);
  Plotly.newPlot(spec.dataset.figure, figure.data, figure.layout,
    {{displaylogo: false, responsive: true}});
}}
</script>
</body></html>
"""


def export_html(notebook: Path, output: Path, arguments: dict[str, str]) -> Path:
    """Run `notebook` headless with `arguments` and write its outputs to `output` as one
    self-contained page (`static_page`).

    marimo keeps a session snapshot in a `__marimo__` folder beside the notebook; the export
    runs a copy of the notebook in a temporary folder, so it leaves the notebooks folder as it
    was. (Moving the snapshot with `PYTHONPYCACHEPREFIX` would also move Python's bytecode
    cache, and every export would compile its imports again: 3.5 s of CPU instead of 1.2 s.)
    """
    output.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="marimo-export-") as scratch:
        copy = Path(shutil.copy2(notebook, scratch))
        marimo_page = Path(scratch) / "marimo.html"
        command = [
            sys.executable, "-m", "marimo", "export", "html", str(copy),
            "--output", str(marimo_page), "--force", *cli_arguments(arguments),
        ]  # fmt: skip
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        outputs = (
            cell_outputs(marimo_page.read_text(encoding="utf-8")) if marimo_page.exists() else []
        )
    output.write_text(static_page(notebook.stem, outputs), encoding="utf-8")
    if result.returncode != 0:
        raise RuntimeError(
            f"notebook {notebook.name} failed (marimo export exited with {result.returncode}):\n"
            f"{result.stderr.strip()}"
        )
    return output
