"""Indicators as of any day, computed on request over the read-only warehouse: the indicator
models run in memory with that day as their only as-of date."""

from datetime import date
from pathlib import Path

import duckdb
import polars as pl

from pipelines.warehouse.build import prepare
from pipelines.warehouse.models import Model, discover_models

AS_OF_MODELS = (
    "indicators.pupil_measures",
    "indicators.pupil_indicators",
    "indicators.pupil_risk",
)


def indicators_as_of(
    database: Path, staging: Path, day: date, models: list[Model] | None = None
) -> dict[str, pl.DataFrame]:
    """Every rule and the composite level for every pupil enrolled on `day`, from facts dated
    on or before it: the indicator models run in memory over the warehouse (opened read-only)
    with `day` as their only as-of date. For analysts; the warehouse keeps month and semester
    ends."""
    models = {m.relation: m for m in (discover_models() if models is None else models)}
    con = duckdb.connect()
    try:
        prepare(con, staging)
        con.execute(f"ATTACH '{database.resolve()}' AS warehouse (READ_ONLY)")
        mirrored = con.execute(
            "SELECT table_schema, table_name FROM information_schema.tables "
            "WHERE table_catalog = 'warehouse' AND table_schema <> 'staging'"
        ).fetchall()
        for schema, name in mirrored:
            if f"{schema}.{name}" in (*AS_OF_MODELS, "indicators.as_of_dates"):
                continue
            con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
            con.execute(f"CREATE VIEW {schema}.{name} AS FROM warehouse.{schema}.{name}")
        con.execute(
            "CREATE TABLE indicators.as_of_dates AS SELECT semester_id, ?::DATE AS as_of, "
            "'date' AS kind, last_day <= ? AS complete FROM reference.semesters "
            "WHERE start_date <= ? ORDER BY start_date DESC LIMIT 1",
            [day, day, day],
        )
        con.execute("SET VARIABLE rebuild_from = ''")
        for relation in AS_OF_MODELS:
            kind = "VIEW" if models[relation].materialized == "view" else "TABLE"
            con.execute(f"CREATE {kind} {relation} AS {models[relation].sql.strip().rstrip(';')}")
        return {relation: con.sql(f"FROM {relation}").pl() for relation in AS_OF_MODELS}
    finally:
        con.close()
