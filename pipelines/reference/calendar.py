"""The school calendar: semesters, breaks, holidays and the days with lessons, per grade.

Read from `data/reference/calendar.toml`. Years marked projected follow the published
2025/26 pattern until the real dates replace them.
"""

import re
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

import polars as pl

from pipelines.feedback import OperatorError
from pipelines.paths import REFERENCE_DIR

# The municipality's time: school days, delivery nights and the nightly schedule are Riga's.
TIMEZONE = "Europe/Riga"
# A moment as people read it, Riga time: to the minute; with seconds where two moments a
# minute apart must tell apart (the quality gate's runs).
RIGA_MINUTES = "%d.%m.%Y %H:%M"
RIGA_SECONDS = "%d.%m.%Y %H:%M:%S"
RIGA_TIME_NOTE = "Rīgas laiks / Riga time"


def riga_time(moment: datetime | str, form: str = RIGA_MINUTES) -> str:
    """An aware moment (or ISO 8601 text with its offset) in Riga local time, summer or winter
    as that day had it: `07.12.2026 14:41` (`RIGA_MINUTES`) or `07.12.2026 14:41:05`
    (`RIGA_SECONDS`)."""
    aware = datetime.fromisoformat(moment) if isinstance(moment, str) else moment
    return aware.astimezone(ZoneInfo(TIMEZONE)).strftime(form)


def riga_time_column(column: str) -> pl.Expr:
    """`riga_time` of a column of aware datetimes, to the minute."""
    return pl.col(column).dt.convert_time_zone(TIMEZONE).dt.strftime(RIGA_MINUTES)


# The grades the calendar has a row for.
GRADES = range(1, 13)

SEMESTER_ID = re.compile(r"(\d{4})\s*/\s*(\d{2})\s*[-_ ]?\s*S\s*([12])", re.IGNORECASE)


def normal_semester_id(text: str) -> str:
    """`2025/26-S1`, the one form of a semester id, from the ways an operator types it:
    ` 2025/26-s1 `, `2025/26 S1`, `2025/26s1`. Anything else is an `OperatorError` naming
    the form."""
    match = SEMESTER_ID.fullmatch(text.strip())
    if match is None:
        raise OperatorError(
            f"{text.strip()!r} is not a semester id: give it as 2025/26-S1 (the school year, "
            "then S1 or S2)"
        )
    return f"{match[1]}/{match[2]}-S{match[3]}"


@dataclass(frozen=True)
class DateRange:
    start: date
    end: date
    name: str = ""

    def __contains__(self, day: date) -> bool:
        return self.start <= day <= self.end

    def days(self) -> Iterator[date]:
        for offset in range((self.end - self.start).days + 1):
            yield self.start + timedelta(days=offset)


@dataclass(frozen=True)
class Semester:
    school_year: str
    number: int
    start: date
    end: date
    end_by_grade: dict[int, date]
    projected: bool

    @property
    def semester_id(self) -> str:
        return f"{self.school_year}-S{self.number}"

    def end_for(self, grade: int) -> date:
        return self.end_by_grade.get(grade, self.end)

    @property
    def last_day(self) -> date:
        """The latest day of the semester for any grade."""
        return max([self.end, *self.end_by_grade.values()])

    def span(self, grade: int | None = None) -> DateRange:
        return DateRange(self.start, self.last_day if grade is None else self.end_for(grade))


@dataclass(frozen=True)
class SchoolYear:
    year_id: str
    projected: bool
    semesters: tuple[Semester, Semester]
    breaks: tuple[DateRange, ...]
    grade_1_extra_break: DateRange | None
    holidays: frozenset[date]

    @property
    def span(self) -> DateRange:
        return DateRange(self.semesters[0].start, self.semesters[1].last_day)


class SchoolCalendar:
    def __init__(self, years: tuple[SchoolYear, ...], version: str):
        self.years = years
        self.version = version

    @property
    def semesters(self) -> list[Semester]:
        return [s for year in self.years for s in year.semesters]

    def semester(self, semester_id: str) -> Semester:
        return next(s for s in self.semesters if s.semester_id == semester_id)

    def year_of(self, day: date) -> SchoolYear | None:
        """The school year whose span (first to last lesson day of any grade) holds the day."""
        return next((y for y in self.years if day in y.span), None)

    def semester_of(self, day: date, grade: int | None = None) -> Semester | None:
        """The semester whose span holds the day (for the grade, when one is given)."""
        return next((s for s in self.semesters if day in s.span(grade)), None)

    def is_school_day(self, day: date, grade: int) -> bool:
        """Whether pupils of the grade have lessons on the day."""
        semester = self.semester_of(day, grade)
        if semester is None or day.weekday() >= 5:
            return False
        year = next(y for y in self.years if semester in y.semesters)
        if day in year.holidays or any(day in b for b in year.breaks):
            return False
        extra = year.grade_1_extra_break
        return not (grade == 1 and extra is not None and day in extra)

    def school_days(self, start: date, end: date, grade: int) -> list[date]:
        return [d for d in DateRange(start, end).days() if self.is_school_day(d, grade)]

    def add_school_days(self, day: date, count: int, grade: int) -> date:
        """The date `count` school days after `day` (calendar days when the calendar ends)."""
        current = day
        for _ in range(count):
            current += timedelta(days=1)
            while self.year_of(current) is not None and not self.is_school_day(current, grade):
                current += timedelta(days=1)
        return current


