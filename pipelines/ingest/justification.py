"""Whether an absence was justified: marks, and for `n` the notes register (dialect E).

A note justifies the `n` lessons on the school days from `No` to `Līdz` if it was handed in
no later than a number of school days after `Līdz`: the school's `note_deadline_school_days`
in `data/reference/schools.csv` (Cabinet Regulation No. 89 leaves it to the school; 3 by the
contract).
"""

from datetime import date
from functools import cache

import polars as pl

from pipelines.reference.calendar import SchoolCalendar

# Delivered marks, both dialects, to one code: `n` is decided by the notes register;
# dialect M (Mykoob) resolves justification itself.
MARK_CODES = {
    "n": "n",
    "ns": "ns",
    "nc": "nc",
    "nk": "nk",
    "slimība": "ns",
    "cits attaisnots": "nc",
    "neattaisnots": "unjustified",
    "nokavēšanās": "nk",
}
MARK_REASON = {"ns": "illness", "nc": "other_justified", "nk": "late", "unjustified": "unjustified"}


@cache
def _deadline(calendar: SchoolCalendar, day: date, school_days: int) -> date:
    """The last day a note ending on `day` counts on time (once per day in a process: every
    school's notes of the history ask for the same days)."""
    return calendar.add_school_days(day, school_days, grade=5)


def note_deadlines(notes: pl.DataFrame, calendar: SchoolCalendar, school_days: int) -> pl.DataFrame:
    """Notes (`pupil`, `from`, `to`, `submitted`) with the last day they count on time."""
    deadlines: dict[date, date] = {
        day: _deadline(calendar, day, school_days) for day in notes["to"].unique()
    }
    return notes.with_columns(deadline=pl.col("to").replace_strict(deadlines, return_dtype=pl.Date))


def resolve(
    absences: pl.DataFrame,
    notes: pl.DataFrame,
    calendar: SchoolCalendar,
    school_days: int,
) -> pl.DataFrame:
    """Absences (`pupil`, `date`, `mark`) with `reason`: illness, other_justified, late,
    justified_by_note, unjustified or unjustified_late_note, for a school whose notes count
    when handed in within `school_days` school days."""
    timed = note_deadlines(notes, calendar, school_days)
    marked_n = absences.with_row_index("_absence").filter(pl.col("mark") == "n")
    covering = (
        marked_n.select("_absence", "pupil", "date")
        .join(timed, on="pupil")
        .filter(pl.col("date").is_between(pl.col("from"), pl.col("to")))
        .group_by("_absence")
        .agg(on_time=(pl.col("submitted") <= pl.col("deadline")).any())
    )
    return (
        absences.with_row_index("_absence")
        .join(covering, on="_absence", how="left")
        .with_columns(
            reason=pl.when(pl.col("mark") != "n")
            .then(pl.col("mark").replace_strict(MARK_REASON, default=None))
            .when(pl.col("on_time"))
            .then(pl.lit("justified_by_note"))
            .when(pl.col("on_time").not_())
            .then(pl.lit("unjustified_late_note"))
            .otherwise(pl.lit("unjustified"))
        )
        .drop("_absence", "on_time")
    )
