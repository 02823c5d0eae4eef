from datetime import date
from itertools import pairwise

import polars as pl
import pytest

from pipelines.reference.calendar import SchoolCalendar, calendar_table, school_calendar

GRADES = range(1, 13)


@pytest.fixture(scope="module")
def calendar() -> SchoolCalendar:
    return school_calendar()


def semester_days(calendar: SchoolCalendar, semester_id: str, grade: int) -> int:
    semester = calendar.semester(semester_id)
    return len(calendar.school_days(semester.start, semester.end_for(grade), grade))


def test_first_semester_2025_has_74_school_days_for_grade_5(calendar: SchoolCalendar) -> None:
    # 01.09.2025 (Mon) to 19.12.2025 (Fri): 16 weeks = 80 weekdays,
    # minus the autumn break 20-24.10 (5) and the holiday on 18.11 (1).
    assert len(calendar.school_days(date(2025, 9, 1), date(2025, 12, 19), 5)) == 74
    assert semester_days(calendar, "2025/26-S1", 5) == 74


def test_exam_grades_have_more_second_semester_days(calendar: SchoolCalendar) -> None:
    # 05.01-29.05.2026: 21 weeks = 105 weekdays, minus the spring break (5) and
    # 03.04, 06.04, 01.05, 04.05 (4) = 96. Grade 9 runs two weeks longer, grade 12 three.
    assert semester_days(calendar, "2025/26-S2", 5) == 96
    assert semester_days(calendar, "2025/26-S2", 9) == 106
    assert semester_days(calendar, "2025/26-S2", 12) == 111


def test_grade_1_has_an_extra_february_break(calendar: SchoolCalendar) -> None:
    assert semester_days(calendar, "2025/26-S2", 1) == semester_days(calendar, "2025/26-S2", 5) - 5
    assert not calendar.is_school_day(date(2026, 2, 17), 1)
    assert calendar.is_school_day(date(2026, 2, 17), 2)


def test_no_school_day_on_a_weekend_break_or_holiday(calendar: SchoolCalendar) -> None:
    for year in calendar.years:
        days_off = set(year.holidays)
        for period in year.breaks:
            days_off.update(period.days())
        for grade in GRADES:
            school_days = calendar.school_days(year.span.start, year.span.end, grade)
            assert len(school_days) > 150, (year.year_id, grade)
            assert all(day.weekday() < 5 for day in school_days)
            assert not days_off.intersection(school_days), (year.year_id, grade)
        extra = year.grade_1_extra_break
        assert extra is not None
        assert not set(extra.days()).intersection(
            calendar.school_days(year.span.start, year.span.end, 1)
        )


def test_only_2025_26_is_published(calendar: SchoolCalendar) -> None:
    projected = {year.year_id: year.projected for year in calendar.years}
    assert projected == {"2025/26": False, "2026/27": True, "2027/28": True, "2028/29": True}
    assert all(s.projected == projected[s.school_year] for s in calendar.semesters)


def test_semesters_lie_in_their_year_and_do_not_overlap(calendar: SchoolCalendar) -> None:
    for year in calendar.years:
        for semester in year.semesters:
            assert semester.school_year == year.year_id
            assert year.span.start <= semester.start <= semester.last_day <= year.span.end
    semesters = calendar.semesters
    for earlier, later in pairwise(semesters):
        assert earlier.last_day < later.start


def test_add_school_days_skips_weekends_breaks_and_holidays(calendar: SchoolCalendar) -> None:
    # Friday 17.10.2025 -> autumn break 20-24.10 -> Monday 27.10.2025.
    assert calendar.add_school_days(date(2025, 10, 17), 1, 5) == date(2025, 10, 27)
    assert calendar.add_school_days(date(2025, 9, 5), 1, 5) == date(2025, 9, 8)
    # 18.11 is a holiday.
    assert calendar.add_school_days(date(2025, 11, 17), 1, 5) == date(2025, 11, 19)
    assert calendar.add_school_days(date(2025, 10, 15), 3, 5) == date(2025, 10, 27)


def test_reporting_periods_run_through_2028_29(calendar: SchoolCalendar) -> None:
    assert [s.semester_id for s in calendar.semesters] == [
        f"{year}-S{number}"
        for year in ("2025/26", "2026/27", "2027/28", "2028/29")
        for number in (1, 2)
    ]


def test_the_calendar_table_says_what_the_calendar_says_for_every_day_and_grade(
    calendar: SchoolCalendar,
) -> None:
    table = calendar_table(calendar)
    assert table.height == 12 * table["day"].n_unique()
    for row in table.iter_rows(named=True):
        day, grade = row["day"], row["grade"]
        semester = calendar.semester(row["semester_id"])
        assert row["is_school_day"] == calendar.is_school_day(day, grade), row
        assert row["in_semester"] == (day in semester.span(grade)), row
        year = next(y for y in calendar.years if semester in y.semesters)
        assert row["is_holiday"] == (day in year.holidays), row
    extra = table.filter(pl.col("break_name") == "1. klases papildu brīvdienas")
    assert set(extra["grade"]) == {1} and extra.height == 5 * len(calendar.years)