def calendar_table(calendar: SchoolCalendar) -> pl.DataFrame:
    """One row per day and grade from the first semester to the end of the last school year's
    summer: school year, the semester the day reports to (the latest begun), whether the day is
    inside that semester for the grade, a school day, a holiday or in a break (named).

    What depends on the day alone is worked out once per day; the twelve grades differ only in
    the semester's end (`end_by_grade`) and grade 1's extra break, which are columns."""
    semesters = calendar.semesters
    first = semesters[0].start
    last = date(semesters[-1].start.year, 8, 31)
    days = []
    for day in DateRange(first, last).days():
        semester = max((s for s in semesters if s.start <= day), key=lambda s: s.start)
        year = next(y for y in calendar.years if semester in y.semesters)
        extra = year.grade_1_extra_break
        days.append(
            {
                "day": day,
                "school_year": year.year_id,
                "semester_id": semester.semester_id,
                "end_by_grade": [semester.end_for(grade) for grade in GRADES],
                "weekday": day.weekday() < 5,
                "is_holiday": day in year.holidays,
                "break_name": next((b.name for b in year.breaks if day in b), None),
                "grade_1_extra": extra is not None and day in extra,
                "projected": year.projected,
            }
        )
    in_extra = (pl.col("grade") == 1) & pl.col("grade_1_extra")
    in_semester = pl.col("day") <= pl.col("end_for_grade")
    return (
        pl.DataFrame(days, infer_schema_length=None)
        .with_columns(grade=pl.lit(list(GRADES), pl.List(pl.Int32)))
        .explode("grade", "end_by_grade")
        .rename({"end_by_grade": "end_for_grade"})
        .select(
            "day",
            "grade",
            "school_year",
            "semester_id",
            in_semester.alias("in_semester"),
            (
                in_semester
                & pl.col("weekday")
                & ~pl.col("is_holiday")
                & pl.col("break_name").is_null()
                & ~in_extra
            ).alias("is_school_day"),
            "is_holiday",
            pl.when(in_extra)
            .then(pl.lit("1. klases papildu brīvdienas"))
            .otherwise(pl.col("break_name"))
            .alias("break_name"),
            "projected",
        )
    )


def semester_table(calendar: SchoolCalendar) -> pl.DataFrame:
    """One row per semester: id, school year, number, first day, last day (any grade), the end
    for grades without their own, whether the dates are projected, and its school year's
    first and last day."""
    return pl.DataFrame(
        [
            {
                "semester_id": s.semester_id,
                "school_year": s.school_year,
                "number": s.number,
                "start_date": s.start,
                "end_date": s.end,
                "last_day": s.last_day,
                "projected": s.projected,
            }
            for s in calendar.semesters
        ]
    ).with_columns(
        number=pl.col("number").cast(pl.Int32),
        year_start=pl.col("start_date").min().over("school_year"),
        year_end=pl.col("last_day").max().over("school_year"),
    )


def _range(table: dict) -> DateRange:
    return DateRange(table["start"], table["end"], table.get("name", ""))


def _school_year(table: dict) -> SchoolYear:
    semesters = tuple(
        Semester(
            school_year=table["id"],
            number=number,
            start=table[f"semester_{number}"]["start"],
            end=table[f"semester_{number}"]["end"],
            end_by_grade={
                int(g): d for g, d in table[f"semester_{number}"].get("end_by_grade", {}).items()
            },
            projected=table["projected"],
        )
        for number in (1, 2)
    )
    extra = table.get("grade_1_extra_break")
    return SchoolYear(
        year_id=table["id"],
        projected=table["projected"],
        semesters=(semesters[0], semesters[1]),
        breaks=tuple(_range(b) for b in table["breaks"]),
        grade_1_extra_break=_range(extra) if extra else None,
        holidays=frozenset(table["holidays"]),
    )


def read_calendar(path: Path) -> SchoolCalendar:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    return SchoolCalendar(tuple(_school_year(y) for y in data["school_year"]), data["version"])


@cache
def school_calendar() -> SchoolCalendar:
    return read_calendar(REFERENCE_DIR / "calendar.toml")
