"""Staging on disk: `data/staging/<table>/<partition>/data.parquet`, written atomically."""

import os
from pathlib import Path

import polars as pl

PARQUET_NAME = "data.parquet"


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
