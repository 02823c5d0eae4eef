"""The quality gate before anything is published: a Great Expectations suite per table.

Great Expectations 1.x has no Polars engine, so each published table is checked as a pandas
copy, with a few columns derived here first (margin differences, small counts shown, values
where none may be). The suites run in an in-memory context; each run writes the quality report,
`data/quality/report.html` (`pipelines.publication.quality_report`), one page that opens
offline. `great_expectations` takes seconds to import: it is imported only when the gate runs
(`pipelines.publication.publish.gate` runs it only for content it has not gated before), in
a worker process started ahead of time (`pipelines.publication.gate_worker`).
"""

from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

import polars as pl

from pipelines.publication.protection import margin_relations
from pipelines.publication.quality_report import ExpectationOutcome, GateRun, write_report
from pipelines.publication.tables import (
    CELL_KEY,
    INDICATOR_MEASURES,
    NOT_YET_DUE,
    PROTECTED_COUNTS,
    SUPPORT_MEASURES,
    WEEKLY_MEASURES,
)
from pipelines.reference import tables as reference
from pipelines.reference.calendar import calendar_table, school_calendar

BOUNDED_RATES = ("attendance_rate", "support_coverage", "absence_rate", "illness_rate")
COUNTS = {m.name for m in INDICATOR_MEASURES if not m.is_rate} | set(PROTECTED_COUNTS)


@dataclass(frozen=True)
class GateResult:
    table: str
    success: bool
    failures: list[str]


def margin_differences(table: str, frame: pl.DataFrame) -> dict:
    """For every margin whose cells are all published: total − sum of parts, by the total's
    semester, measure, school and dimension."""
    cells = {
        (table, r["semester_id"], r["measure"], r["school_id"], r["dimension"]): r
        for r in frame.filter(pl.col("measure").is_in(list(COUNTS))).iter_rows(named=True)
    }
    values = {
        cell: r["value"]
        for cell, r in cells.items()
        if not r["suppressed"] and r["value"] is not None
    }
    relations = margin_relations(cells)
    return {
        r.terms[0][0][1:]: -sum(c * values[k] for k, c in r.terms)
        for r in relations
        if all(k in values for k in r.cells)
    }


def checked_frame(table: str, frame: pl.DataFrame, threshold: int) -> pl.DataFrame:
    """The table with the columns the suite reads: `margin_difference` on totals (0 when the
    published parts add up), `small_count_shown` (a count between 1 and the threshold not
    suppressed), and `suppressed_value` and `future_value` (values where none may be)."""
    differences = margin_differences(table, frame)
    difference_frame = pl.DataFrame(
        [
            {"semester_id": k[0], "measure": k[1], "school_id": k[2], "dimension": k[3],
             "margin_difference": v}
            for k, v in differences.items()
        ],
        schema={"semester_id": pl.String, "measure": pl.String, "school_id": pl.String,
                "dimension": pl.String, "margin_difference": pl.Float64},
    )  # fmt: skip
    counted = pl.col("measure").is_in(list(COUNTS))
    return frame.join(difference_frame, on=list(CELL_KEY), how="left").with_columns(
        small_count_shown=counted
        & ~pl.col("suppressed")
        & pl.col("value").is_between(1, threshold - 1, closed="both").fill_null(False),
        bounded_rate=pl.when(pl.col("measure").is_in(BOUNDED_RATES)).then(pl.col("value")),
        suppressed_value=pl.when(pl.col("suppressed")).then(pl.col("value")),
        future_value=pl.when(pl.col("status") == NOT_YET_DUE).then(pl.col("value")),
    )


def expectations(semesters: list[str], rows: int, threshold: int) -> list:
    """The suite of one published table: grid, ranges, margins, suppression, periods, each
    described in Latvian and English for the quality report."""
    import great_expectations.expectations as gxe

    return [
        gxe.ExpectTableRowCountToEqual(
            value=rows,
            description="Pilns režģis no references datiem / the full grid from the reference data",
        ),
        gxe.ExpectCompoundColumnsToBeUnique(
            column_list=list(CELL_KEY),
            description="Katra šūna ir vienu reizi / every cell once",
        ),
        gxe.ExpectColumnDistinctValuesToEqualSet(
            column="semester_id",
            value_set=semesters,
            description="Ir visi semestri un tikai tie / every semester, and no other",
        ),
        gxe.ExpectColumnValuesToNotBeNull(
            column="status", description="Katrai šūnai ir statuss / every cell has a status"
        ),
        gxe.ExpectColumnValuesToBeBetween(
            column="value", min_value=0, description="Nav negatīvu vērtību / no negative value"
        ),
        gxe.ExpectColumnValuesToBeBetween(
            column="bounded_rate",
            min_value=0,
            max_value=1,
            description="Īpatsvari ir no 0 līdz 1 / rates lie between 0 and 1",
        ),
        gxe.ExpectColumnValuesToBeBetween(
            column="margin_difference",
            min_value=0,
            max_value=0,
            description="Kopsumma ir vienāda ar publicēto daļu summu / a total equals the sum "
            "of its published parts",
        ),
        gxe.ExpectColumnValuesToBeInSet(
            column="small_count_shown",
            value_set=[False],
            description=f"Neviens skaits no 1 līdz {threshold - 1} nav parādīts / no count "
            f"from 1 to {threshold - 1} is shown",
        ),
        gxe.ExpectColumnValuesToBeNull(
            column="suppressed_value",
            description="Slēptai šūnai nav vērtības / no value in a suppressed cell",
        ),
        gxe.ExpectColumnValuesToBeNull(
            column="future_value",
            description="Vēl nepienākušam periodam nav vērtības / no value in a not-yet-due cell",
        ),
    ]


