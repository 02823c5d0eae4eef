"""Reference data assets: the committed lists in `data/reference/` that every other stage uses.

Each asset reads one file, checks that it makes sense and reports what it holds. A file that
fails a check stops the run with a message naming the file and every problem found, so that a
bad edit of the reference data never reaches the warehouse.
"""

from collections.abc import Callable, Mapping
from datetime import date, timedelta
from itertools import pairwise
from pathlib import Path

import dagster as dg
import polars as pl

from pipelines.defs.metadata import frame_metadata
from pipelines.paths import PROJECT_ROOT, REFERENCE_DIR
from pipelines.reference import read_csv
from pipelines.school_calendar import SchoolCalendar, Semester, read_calendar

GROUP = "reference"
OWNERS = ["team:education-analytics"]
GRADES = range(1, 13)
CALENDAR_FILE = REFERENCE_DIR / "calendar.toml"
ACTIVITY_UNITS = {"pupil", "group"}


def duplicates(values: list[str]) -> list[str]:
    return sorted({value for value in values if values.count(value) > 1})


def grade_range_problems(frame: pl.DataFrame, key: str) -> list[str]:
    """Rows whose `grade_min`-`grade_max` is not a range of grades within 1-12."""
    return [
        f"{row[key]}: grades {row['grade_min']}-{row['grade_max']} are not a range within 1-12"
        for row in frame.iter_rows(named=True)
        if not GRADES.start <= row["grade_min"] <= row["grade_max"] < GRADES.stop
    ]


def school_problems(frame: pl.DataFrame) -> list[str]:
    problems = [f"duplicate school_id {i}" for i in duplicates(frame["school_id"].to_list())]
    problems += grade_range_problems(frame, "school_id")
    starts = dict(zip(frame["school_id"], frame["valid_from"], strict=True))
    for row in frame.iter_rows(named=True):
        school_id, valid_to, successor = row["school_id"], row["valid_to"], row["successor_id"]
        if valid_to is not None and valid_to < row["valid_from"]:
            problems.append(f"{school_id}: valid_to {valid_to} is before valid_from")
        if successor is None:
            continue
        if successor not in starts:
            problems.append(f"{school_id}: successor {successor} is not a listed school")
        elif valid_to is None or starts[successor] != valid_to + timedelta(days=1):
            problems.append(
                f"{school_id}: successor {successor} must start the day after {school_id} closes"
            )
    return problems


def _first_end(semester: Semester) -> date:
    """The semester's earliest end over all grades."""
    return min(semester.end_for(grade) for grade in GRADES)


def calendar_problems(calendar: SchoolCalendar) -> list[str]:
    problems = []
    for year in calendar.years:
        first, second = year.semesters
        if not (
            first.start <= _first_end(first)
            and first.last_day < second.start
            and second.start <= _first_end(second)
        ):
            problems.append(f"{year.year_id}: semesters are not in order")
        extra = [year.grade_1_extra_break] if year.grade_1_extra_break else []
        for period in [*year.breaks, *extra]:
            if not (
                period.start <= period.end and period.start in year.span and period.end in year.span
            ):
                problems.append(
                    f"{year.year_id}: break {period.start}-{period.end} is outside the year"
                )
        problems += [
            f"{year.year_id}: holiday {day} is outside the year"
            for day in sorted(year.holidays)
            if day not in year.span
        ]
    for earlier, later in pairwise(calendar.years):
        if earlier.span.end >= later.span.start:
            problems.append(f"{later.year_id} starts before {earlier.year_id} ends")
    return problems


def lesson_load_problems(frame: pl.DataFrame) -> list[str]:
    problems = []
    grades = frame["grade"].to_list()
    if sorted(grades) != list(GRADES):
        problems.append(f"grades {grades} are not 1-12, each once")
    problems += [
        f"grade {grade}: {lessons} lessons per week is not a positive number"
        for grade, lessons in frame.iter_rows()
        if lessons is None or lessons <= 0
    ]
    return problems


def subject_problems(frame: pl.DataFrame) -> list[str]:
    problems = [f"duplicate subject {s}" for s in duplicates(frame["subject"].to_list())]
    problems += grade_range_problems(frame, "subject")
    problems += [
        f"grade {grade} has no subject"
        for grade in GRADES
        if frame.filter((pl.col("grade_min") <= grade) & (pl.col("grade_max") >= grade)).is_empty()
    ]
    return problems


def activity_problems(frame: pl.DataFrame, semester_ids: set[str]) -> list[str]:
    problems = grade_range_problems(frame, "activity")
    for row in frame.iter_rows(named=True):
        if row["unit"] not in ACTIVITY_UNITS:
            problems.append(f"{row['activity']}: unit {row['unit']} is not pupil or group")
        if row["from_semester"] not in semester_ids:
            problems.append(
                f"{row['activity']}: from_semester {row['from_semester']} is not in the calendar"
            )
    return problems


