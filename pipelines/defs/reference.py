"""Reference data assets: the committed lists in `data/reference/` that every other stage uses.

Each asset reads one file, checks that it makes sense and reports what it holds. A file that
fails a check stops the run with a message naming the file and every problem found, so that a
bad edit of the reference data never reaches the warehouse.
"""

from collections.abc import Callable, Mapping
from pathlib import Path

import dagster as dg
import polars as pl

from pipelines.defs.metadata import frame_metadata
from pipelines.paths import PROJECT_ROOT, REFERENCE_DIR
from pipelines.reference.calendar import read_calendar
from pipelines.reference.checks import (
    activity_problems,
    calendar_problems,
    lesson_load_problems,
    rule_problems,
    school_problems,
    semester_frame,
    social_status_problems,
    subject_problems,
    target_problems,
)
from pipelines.reference.rules import RULES_FILE, project_period, rule_table, rules
from pipelines.reference.score import (
    SCORE_FILE,
    score_config,
    score_digest,
    score_feature_table,
    score_label,
    score_problems,
)
from pipelines.reference.tables import activities as activity_table
from pipelines.reference.tables import read_csv

GROUP = "ingest"
OWNERS = ["team:education-analytics"]
CALENDAR_FILE = REFERENCE_DIR / "calendar.toml"


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


@dg.asset(group_name=GROUP, owners=OWNERS, kinds={"csv"}, deps=[activities])
def project_targets() -> dg.MaterializeResult:
    """The project's output targets to 31.08.2029 per activity: pupils and hours of individual
    support, events of group activities (synthetic until the municipality enters the
    agreement's figures). The dashboard draws the activities against them."""
    due = project_period()[1]
    return checked_csv(
        "project_targets.csv", lambda frame: target_problems(frame, activity_table(), due)
    )


@dg.asset(group_name=GROUP, owners=OWNERS, kinds={"csv"})
def social_statuses() -> dg.MaterializeResult:
    """The social statuses the social service reports (needy or low-income family,
    out-of-family care, followed by the social service), in Latvian as delivered and English."""
    return checked_csv("social_status.csv", social_status_problems)


@dg.asset(group_name=GROUP, owners=OWNERS, kinds={"toml"})
def indicator_rules() -> dg.MaterializeResult:
    """The indicator rules in models/rules.toml: each rule's id, version, domain, severity,
    threshold and legal or professional basis, the promotion allowances per grade band, the
    composite risk cut-offs and the backtest settings. The warehouse loads them as tables."""
    config = rules()
    raise_problems(RULES_FILE, rule_problems(config))
    version = {"version": dg.MetadataValue.text(config["version"])}
    return report(rule_table(config), RULES_FILE, version)


@dg.asset(group_name=GROUP, owners=OWNERS, kinds={"toml"})
def score_model() -> dg.MaterializeResult:
    """The risk score's weights in models/score.toml (`pmp train-score` writes them): each
    input's training average, spread and weight, the intercept, and what they were fitted on.
    Every scored row names the version and the file's SHA-256."""
    config = score_config()
    raise_problems(SCORE_FILE, score_problems(config))
    label = {"model": dg.MetadataValue.text(score_label(config, score_digest()))}
    return report(score_feature_table(config), SCORE_FILE, label)
