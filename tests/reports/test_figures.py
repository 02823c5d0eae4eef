"""Figures as Plotly's JSON: subplots laid out as plotly.py's `make_subplots` lays them out,
and the JSON written into the page as plotly.py writes it."""

import json

import plotly.graph_objects as go
import plotly.io
import pytest
from plotly.subplots import make_subplots

from pipelines.reports.figures import new_figure, side_by_side, stacked, to_html, to_json


def _layout(figure: go.Figure) -> dict:
    """make_subplots's layout with its titles named as the dashboards name them."""
    layout = figure.to_plotly_json()["layout"]
    for annotation in layout["annotations"]:
        annotation["name"] = "title"
    return layout


@pytest.mark.parametrize("count", [1, 2, 3, 4, 7])
@pytest.mark.parametrize("spacing", [0.09, 0.1, 0.13])
def test_stacked_subplots_are_make_subplots_own(count, spacing):
    titles = tuple(f"title {i}" for i in range(count))
    expected = make_subplots(
        rows=count, cols=1, shared_xaxes=True, vertical_spacing=spacing / count * 3,
        subplot_titles=titles,
    )  # fmt: skip
    ours = stacked(titles, vertical_spacing=spacing / count * 3)
    assert ours["layout"] == _layout(expected)


@pytest.mark.parametrize("count", [1, 2, 3, 4, 7])
def test_side_by_side_subplots_are_make_subplots_own(count):
    titles = tuple(f"title {i}" for i in range(count))
    expected = make_subplots(rows=1, cols=count, shared_yaxes=True, subplot_titles=titles)
    assert side_by_side(titles)["layout"] == _layout(expected)


def test_the_json_is_plotly_pys_own():
    """Compact ASCII with <, > and / escaped (no label can end the page's script), NaN and
    infinity as null, as plotly.py writes a figure."""
    value = {"text": "</script> Ķegums", "y": [1.5, float("nan"), None, float("inf")], "n": 2}
    assert to_json(value) == plotly.io.json.to_json_plotly(value, engine="json")
    assert json.loads(to_json(value))["y"] == [1.5, None, None, None]
    assert "</" not in to_json(value)


def test_a_figure_draws_itself_as_plotly_io_would():
    """The div holds what `plotly.io.to_html` gives Plotly.newPlot: the same figure and
    config, in a box of the layout's height."""
    figure = new_figure(height=420)
    figure["data"].append({"type": "bar", "x": ["a", "b"], "y": [1, None], "name": "n/a"})
    config = {"displaylogo": False, "responsive": True}
    ours = to_html(figure, "chart-x", config)
    theirs = plotly.io.to_html(
        go.Figure(figure), full_html=False, include_plotlyjs=False, div_id="chart-x",
        config=config,
    )  # fmt: skip
    assert ours.startswith('<div style="height:420px; width:100%;">')
    assert theirs.startswith('<div style="height:420px; width:100%;">')

    assert _new_plot(ours) == _new_plot(theirs)


def _new_plot(page: str) -> list:
    """The arguments of the page's Plotly.newPlot call."""
    decoder = json.JSONDecoder()
    at = page.index("Plotly.newPlot(") + len("Plotly.newPlot(")
    found = []
    for _ in range(4):  # the div's id, the data, the layout and the config
        while page[at] in " ,":
            at += 1
        value, at = decoder.raw_decode(page, at)
        found.append(value)
    return found
