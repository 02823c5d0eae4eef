import copy
from datetime import date

import dagster as dg
import polars as pl
import pytest

from pipelines.definitions import defs
from pipelines.defs.jobs import reference_job
from pipelines.defs.reference import raise_problems
from pipelines.paths import REFERENCE_DIR
from pipelines.reference import tables as reference
from pipelines.reference.calendar import school_calendar
from pipelines.reference.checks import (
    calendar_problems,
    lesson_load_problems,
    rule_problems,
    school_problems,
    semester_frame,
    target_problems,
)
from pipelines.reference.rules import project_period, rules

ACTIVITIES = {"LAS", "R9", "KONS", "MENT", "INIC", "PART", "PAS"}


def test_19_schools_18_of_them_open_in_2025_26() -> None:
    schools = reference.schools()
    assert len(schools) == 19
    open_2025 = {s.school_id for s in schools if s.valid_on(date(2025, 9, 1))}
    assert len(open_2025) == 18
    assert "MRV" not in open_2025


def test_pupils_per_grade_band_add_up_to_the_published_enrolment() -> None:
    totals = {
        band: sum(s.pupils_by_band[band] for s in reference.schools())
        for band in reference.GRADE_BANDS
    }
    assert totals == {"1-3": 2236, "4-6": 2146, "7-9": 1899, "10-12": 986}


def test_madliena_merger() -> None:
    for school_id in ("MAV", "KPP", "TAP"):
        school = reference.school(school_id)
        assert school.valid_to == date(2026, 6, 30)
        assert school.successor_id == "MRV"
    successor = reference.school("MRV")
    assert successor.valid_from == date(2026, 7, 1)
    assert successor.valid_to is None


def test_lesson_load_rises_from_22_to_36() -> None:
    load = reference.lesson_load()
    assert sorted(load) == list(range(1, 13))
    assert load[1] == 22
    assert [load[grade] for grade in (10, 11, 12)] == [36, 36, 36]
    assert all(load[grade] <= load[grade + 1] for grade in range(1, 12))


def test_every_project_activity_is_listed() -> None:
    assert set(reference.activities()["activity"]) == ACTIVITIES


def test_committed_reference_data_has_no_problems() -> None:
    assert school_problems(reference.read_csv("schools.csv")) == []
    assert calendar_problems(school_calendar()) == []
    assert lesson_load_problems(reference.read_csv("lesson_load.csv")) == []


def test_every_activity_has_its_targets_and_a_bad_edit_is_named() -> None:
    targets, activities, due = (
        reference.project_targets(),
        reference.activities(),
        date(2029, 8, 31),
    )
    assert project_period()[1] == due
    assert target_problems(targets, activities, due) == []
    assert set(targets["activity"]) == ACTIVITIES
    edited = pl.concat(
        [
            targets.filter(pl.col("activity") != "MENT"),
            targets.filter(pl.col("activity") == "INIC"),
            pl.DataFrame(
                {"activity": ["LAS"], "measure": ["events"], "target": [-1], "due": [due]}
            ),
        ]
    ).with_columns(due=pl.when(pl.col("activity") == "R9").then(date(2029, 6, 30)).otherwise("due"))
    assert sorted(target_problems(edited, activities, due)) == sorted(
        [
            "INIC events: listed more than once",
            "MENT hours: no target",
            "MENT pupils_supported: no target",
            "LAS events: not a measure the activity reports",
            "LAS events: target -1 is not a positive number",
            "R9 pupils_supported: due 2029-06-30 is not the project's last day 2029-08-31",
            "R9 hours: due 2029-06-30 is not the project's last day 2029-08-31",
        ]
    )


def test_school_problems_are_named() -> None:
    frame = reference.read_csv("schools.csv")
    broken = pl.concat([frame, frame.filter(pl.col("school_id") == "OVG")]).with_columns(
        successor_id=pl.when(pl.col("school_id") == "TAP")
        .then(pl.lit("XXX"))
        .otherwise(pl.col("successor_id")),
        grade_min=pl.when(pl.col("school_id") == "TIS").then(7).otherwise(pl.col("grade_min")),
    )
    assert school_problems(broken) == [
        "duplicate school_id OVG",
        "TIS: grades 7-6 are not a range within 1-12",
        "TAP: successor XXX is not a listed school",
    ]


def test_lesson_load_must_cover_grades_1_to_12() -> None:
    frame = reference.read_csv("lesson_load.csv").filter(pl.col("grade") != 12)
    assert lesson_load_problems(frame) == [f"grades {list(range(1, 12))} are not 1-12, each once"]


def test_semester_frame_counts_grade_5_school_days() -> None:
    frame = semester_frame(school_calendar())
    assert frame.height == 8
    first = frame.row(0, named=True)
    assert first["semester_id"] == "2025/26-S1"
    assert first["school_days_grade_5"] == 74
    assert not first["projected"]


@pytest.fixture(scope="module")
def reference_run() -> dg.ExecuteInProcessResult:
    return dg.materialize(defs().assets or [], selection=reference_job.selection)


@pytest.mark.parametrize(
    ("asset", "rows"),
    [
        ("schools", 19),
        ("school_calendar", 8),
        ("lesson_load", 12),
        ("subjects", 22),
        ("activities", 8),
        ("project_targets", 11),
        ("social_statuses", 4),
    ],
)
def test_reference_assets_materialise(
    reference_run: dg.ExecuteInProcessResult, asset: str, rows: int
) -> None:
    assert reference_run.success
    (materialization,) = reference_run.asset_materializations_for_node(asset)
    assert materialization.metadata["dagster/row_count"].value == rows
    schema = materialization.metadata["dagster/column_schema"].value
    assert isinstance(schema, dg.TableSchema)
    assert schema.columns
    preview = materialization.metadata["preview"].value
    assert isinstance(preview, str)
    assert preview.startswith(f"| {schema.columns[0].name} |")


def test_a_reference_problem_stops_the_run_naming_the_file() -> None:
    with pytest.raises(dg.Failure, match=r"^data/reference/schools.csv is invalid: a; b$"):
        raise_problems(REFERENCE_DIR / "schools.csv", ["a", "b"])


def test_context_rules_carry_no_severity_and_risk_rules_do():
    """A context rule (social status, special-needs programme) adds nothing to the composite:
    severity 0, and only in the context domain."""
    assert rule_problems(rules()) == []
    context = {r["id"] for r in rules()["rule"] if r["domain"] == "context"}
    assert context == {"SOCIAL_STATUS", "SPECIAL_NEEDS_PROGRAMME"}
    config = copy.deepcopy(rules())
    for rule in config["rule"]:
        if rule["id"] == "SOCIAL_STATUS":
            rule["severity"] = 1
        if rule["id"] == "OVER_AGE":
            rule["severity"] = 0
    assert rule_problems(config) == [
        "OVER_AGE: severity must be 1 or 2",
        "SOCIAL_STATUS: severity must be 0 (context)",
    ]
