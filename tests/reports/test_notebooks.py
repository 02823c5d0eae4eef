"""The analyst notebooks run headless against the demo warehouse and show its figures."""

import html
import json
import re
from pathlib import Path

import pytest

from pipelines.reference import tables as reference
from pipelines.reports.notebooks import (
    INDICATOR_QUALITY,
    RISK_TRENDS,
    SCHOOL_DEEP_DIVE,
    export_html,
)
from pipelines.warehouse.build import connect_read_only

FIRST_SCHOOL, SECOND_SCHOOL = (s.school_id for s in reference.schools()[:2])

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


def cell_outputs(page: Path) -> list[dict]:
    """The outputs of every cell, from the session snapshot marimo embeds in the page."""
    text = page.read_text(encoding="utf-8")
    key = '"session": '
    session, _ = json.JSONDecoder().raw_decode(text, text.index(key) + len(key))
    return [output for cell in session["cells"] for output in cell["outputs"]]


def errors(page: Path) -> list[str]:
    return [output["evalue"] for output in cell_outputs(page) if output["type"] == "error"]


def markup(page: Path) -> str:
    """The HTML of every cell output, unescaped."""
    return "\n".join(
        html.unescape(value)
        for output in cell_outputs(page)
        if output["type"] == "data"
        for value in output["data"].values()
    )


def text_of(fragment: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", fragment)).strip()


def table_rows(page: Path) -> list[list[str]]:
    """The cells of every row of the Markdown tables, as text."""
    return [
        [text_of(cell) for cell in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row, re.S)]
        for row in re.findall(r"<tr>(.*?)</tr>", markup(page), re.S)
    ]


def figures(page: Path) -> int:
    return markup(page).count("<marimo-plotly")


def rows(database: Path, staging: Path, query: str, **params: str) -> list[tuple]:
    con = connect_read_only(database, staging)
    try:
        return con.sql(query, params=params or None).fetchall()
    finally:
        con.close()


@pytest.fixture(scope="module")
def warehouse_arguments(demo_warehouse, ingested) -> dict[str, str]:
    return {"warehouse": str(demo_warehouse), "staging": str(ingested)}


def test_risk_trends_shows_each_semester(warehouse_arguments, demo_warehouse, ingested, tmp_path):
    page = export_html(RISK_TRENDS, tmp_path / "risk_trends.html", warehouse_arguments)

    assert page.is_file() and errors(page) == []
    assert figures(page) >= 5
    shown = text_of(markup(page))
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


@pytest.mark.parametrize("requested", [None, SECOND_SCHOOL], ids=["default", SECOND_SCHOOL])
def test_school_deep_dive_shows_only_its_school(
    requested, warehouse_arguments, demo_warehouse, ingested, tmp_path
):
    school = requested or FIRST_SCHOOL
    other = SECOND_SCHOOL if school == FIRST_SCHOOL else FIRST_SCHOOL
    arguments = warehouse_arguments | ({"school": requested} if requested else {})

    page = export_html(SCHOOL_DEEP_DIVE, tmp_path / "deep_dive.html", arguments)

    assert page.is_file() and errors(page) == []
    assert figures(page) >= 5
    shown = text_of(markup(page))
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


def test_indicator_quality_shows_the_backtest(
    warehouse_arguments, demo_warehouse, ingested, tmp_path
):
    page = export_html(INDICATOR_QUALITY, tmp_path / "indicator_quality.html", warehouse_arguments)

    assert page.is_file() and errors(page) == []
    assert figures(page) == 2
    table = {row[0]: row for row in table_rows(page)}
    backtest = rows(
        demo_warehouse,
        ingested,
        "SELECT predictor, flagged, precision_rate, recall_rate FROM indicators.backtest",
    )
    assert {"MK89_UNJUSTIFIED", "RISK_MEDIUM_OR_HIGH", "BASELINE_GRADES"} <= {
        predictor for predictor, *_ in backtest
    }
    for predictor, flagged, precision, recall in backtest:
        shown = table[predictor]
        assert str(flagged) in shown
        assert ("–" if precision is None else f"{precision:.1%}") in shown
        assert ("–" if recall is None else f"{recall:.1%}") in shown


def test_a_failing_cell_fails_the_export(tmp_path):
    notebook = tmp_path / "broken.py"
    notebook.write_text(BROKEN_NOTEBOOK, encoding="utf-8")

    with pytest.raises(
        RuntimeError, match=r"(?s)broken\.py.*the deliberately broken cell, on purpose"
    ):
        export_html(notebook, tmp_path / "broken.html", {"reason": "on purpose"})

    assert errors(tmp_path / "broken.html") == ["the deliberately broken cell, on purpose"]
    assert not (tmp_path / "__marimo__").exists()
