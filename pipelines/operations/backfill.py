"""Backfill of a semester from the archive: `pmp backfill --semester 2025/26-S1`.

After a fix to a reader, a validation rule or a model, an operator re-processes a whole
semester. Every delivered file is kept unchanged in the archive under its SHA-256, and the
delivery log says which file it was, when it arrived and which days it covers. A backfill:

1. puts back into landing every logged delivery that covers the semester but is no longer
   there, from the archive, with its original delivery time (the order of deliveries
   decides which snapshot wins);
2. re-ingests every partition (ingest always re-stages a partition from all its files);
3. rebuilds the warehouse's incremental tables from that semester on.

It calls the same functions as the assets. Re-publishing is `pmp publish`, a separate step.
"""

import os
import shutil
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import polars as pl

from pipelines.feedback import SILENT, OperatorError, Progress
from pipelines.ingest import contract
from pipelines.ingest.partition import stage_partitions
from pipelines.ingest.staging import read_table
from pipelines.privacy.pseudonym import PseudonymKey
from pipelines.reference import tables as reference
from pipelines.reference.calendar import normal_semester_id, school_calendar
from pipelines.warehouse.build import ModelRun, build


@dataclass(frozen=True)
class BackfillReport:
    semester_id: str
    restored: list[Path]
    files_covering: int
    partitions: int
    models: list[ModelRun]


def semester_dates(semester_id: str) -> tuple[date, date]:
    """The first and last day of a semester (its id in any form `normal_semester_id` reads);
    an unknown one is an `OperatorError` naming the known ones."""
    semesters = {s.semester_id: s for s in school_calendar().semesters}
    semester_id = normal_semester_id(semester_id)
    if semester_id not in semesters:
        raise OperatorError(
            f"unknown semester {semester_id}: the school calendar "
            f"(data/reference/calendar.toml) has {', '.join(semesters)}"
        )
    semester = semesters[semester_id]
    return semester.start, semester.last_day


def deliveries_covering(log: pl.DataFrame, semester_id: str) -> pl.DataFrame:
    """Logged deliveries whose period overlaps the semester (all snapshots and nightly files;
    rejected files too, since a fixed reader may now accept them)."""
    first, last = semester_dates(semester_id)
    return log.filter((pl.col("period_start") <= last) & (pl.col("period_end") >= first)).unique(
        "file", keep="last", maintain_order=True
    )


def restore_from_archive(deliveries: pl.DataFrame, landing: Path, archive: Path) -> list[Path]:
    """Copy back into landing each delivery missing there, with its delivery time."""
    restored = []
    for file, sha, received in deliveries.select("file", "sha256", "received_at").iter_rows():
        target = landing / file
        if target.exists():
            continue
        source = archive / sha[:2] / f"{sha}{target.suffix.lower()}"
        if not source.exists():
            raise OperatorError(
                f"{file} is in the delivery log but not in the archive {archive}: restore the "
                "archive from its backup, then run the backfill again"
            )
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_name(f".{target.name}.part")
        shutil.copyfile(source, temporary)
        os.utime(temporary, (received.timestamp(), received.timestamp()))
        temporary.replace(target)
        restored.append(target)
    return restored


def backfill(
    semester_id: str,
    landing: Path,
    archive: Path,
    staging: Path,
    database: Path,
    key: PseudonymKey,
    workers: int,
    released: frozenset[str] = frozenset(),
    progress: Progress = SILENT,
) -> BackfillReport:
    """Restore, re-ingest every partition (applying the `released` held deliveries), every
    file read again rather than taken from the ingest cache, and rebuild the warehouse from
    the semester. A semester no delivery covers is refused before anything is changed."""
    first, last = semester_dates(semester_id)
    semester_id = normal_semester_id(semester_id)
    log = read_table(staging, "delivery_log")
    if log is None:
        raise OperatorError(
            f"no delivery log under {staging}: nothing was ever ingested, so there is nothing "
            "to backfill; run the ingest first (make demo, or the Dagster ingest_job)"
        )
    covering = deliveries_covering(log, semester_id)
    if covering.is_empty():
        raise OperatorError(
            f"no delivery covers {semester_id} ({first:%d.%m.%Y}–{last:%d.%m.%Y}): nothing to "
            "backfill, nothing changed; check the semester, or wait for its deliveries"
        )
    progress.stage(f"restore {semester_id}'s {covering.height} deliveries from the archive")
    restored = restore_from_archive(covering, landing, archive)
    partitions = [s.school_id for s in reference.schools()] + [contract.MUNICIPALITY_FOLDER]
    stage_partitions(
        partitions, landing, archive, staging, key, workers, released, reuse=False,
        progress=progress,
    )  # fmt: skip
    progress.stage(f"rebuild the warehouse from {semester_id}")
    runs = build(database, staging, rebuild_from=semester_id)
    return BackfillReport(semester_id, restored, covering.height, len(partitions), runs)