def social_status_problems(frame: pl.DataFrame) -> list[str]:
    problems = [f"duplicate status {s}" for s in duplicates(frame["status"].drop_nulls().to_list())]
    if frame["status"].null_count() or frame["status_en"].null_count():
        problems.append("a status or its English name is empty")
    return problems


def semester_frame(calendar: SchoolCalendar) -> pl.DataFrame:
    """One row per semester, with the number of school days of a grade-5 pupil."""
    return pl.DataFrame(
        [
            {
                "semester_id": s.semester_id,
                "school_year": s.school_year,
                "start": s.start,
                "end": s.end,
                "last_day": s.last_day,
                "projected": s.projected,
                "school_days_grade_5": len(calendar.school_days(s.start, s.end_for(5), 5)),
            }
            for s in calendar.semesters
        ]
    )


def raise_problems(path: Path, problems: list[str]) -> None:
    if problems:
        raise dg.Failure(
            description=f"{path.relative_to(PROJECT_ROOT)} is invalid: " + "; ".join(problems)
        )


def report(
    frame: pl.DataFrame, path: Path, extra: Mapping[str, dg.MetadataValue] | None = None
) -> dg.MaterializeResult:
    source = {"source": dg.MetadataValue.path(str(path.relative_to(PROJECT_ROOT)))}
    return dg.MaterializeResult(metadata={**frame_metadata(frame), **source, **(extra or {})})


def checked_csv(name: str, check: Callable[[pl.DataFrame], list[str]]) -> dg.MaterializeResult:
    """Read a reference CSV, stop the run naming the file if the check finds problems, and
    report what the file holds."""
    path = REFERENCE_DIR / name
    frame = read_csv(name)
    try:
        problems = check(frame)
    except pl.exceptions.ColumnNotFoundError as error:
        problems = [f"a column is missing ({error})"]
    raise_problems(path, problems)
    return report(frame, path)


@dg.asset(group_name=GROUP, owners=OWNERS, kinds={"csv"})
def schools() -> dg.MaterializeResult:
    """The municipality's general-education schools: code, name, grades taught, estimated
    pupils per grade band and the dates the school exists. A school closed by a merger names
    its successor, which starts the next day, so trends can follow the pupils."""
    return checked_csv("schools.csv", school_problems)


@dg.asset(group_name=GROUP, owners=OWNERS, kinds={"toml"})
def school_calendar() -> dg.MaterializeResult:
    """The school years 2025/26-2028/29: semesters (with the later end for exam grades 9 and
    12), breaks and public holidays. It decides which days have lessons. Years after 2025/26
    are projected from the 2025/26 pattern until the official dates are published."""
    calendar = read_calendar(CALENDAR_FILE)
    raise_problems(CALENDAR_FILE, calendar_problems(calendar))
    version = {"version": dg.MetadataValue.text(calendar.version)}
    return report(semester_frame(calendar), CALENDAR_FILE, version)


@dg.asset(group_name=GROUP, owners=OWNERS, kinds={"csv"})
def lesson_load() -> dg.MaterializeResult:
    """Weekly lessons per grade (about 22 in grade 1 to 36 in secondary school): the
    denominator of attendance rates when a school sends no timetable of its own."""
    return checked_csv("lesson_load.csv", lesson_load_problems)


@dg.asset(group_name=GROUP, owners=OWNERS, kinds={"csv"})
def subjects() -> dg.MaterializeResult:
    """School subjects with the grades that learn them; Latvian and mathematics are marked
    as the core literacy and numeracy subjects."""
    return checked_csv("subjects.csv", subject_problems)


@dg.asset(group_name=GROUP, owners=OWNERS, kinds={"csv"}, deps=[school_calendar])
def activities() -> dg.MaterializeResult:
    """The support activities of the ESF+ project 'Skola - kopienā' (LAS, R9, KONS, MENT for
    individual pupils; INIC, PART, PAS for groups), with their target grades, minimum age and
    the semester each starts."""
    semester_ids = {s.semester_id for s in read_calendar(CALENDAR_FILE).semesters}
    return checked_csv("activities.csv", lambda frame: activity_problems(frame, semester_ids))


@dg.asset(group_name=GROUP, owners=OWNERS, kinds={"csv"})
def social_statuses() -> dg.MaterializeResult:
    """The social statuses the social service reports (needy or low-income family,
    out-of-family care, followed by the social service), in Latvian as delivered and English."""
    return checked_csv("social_status.csv", social_status_problems)
