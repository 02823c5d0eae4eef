"""Plotly figures as the JSON that Plotly.js draws: a figure is `{"data": [trace, ...],
"layout": {...}}` of plain lists, dicts, strings and numbers, written into the page as it is.

The dashboards build them here rather than with plotly.py's figure objects, which validate and
copy every property on every change: that took most of a dashboard's time (and plotly.py's
import pulls in narwhals), for figures the dashboards build once and never read back. The
page is the same: Plotly.js gets the same figures, with plotly.py's default template, the
axes and subplot titles that `plotly.subplots.make_subplots` lays out, and the same JSON
encoding. What plotly.py's validation caught (a misspelt property, which Plotly.js would
ignore) the tests catch: `tests/reports` passes every view's figure through `go.Figure`.
"""

import json
import pkgutil
from functools import cache
from typing import Any

Figure = dict[str, Any]

# `plotly.colors.sequential.YlOrRd`, as plotly.py expands the name for a heatmap.
YL_OR_RD = [
    [0.0, "rgb(255,255,204)"], [0.125, "rgb(255,237,160)"], [0.25, "rgb(254,217,118)"],
    [0.375, "rgb(254,178,76)"], [0.5, "rgb(253,141,60)"], [0.625, "rgb(252,78,42)"],
    [0.75, "rgb(227,26,28)"], [0.875, "rgb(189,0,38)"], [1.0, "rgb(128,0,38)"],
]  # fmt: skip
TITLE_FONT = {"size": 16}  # make_subplots's subplot titles
# Outside JSON strings Plotly's encoder escapes these, so that no "</script>" in a label can
# end the page's script.
UNSAFE = (("<", "\\u003c"), (">", "\\u003e"), ("/", "\\u002f"))


def _package_data(name: str) -> bytes:
    data = pkgutil.get_data("plotly", f"package_data/{name}")
    if data is None:
        raise FileNotFoundError(f"plotly's package data {name}")
    return data


@cache
def plotly_js() -> str:
    """Plotly.js, minified, as plotly.py bundles it (`plotly.offline.get_plotlyjs()`)."""
    return _package_data("plotly.min.js").decode("utf-8")


@cache
def template() -> dict:
    """plotly.py's default template ("plotly"), which every figure carries."""
    return json.loads(_package_data("templates/plotly.json"))


def new_figure(**layout: Any) -> Figure:
    """An empty figure with the default template and `layout`."""
    return {"data": [], "layout": {"template": template(), **layout}}


def axis_name(axis: str, n: int) -> str:
    """The n-th x or y axis as a trace or shape refers to it: x, x2, x3..."""
    return axis if n == 1 else f"{axis}{n}"


def subplot_axes(n: int) -> dict[str, str]:
    """The axes of the n-th subplot (counted from 1), as a trace names them."""
    return {"xaxis": axis_name("x", n), "yaxis": axis_name("y", n)}


def _titles(titles: tuple[str, ...], domains: list[tuple[list[float], list[float]]]) -> list:
    return [
        {"font": TITLE_FONT, "name": "title", "showarrow": False, "text": title,
         "x": sum(x) / 2.0, "xanchor": "center", "xref": "paper", "y": y[1],
         "yanchor": "bottom", "yref": "paper"}
        for title, (x, y) in zip(titles, domains, strict=True)
    ]  # fmt: skip


def stacked(titles: tuple[str, ...], vertical_spacing: float) -> Figure:
    """Subplots stacked in one column, the first on top, sharing their x axis (labelled on
    the bottom one only), each titled: `make_subplots(rows=len(titles), cols=1,
    shared_xaxes=True, vertical_spacing=..., subplot_titles=titles)`. The titles are named
    "title" (a page tells them from labels by their name)."""
    count = len(titles)
    height = (1.0 - vertical_spacing * (count - 1)) / count
    layout: dict[str, Any] = {}
    domains = []
    for row in range(1, count + 1):
        below = count - row  # subplots under this one
        start = sum([height] * below) + below * vertical_spacing
        end = start + height
        domain = ([0.0, 1.0], [start, 1.0 if 1.0 < end < 1.01 else end])
        domains.append(domain)
        x = {"anchor": axis_name("y", row), "domain": domain[0]}
        if row < count:
            x |= {"matches": axis_name("x", count), "showticklabels": False}
        layout[f"xaxis{'' if row == 1 else row}"] = x
        layout[f"yaxis{'' if row == 1 else row}"] = {
            "anchor": axis_name("x", row),
            "domain": domain[1],
        }
    return new_figure(**layout, annotations=_titles(titles, domains))


def side_by_side(titles: tuple[str, ...]) -> Figure:
    """Subplots side by side in one row, sharing their y axis (labelled on the first only),
    each titled: `make_subplots(rows=1, cols=len(titles), shared_yaxes=True,
    subplot_titles=titles)`, its titles named "title"."""
    count = len(titles)
    spacing = 0.2 / count
    width = (1.0 - spacing * (count - 1)) / count
    layout: dict[str, Any] = {}
    domains = []
    for col in range(1, count + 1):
        start = sum([width] * (col - 1)) + (col - 1) * spacing
        domain = ([start, start + width], [0.0, 1.0])
        domains.append(domain)
        layout[f"xaxis{'' if col == 1 else col}"] = {
            "anchor": axis_name("y", col),
            "domain": domain[0],
        }
        y = {"anchor": axis_name("x", col), "domain": domain[1]}
        if col > 1:
            y |= {"matches": "y", "showticklabels": False}
        layout[f"yaxis{'' if col == 1 else col}"] = y
    return new_figure(**layout, annotations=_titles(titles, domains))


def update_axes(figure: Figure, axis: str, **props: Any) -> None:
    """Set `props` on every x (or y) axis of the figure, as `update_xaxes` does."""
    layout = figure["layout"]
    names = [name for name in layout if name.startswith(f"{axis}axis")] or [f"{axis}axis"]
    for name in names:
        layout[name] = {**layout.get(name, {}), **props}


def add_annotation(figure: Figure, **annotation: Any) -> None:
    figure["layout"].setdefault("annotations", []).append(annotation)


def add_shape(figure: Figure, **shape: Any) -> None:
    figure["layout"].setdefault("shapes", []).append(shape)


def to_json(value: Any) -> str:
    """JSON as plotly.py writes it into a page: compact, ASCII, with <, > and / escaped; NaN
    and infinity, which JSON has not, as null."""
    text = json.dumps(value, separators=(",", ":"))
    if "NaN" in text or "Infinity" in text:  # may be inside a string: then nothing changes
        strict = json.loads(text, parse_constant=lambda _: None)
        text = json.dumps(strict, separators=(",", ":"))
    for unsafe, safe in UNSAFE:
        text = text.replace(unsafe, safe)
    return text


def to_html(figure: Figure, div_id: str, config: dict) -> str:
    """The figure as a div that draws itself once Plotly.js is loaded: what
    `plotly.io.to_html(full_html=False, include_plotlyjs=False)` writes, its height the
    layout's."""
    height = figure["layout"].get("height")
    style = "height:100%" if height is None else f"height:{height}px"
    return (
        f'<div style="{style}; width:100%;">'
        f'<div id="{div_id}" class="plotly-graph-div" style="height:100%; width:100%;"></div>'
        f'<script>Plotly.newPlot("{div_id}", {to_json(figure["data"])}, '
        f"{to_json(figure['layout'])}, {json.dumps(config)});</script>"
        "</div>"
    )
