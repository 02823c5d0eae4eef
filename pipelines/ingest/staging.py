"""Staging on disk: `data/staging/<table>/<partition>/data.parquet`, written atomically."""

import os
from pathlib import Path

import polars as pl

PARQUET_NAME = "data.parquet"
_SOURCE = {"delivery_sha": pl.String, "source_row": pl.Int64}
_SCHOOL_SOURCE = {"school_id": pl.String, **_SOURCE}
# The columns ingest writes and the warehouse reads, per staging table.
STAGING_SCHEMAS: dict[str, dict[str, pl.DataType]] = {
    "pupils": {
        **_SCHOOL_SOURCE,
        "period_start": pl.Date,
        "period_end": pl.Date,
        "pupil_key": pl.String,
        "sex": pl.String,
        "birth_year": pl.Int32,
        "birth_month": pl.Int8,
        "class_label": pl.String,
        "grade": pl.Int64,
        "special_needs_programme": pl.Boolean,
        "admitted": pl.Date,
        "left": pl.Date,
        "leave_reason": pl.String,
        "repeating": pl.Boolean,
    },
    "absences": {
        **_SCHOOL_SOURCE,
        "pupil_key": pl.String,
        "class_label": pl.String,
        "grade": pl.Int64,
        "date": pl.Date,
        "lesson": pl.Int64,
        "subject": pl.String,
        "mark": pl.String,
        "reason": pl.String,
    },
    "notes": {
        **_SCHOOL_SOURCE,
        "pupil_key": pl.String,
        "from": pl.Date,
        "to": pl.Date,
        "reason": pl.String,
        "submitted": pl.Date,
    },
    "grades": {
        **_SCHOOL_SOURCE,
        "pupil_key": pl.String,
        "class_label": pl.String,
        "grade": pl.Int64,
        "subject": pl.String,
        "date": pl.Date,
        "grade_type": pl.String,
        "value": pl.String,
        "value_kind": pl.String,
        "mark_value": pl.Int64,
        "percent": pl.Float64,
    },
    "timetable_load": {
        **_SCHOOL_SOURCE,
        "class_label": pl.String,
        "grade": pl.Int64,
        "lessons_per_week": pl.Int64,
    },
    "support": {
        **_SOURCE,
        "pupil_key": pl.String,
        "school_id": pl.String,
        "activity": pl.String,
        "start": pl.Date,
        "end": pl.Date,
        "hours": pl.Float64,
        "provider": pl.String,
        "iap": pl.Boolean,
    },
    "group_activities": {
        **_SOURCE,
        "school_id": pl.String,
        "activity": pl.String,
        "title": pl.String,
        "date": pl.Date,
        "pupils": pl.Int64,
        "parents": pl.Int64,
        "teachers": pl.Int64,
    },
    "social_status": {
        **_SOURCE,
        "pupil_key": pl.String,
        "status": pl.String,
        "start": pl.Date,
        "end": pl.Date,
    },
}


def staging_file(staging: Path, table: str, partition: str) -> Path:
    return staging / table / partition / PARQUET_NAME


def write_table(frame: pl.DataFrame, path: Path) -> None:
    """Replace a Parquet file in one step: readers see the old file or the new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".part")
    frame.write_parquet(temporary, statistics=True)
    os.replace(temporary, path)


def read_table(
    staging: Path, table: str, partitions: list[str] | None = None
) -> pl.DataFrame | None:
    """One staging table over the given partitions (all when None); None if nothing is there."""
    files = sorted((staging / table).glob(f"*/{PARQUET_NAME}"))
    if partitions is not None:
        files = [f for f in files if f.parent.name in partitions]
    if not files:
        return None
    return pl.concat([pl.read_parquet(f) for f in files], how="diagonal_relaxed")
