"""Indicators, and the publication marts, as of any day, computed on request over the
read-only warehouse: the models run in memory with that day as their as-of date."""

from datetime import date
from pathlib import Path

import duckdb
import polars as pl

from pipelines.warehouse.build import kept_parses, prepare
from pipelines.warehouse.models import Model, discover_models

AS_OF_MODELS = (
    "indicators.pupil_measures",
    "indicators.pupil_indicators",
    "indicators.pupil_risk",
)
PUBLICATION_MARTS = (
    "publication.semesters",
    "publication.school_indicators",
    "publication.school_support",
    "publication.project_to_date",
    "publication.weekly_absence",
)
# The one as-of date of an analyst's question, and the semester points publication reads.
ONE_DAY = (
    "SELECT semester_id, $day AS as_of, 'date' AS kind, last_day <= $day AS complete "
    "FROM reference.semesters WHERE start_date <= $day ORDER BY start_date DESC LIMIT 1"
)
SEMESTER_POINTS = (
    "SELECT semester_id, least(last_day, $day) AS as_of, 'semester' AS kind, "
    "last_day <= $day AS complete FROM reference.semesters WHERE start_date <= $day"
)


def indicators_as_of(
    database: Path, staging: Path, day: date, models: list[Model] | None = None
) -> dict[str, pl.DataFrame]:
    """Every rule and the composite level for every pupil enrolled on `day`, from facts dated
    on or before it: the indicator models run in memory over the warehouse (opened read-only)
    with `day` as their only as-of date. For analysts; the warehouse keeps month and semester
    ends."""
    return _in_memory(database, staging, day, ONE_DAY, AS_OF_MODELS, models)


def publication_as_of(database: Path, staging: Path, day: date) -> dict[str, pl.DataFrame]:
    """The publication marts with `day` as the data cut-off: the indicators of every semester
    begun by then, on its last day or on `day`, from facts dated on or before it. What the
    models do not date is not cut: a pupil who leaves after `day` in its semester, and the
    hours of support of that semester, count as the warehouse has them."""
    return _in_memory(database, staging, day, SEMESTER_POINTS, AS_OF_MODELS + PUBLICATION_MARTS)


def _in_memory(
    database: Path,
    staging: Path,
    day: date,
    as_of_dates: str,
    relations: tuple[str, ...],
    models: list[Model] | None = None,
) -> dict[str, pl.DataFrame]:
    """`relations` computed in memory, in order, over the warehouse opened read-only, with
    `indicators.as_of_dates` from the `as_of_dates` query for `day`."""
    models = {
        m.relation: m
        for m in (discover_models(parsed=kept_parses(database)) if models is None else models)
    }
    con = duckdb.connect()
    try:
        prepare(con, staging)
        con.execute(f"ATTACH '{database.resolve()}' AS warehouse (READ_ONLY)")
        mirrored = con.execute(
            "SELECT table_schema, table_name FROM information_schema.tables "
            "WHERE table_catalog = 'warehouse' AND table_schema <> 'staging'"
        ).fetchall()
        for schema, name in mirrored:
            if f"{schema}.{name}" in (*relations, "indicators.as_of_dates"):
                continue
            con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
            con.execute(f"CREATE VIEW {schema}.{name} AS FROM warehouse.{schema}.{name}")
        con.execute(f"CREATE TABLE indicators.as_of_dates AS {as_of_dates}", {"day": day})
        con.execute("SET VARIABLE rebuild_from = ''")
        for relation in relations:
            kind = "VIEW" if models[relation].materialized == "view" else "TABLE"
            con.execute(f"CREATE {kind} {relation} AS {models[relation].sql.strip().rstrip(';')}")
        return {relation: con.sql(f"FROM {relation}").pl() for relation in relations}
    finally:
        con.close()
