"""The quality gate before anything is published: a Great Expectations suite per table.

Great Expectations 1.x has no Polars engine, so each published table is checked as a pandas
copy, with a few columns derived here first (margin differences, small counts shown, values
where none may be). The suites run from a file context under `data/quality/`, which also
holds the Data Docs (static HTML) for analysts. `great_expectations` takes seconds to import:
it is imported only when the gate runs (`pipelines.publication.publish.gate` runs it only for
content it has not gated before).
"""

from dataclasses import dataclass
from pathlib import Path

import polars as pl

from pipelines.publication.protection import margin_relations
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


def expectations(semesters: list[str], rows: int) -> list:
    """The suite of one published table: grid, ranges, margins, suppression, periods."""
    import great_expectations.expectations as gxe

    return [
        gxe.ExpectTableRowCountToEqual(value=rows),
        gxe.ExpectCompoundColumnsToBeUnique(column_list=list(CELL_KEY)),
        gxe.ExpectColumnDistinctValuesToEqualSet(column="semester_id", value_set=semesters),
        gxe.ExpectColumnValuesToNotBeNull(column="status"),
        gxe.ExpectColumnValuesToBeBetween(column="value", min_value=0),
        gxe.ExpectColumnValuesToBeBetween(column="bounded_rate", min_value=0, max_value=1),
        gxe.ExpectColumnValuesToBeBetween(column="margin_difference", min_value=0, max_value=0),
        gxe.ExpectColumnValuesToBeInSet(column="small_count_shown", value_set=[False]),
        gxe.ExpectColumnValuesToBeNull(column="suppressed_value"),
        gxe.ExpectColumnValuesToBeNull(column="future_value"),
    ]


def expected_rows(table: str, semesters: list[str]) -> int:
    """The full grid from the reference data: every semester × reporting school (and the
    municipality) × grade band (and `all`), activity or week × the measures that apply."""
    schools = 1 + sum(s.successor_id is None for s in reference.schools())
    if table == "weekly_absence":
        weeks = calendar_table(school_calendar())["day"].dt.truncate("1w").n_unique()
        return weeks * schools * len(WEEKLY_MEASURES)
    if table == "school_indicators":
        by_band = sum(m.by_band for m in INDICATOR_MEASURES)
        per_school = len(reference.GRADE_BANDS) * by_band + len(INDICATOR_MEASURES)
        return len(semesters) * schools * per_school
    units = reference.activities().unique("activity")["unit"].to_list()
    per_activity = sum(sum(m.unit == unit for m in SUPPORT_MEASURES) for unit in units)
    return len(semesters) * (schools if table == "school_support" else 1) * per_activity


def run_gate(
    tables: dict[str, pl.DataFrame], semesters: list[str], threshold: int, quality_dir: Path
) -> list[GateResult]:
    """Validate every table and add the results to the Data Docs under `quality_dir`, built
    once for all tables (each build compiles the site's templates again)."""
    import great_expectations as gx
    from great_expectations.data_context.types.resource_identifiers import (
        ExpectationSuiteIdentifier,
    )

    context = gx.get_context(mode="file", project_root_dir=str(quality_dir))
    context.variables.progress_bars = {"globally": False}
    source = context.data_sources.add_or_update_pandas("published")
    results, validated = [], []
    for table, frame in tables.items():
        checked = checked_frame(table, frame, threshold)
        asset = next((a for a in source.assets if a.name == table), None)
        asset = asset or source.add_dataframe_asset(name=table)
        batches = next((b for b in asset.batch_definitions if b.name == "whole"), None)
        batches = batches or asset.add_batch_definition_whole_dataframe("whole")
        suite = gx.ExpectationSuite(
            name=table, expectations=expectations(semesters, expected_rows(table, semesters))
        )
        suite = context.suites.add_or_update(suite)
        definition = context.validation_definitions.add_or_update(
            gx.ValidationDefinition(name=table, data=batches, suite=suite)
        )
        checkpoint = context.checkpoints.add_or_update(
            gx.Checkpoint(name=f"publish_{table}", validation_definitions=[definition])
        )
        outcome = checkpoint.run(batch_parameters={"dataframe": checked.to_pandas()})
        validated += [*outcome.run_results, ExpectationSuiteIdentifier(name=table)]
        failures = [
            f"{r.expectation_config.type}({r.expectation_config.kwargs.get('column', '')}): "
            f"{r.result.get('unexpected_count', r.result.get('observed_value'))}"
            for run in outcome.run_results.values()
            for r in run.results
            if not r.success
        ]
        results.append(GateResult(table, outcome.success, failures))
    context.build_data_docs(resource_identifiers=validated)
    return results


def data_docs_index(quality_dir: Path) -> Path:
    return quality_dir / "gx" / "uncommitted" / "data_docs" / "local_site" / "index.html"
