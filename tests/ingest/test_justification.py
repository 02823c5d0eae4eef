"""Justification of `n` absences by notes, worked out by hand on the 2025/26 calendar."""

from datetime import date

import polars as pl

from pipelines.ingest.justification import resolve
from pipelines.reference.calendar import school_calendar
from pipelines.reference.checks import school_problems
from pipelines.reference.tables import read_csv, schools

# Thursday 16.10.2025 and Friday 17.10.2025, then the autumn break 20-24.10.2025.
ABSENCES = pl.DataFrame(
    {
        "pupil": ["a", "a", "b", "c", "d", "e"],
        "date": [date(2025, 10, 16), date(2025, 10, 17), date(2025, 10, 17), date(2025, 10, 17),
                 date(2025, 10, 17), date(2025, 10, 17)],
        "mark": ["n", "n", "n", "n", "ns", "nk"],
    }
)  # fmt: skip
NOTES = pl.DataFrame(
    {
        "pupil": ["a", "b", "c"],
        # a: covers Thursday only; b: handed in on the 3rd school day after the break
        # (Wed 29.10); c: on the 4th (Thu 30.10), one day late.
        "from": [date(2025, 10, 16), date(2025, 10, 17), date(2025, 10, 17)],
        "to": [date(2025, 10, 16), date(2025, 10, 17), date(2025, 10, 17)],
        "submitted": [date(2025, 10, 17), date(2025, 10, 29), date(2025, 10, 30)],
    }
)


def test_every_school_keeps_the_contract_window_of_three_school_days():
    assert {s.note_deadline_school_days for s in schools()} == {3}


def test_notes_justify_their_days_within_the_window():
    reasons = resolve(ABSENCES, NOTES, school_calendar(), school_days=3)["reason"].to_list()
    assert reasons == [
        "justified_by_note",  # a, Thursday: covered, on time
        "unjustified",  # a, Friday: the note does not cover it
        "justified_by_note",  # b: 3 school days after Friday, the break not counted
        "unjustified_late_note",  # c: 4 school days after
        "illness",  # ns needs no note
        "late",  # nk is lateness, not an absence
    ]


def test_the_window_is_a_parameter():
    reasons = resolve(ABSENCES, NOTES, school_calendar(), school_days=4)["reason"].to_list()
    assert reasons[3] == "justified_by_note"


def test_a_school_window_must_be_whole_school_days():
    frame = read_csv("schools.csv")
    assert school_problems(frame) == []
    broken = frame.with_columns(
        note_deadline_school_days=pl.when(pl.col("school_id") == "OCP")
        .then(None)
        .otherwise(pl.col("note_deadline_school_days"))
    )
    assert school_problems(broken) == [
        "OCP: note_deadline_school_days must be a whole number of school days"
    ]
