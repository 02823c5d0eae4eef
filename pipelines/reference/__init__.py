"""The reference data: schools, the school calendar, lesson load, subjects, activities, social
statuses and the versioned indicator rules, with the checks that guard them.
"""

from pipelines.reference.calendar import (
    TIMEZONE,
    SchoolCalendar,
    SchoolYear,
    Semester,
    calendar_table,
    read_calendar,
    riga_time,
    riga_time_column,
    school_calendar,
    semester_table,
)
from pipelines.reference.checks import (
    activity_problems,
    calendar_problems,
    lesson_load_problems,
    rule_problems,
    school_problems,
    semester_frame,
    social_status_problems,
    subject_problems,
)
from pipelines.reference.rules import (
    RULES_FILE,
    parameter_table,
    project_period,
    promotion_band_table,
    retention_years,
    rule_table,
    rules,
)
from pipelines.reference.tables import School, read_csv

__all__ = [
    "RULES_FILE",
    "TIMEZONE",
    "School",
    "SchoolCalendar",
    "SchoolYear",
    "Semester",
    "activity_problems",
    "calendar_problems",
    "calendar_table",
    "lesson_load_problems",
    "parameter_table",
    "project_period",
    "promotion_band_table",
    "read_calendar",
    "read_csv",
    "retention_years",
    "riga_time",
    "riga_time_column",
    "rule_problems",
    "rule_table",
    "rules",
    "school_calendar",
    "school_problems",
    "semester_frame",
    "semester_table",
    "social_status_problems",
    "subject_problems",
]
