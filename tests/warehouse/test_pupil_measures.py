"""`indicators.pupil_measures` computes its running measures in one pass over sorted facts
(docs/scaling.md, "The indicator models"). At randomly drawn pupil-dates of the demo, every
measure equals a recount from its definition: the facts dated by the as-of date (and, at a
`month` point, received by then), counted directly."""

from datetime import date

import polars as pl
import pytest

from pipelines.warehouse.build import connect_read_only

TERM_RANK = {"pēcpārbaudījums": 3, "gada vērtējums": 2}


@pytest.fixture(scope="module")
def con(demo_warehouse, ingested):
    connection = connect_read_only(demo_warehouse, ingested)
    yield connection
    connection.close()


def settings(con) -> dict:
    return dict(
        zip(
            ("pass_mark", "min_count"),
            con.execute(
                "SELECT (SELECT number FROM reference.parameters WHERE name = 'grades.pass_mark'),"
                " (SELECT min_count FROM reference.rules WHERE rule_id = 'FAILING_COURSES')"
            ).fetchall()[0],
            strict=True,
        )
    )


def known(frame: pl.DataFrame, as_of: date, kind: str, dated: bool = True) -> pl.DataFrame:
    """The facts a point sees: dated by then, and at a month point received by then."""
    if dated:
        frame = frame.filter(pl.col("date") <= as_of)
    return frame.filter(pl.col("received_on") <= as_of) if kind == "month" else frame


def recount(con, row: dict, rules: dict) -> dict:
    """The measures of one pupil-date, counted from `core` as the definitions read."""
    pupil, semester, as_of, kind = (row[k] for k in ("pupil_key", "semester_id", "as_of", "kind"))
    month = kind == "month"
    absences = known(
        con.sql(
            "SELECT * FROM core.lesson_absences WHERE pupil_key = ? AND semester_id = ? "
            "AND counted",
            params=[pupil, semester],
        ).pl(),
        as_of,
        kind,
    )
    note_late = pl.lit(month) & (pl.col("note_received_on") > as_of)
    counts = absences.select(
        missed_lessons=pl.col("missed").sum(),
        late_lessons=(pl.col("reason") == "late").sum(),
        non_illness_lessons=(
            pl.col("missed") & ((pl.col("reason") != "illness") | note_late)
        ).sum(),
        unjustified_lessons=(
            (
                pl.col("unjustified")
                & (
                    (pl.col("known_unjustified_on") <= as_of)
                    | pl.lit(not month and row["complete"])
                )
            )
            | (note_late & (pl.col("note_window_closes_on") <= as_of))
        )
        .fill_null(False)
        .sum(),
    ).row(0, named=True)

    grades = con.sql(
        "SELECT g.*, coalesce(s.core_literacy_numeracy, false) AS core FROM core.grades AS g "
        "LEFT JOIN reference.subjects AS s USING (subject) WHERE pupil_key = ?",
        params=[pupil],
    ).pl()
    this = known(grades.filter(pl.col("semester_id") == semester), as_of, kind)
    daily = this.filter(~pl.col("is_term_result"))
    marks = daily.filter(pl.col("mark").is_not_null())["mark"]
    previous_id = con.execute(
        "SELECT max(semester_id) FROM reference.semesters WHERE semester_id < ?", [semester]
    ).fetchall()[0][0]
    previous = known(
        grades.filter(
            pl.col("semester_id").eq_missing(previous_id)
            & ~pl.col("is_term_result")
            & pl.col("mark").is_not_null()
        ),
        as_of,
        kind,
        dated=False,
    )["mark"]
    levels = this.filter(pl.col("core") & pl.col("level").is_not_null())

    subjects = (
        daily.filter(pl.col("mark").is_not_null() | pl.col("is_nv"))
        .group_by("subject")
        .agg(marks=pl.col("mark").count(), mean=pl.col("mark").mean(), nv=pl.col("is_nv").sum())
    )
    failing = sorted(
        subjects.filter(
            ((pl.col("marks") >= rules["min_count"]) & (pl.col("mean") < rules["pass_mark"]))
            | (pl.col("nv") >= rules["min_count"])
        )["subject"]
    )
    terms = (
        known(
            grades.filter((pl.col("school_year") == row["school_year"]) & pl.col("is_term_result")),
            as_of,
            kind,
        )
        .with_columns(rank=pl.col("grade_type").replace_strict(TERM_RANK, default=1))
        .sort("date", "rank")
        .group_by("subject")
        .last()
        .filter(~pl.col("is_atb"))
    )
    insufficient = terms.filter(pl.col("is_nv") | (pl.col("mark") < rules["pass_mark"]))
    return {
        **counts,
        "marks": marks.len(),
        "average_mark": marks.mean(),
        "previous_marks": previous.len(),
        "previous_average_mark": previous.mean(),
        "core_levels": levels.height if row["grade"] <= 3 else None,
        "s_levels": (levels["level"] == "S").sum() if row["grade"] <= 3 else None,
        "failing_subjects": len(failing),
        "failing_subject_list": failing,
        "insufficient_subjects": insufficient.height,
        "nv_subjects": insufficient["is_nv"].sum(),
        "insufficient_subject_list": sorted(insufficient["subject"]),
    }


STRATA = {
    "any": "true",
    "failing": "failing_subjects > 0",
    "insufficient": "insufficient_subjects > 0",
    "unjustified": "unjustified_lessons > 0",
    "previous marks": "previous_marks > 0",
    "levels": "core_levels > 0",
}


@pytest.mark.parametrize("kind", ["month", "semester"])
def test_running_measures_equal_a_recount_at_drawn_pupil_dates(con, kind):
    rules = settings(con)
    for stratum, condition in STRATA.items():
        drawn = con.sql(
            f"SELECT * FROM (SELECT * FROM indicators.pupil_measures WHERE kind = ? AND {condition})"
            " USING SAMPLE 12 ROWS (reservoir, 2026)",
            params=[kind],
        ).pl()
        assert drawn.height == 12, stratum
        for row in drawn.iter_rows(named=True):
            expected = recount(con, row, rules)
            got = {k: row[k] for k in expected}
            for name in ("average_mark", "previous_average_mark"):
                if expected[name] is not None:
                    assert got[name] == pytest.approx(expected[name], rel=1e-12), (row, name)
                    got[name] = expected[name]
            assert got == expected, (stratum, row["pupil_key"], row["as_of"])
