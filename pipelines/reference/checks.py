"""Sanity checks of the reference data: each returns the problems found, in words."""

from datetime import date, timedelta
from itertools import pairwise

import polars as pl

from pipelines.reference.calendar import SchoolCalendar, Semester, semester_table

GRADES = range(1, 13)
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
        window = row.get("note_deadline_school_days")
        if not isinstance(window, int) or window < 0:
            problems.append(
                f"{school_id}: note_deadline_school_days must be a whole number of school days"
            )
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


# What the project reports per activity: pupils and hours for individual support, events for
# group activities.
TARGET_MEASURES = {"pupil": ("pupils_supported", "hours"), "group": ("events",)}


def target_problems(targets: pl.DataFrame, activities: pl.DataFrame, due: date) -> list[str]:
    """Problems in project_targets.csv: an activity's measure without a target, listed twice or
    not one its unit reports, a target that is not a positive number, a due date other than
    the project's last day."""
    expected = {
        (activity, measure)
        for activity, unit in activities.select("activity", "unit").unique().iter_rows()
        for measure in TARGET_MEASURES.get(unit, ())
    }
    listed = [f"{a} {m}" for a, m in targets.select("activity", "measure").iter_rows()]
    problems = [f"{pair}: listed more than once" for pair in duplicates(listed)]
    problems += [f"{a} {m}: no target" for a, m in sorted(expected) if f"{a} {m}" not in listed]
    for row in targets.iter_rows(named=True):
        pair = f"{row['activity']} {row['measure']}"
        if (row["activity"], row["measure"]) not in expected:
            problems.append(f"{pair}: not a measure the activity reports")
        if not isinstance(row["target"], int | float) or row["target"] <= 0:
            problems.append(f"{pair}: target {row['target']} is not a positive number")
        if row["due"] != due:
            problems.append(f"{pair}: due {row['due']} is not the project's last day {due}")
    return problems


def social_status_problems(frame: pl.DataFrame) -> list[str]:
    problems = [f"duplicate status {s}" for s in duplicates(frame["status"].drop_nulls().to_list())]
    if frame["status"].null_count() or frame["status_en"].null_count():
        problems.append("a status or its English name is empty")
    return problems


def semester_frame(calendar: SchoolCalendar) -> pl.DataFrame:
    """One row per semester, with the number of school days of a grade-5 pupil."""
    return semester_table(calendar).with_columns(
        school_days_grade_5=pl.Series(
            [len(calendar.school_days(s.start, s.end_for(5), 5)) for s in calendar.semesters]
        )
    )


DOMAINS = ("attendance", "performance", "progression", "context")


def rule_problems(config: dict) -> list[str]:
    """Problems in models/rules.toml: rules without a known domain, severity or threshold,
    promotion bands that do not cover grades 1-12 once each, composite cut-offs out of order."""
    problems = []
    ids = [rule.get("id") for rule in config.get("rule", [])]
    problems += [
        f"rule id {i} appears more than once" for i in sorted(set(ids)) if ids.count(i) > 1
    ]
    for rule in config.get("rule", []):
        name = rule.get("id", "a rule without an id")
        if rule.get("domain") not in DOMAINS:
            problems.append(f"{name}: domain {rule.get('domain')!r} is not one of {DOMAINS}")
        context = rule.get("domain") == "context"
        if rule.get("severity") not in ((0,) if context else (1, 2)):
            problems.append(f"{name}: severity must be {'0 (context)' if context else '1 or 2'}")
        if rule.get("comparison") in ("below", "above", "at least") and "threshold" not in rule:
            problems.append(f"{name}: compares '{rule['comparison']}' but has no threshold")
        if not rule.get("version"):
            problems.append(f"{name}: no version")
    covered = [
        g
        for band in config.get("promotion_band", [])
        for g in range(band["grade_min"], band["grade_max"] + 1)
    ]
    if sorted(covered) != list(range(1, 13)):
        problems.append("promotion bands must cover grades 1-12 exactly once")
    composite = config.get("composite", {})
    if not composite.get("low", 0) < composite.get("medium", 0) < composite.get("high", 0):
        problems.append("composite cut-offs must rise: low < medium < high")
    return problems