def expected_rows(table: str, semesters: list[str]) -> int:
    """The full grid from the reference data: every semester × reporting school (and the
    municipality) × grade band (and `all`), activity or week × the measures that apply."""
    schools = 1 + sum(s.successor_id is None for s in reference.schools())
    if table == "weekly_absence":
        return school_weeks() * schools * len(WEEKLY_MEASURES)
    if table == "school_indicators":
        by_band = sum(m.by_band for m in INDICATOR_MEASURES)
        per_school = len(reference.GRADE_BANDS) * by_band + len(INDICATOR_MEASURES)
        return len(semesters) * schools * per_school
    units = reference.activities().unique("activity")["unit"].to_list()
    per_activity = sum(sum(m.unit == unit for m in SUPPORT_MEASURES) for unit in units)
    return len(semesters) * (schools if table == "school_support" else 1) * per_activity


def warm_up() -> None:
    """What the gate needs before any table, done ahead of it: Great Expectations imported
    (the seconds of it) and the weeks of the school calendar."""
    import great_expectations.expectations  # noqa: F401

    school_weeks()


@cache
def school_weeks() -> int:
    """The weeks of the school calendar (built in Python, about half a second)."""
    return calendar_table(school_calendar())["day"].dt.truncate("1w").n_unique()


# Up to 20 rows that broke an expectation, each named by its cell key.
RESULT_FORMAT = {
    "result_format": "SUMMARY",
    "partial_unexpected_count": 20,
    "unexpected_index_column_names": list(CELL_KEY),
}


def raised(info: dict) -> str | None:
    """The message of the exception an expectation raised instead of a result, if any
    (Great Expectations keeps one, or one per metric it computed)."""
    infos = (
        [info] if "raised_exception" in info else [i for i in info.values() if isinstance(i, dict)]
    )
    messages = [str(i.get("exception_message")) for i in infos if i.get("raised_exception")]
    return "; ".join(messages) or None


def outcome(result) -> ExpectationOutcome:
    """What the quality report shows of one Great Expectations `ExpectationValidationResult`."""
    config = result.expectation_config
    found = result.result or {}
    # Rows named by their cell key (RESULT_FORMAT), else the values alone (not row numbers).
    named = [r for r in found.get("partial_unexpected_index_list") or [] if isinstance(r, dict)]
    examples = named or [
        v if isinstance(v, dict) else {"value": v} for v in found.get("partial_unexpected_list", [])
    ]
    return ExpectationOutcome(
        description=config.description or config.type,
        expectation=config.type,
        arguments={k: v for k, v in config.kwargs.items() if k != "batch_id"},
        success=bool(result.success),
        observed=found.get("observed_value"),
        checked=found.get("element_count"),
        unexpected=found.get("unexpected_count"),
        examples=examples,
        missing=found.get("partial_missing_list", []),
        error=raised(result.exception_info or {}),
    )


def failure(found: ExpectationOutcome) -> str:
    """One line of a failed expectation: its type, column, and what broke it."""
    column = found.arguments.get("column", "")
    what = found.error or (found.unexpected if found.unexpected is not None else found.observed)
    return f"{found.expectation}({column}): {what}"


def run_gate(
    tables: dict[str, pl.DataFrame],
    semesters: list[str],
    threshold: int,
    quality_dir: Path,
    content_digest: str,
) -> list[GateResult]:
    """Validate every table in an in-memory Great Expectations context (it keeps nothing on
    disk) and write the run's quality report to `quality_dir`."""
    import great_expectations as gx

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = {"globally": False}
    source = context.data_sources.add_pandas("published")
    outcomes = {}
    for table, frame in tables.items():
        batches = source.add_dataframe_asset(name=table).add_batch_definition_whole_dataframe(
            "whole"
        )
        batch = batches.get_batch(
            batch_parameters={"dataframe": checked_frame(table, frame, threshold).to_pandas()}
        )
        suite = gx.ExpectationSuite(
            name=table,
            expectations=expectations(semesters, expected_rows(table, semesters), threshold),
        )
        validation = batch.validate(suite, result_format=RESULT_FORMAT)
        outcomes[table] = [outcome(r) for r in validation.results]
    run = GateRun(content_digest, datetime.now(UTC), semesters, threshold, outcomes)
    write_report(run, quality_dir)
    return [
        GateResult(
            table, all(o.success for o in found), [failure(o) for o in found if not o.success]
        )
        for table, found in outcomes.items()
    ]
