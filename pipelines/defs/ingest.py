"""Ingest: landing files to validated, pseudonymised Parquet staging, one school at a time.

One partition per school of the reference list, plus `_municipality` for the municipality's
feeds (and for logging files dropped where no school is). Partitions run in parallel: each
writes only its own Parquet files, never the DuckDB warehouse.
"""

import json
import os
from datetime import UTC, datetime

import dagster as dg
import polars as pl

from pipelines.defs.jobs import ingest_job
from pipelines.defs.metadata import frame_metadata, markdown_table, table_schema
from pipelines.defs.policies import IO_RETRY
from pipelines.feedback import LineProgress
from pipelines.ingest import contract
from pipelines.ingest.completeness import LATE_AFTER, completeness, late_partitions
from pipelines.ingest.contract import STAGING_TABLES
from pipelines.ingest.landing import file_hashes, partition_digests, partitions_with_new_files
from pipelines.ingest.partition import stage_partitions, unapplied, unreconciled
from pipelines.ingest.staging import PARQUET_GLOB, WrongKey, read_table
from pipelines.operations.release import released_deliveries
from pipelines.paths import (
    archive_dir,
    demo_key_file,
    landing_dir,
    release_log_file,
    staging_dir,
)
from pipelines.privacy.pseudonym import MissingKey, load_key
from pipelines.reference import tables as reference

OWNERS = ["team:education-analytics"]
# Staging older than 36 hours is late in the UI. Dagster's cron policies cannot span 36 hours,
# so the policy is a plain window; the check `latest_delivery_fresh` knows the school days and
# is what alerts (a Monday morning after a Friday night delivery is stale here, not late there).
STAGING_FRESHNESS = dg.FreshnessPolicy.time_window(fail_window=LATE_AFTER)
REFERENCE_DEPS = ["schools", "school_calendar", "lesson_load", "activities", "social_statuses"]
school_partitions = dg.StaticPartitionsDefinition(
    [s.school_id for s in reference.schools()] + [contract.MUNICIPALITY_FOLDER]
)
DESCRIPTIONS = {
    "pupils": "Pupil register rows: pseudonymous key, sex, birth year and month, class, grade, "
    "special-needs programme flag, admission and leaving (with reason), repeating.",
    "absences": "Lesson absences with the reason resolved: illness, other justified, late, "
    "justified by a note, unjustified, or unjustified because the note came late.",
    "notes": "Justification notes (dialect E): who, which days, why, and when handed in.",
    "grades": "Grades with their type and the value parsed: 10-point mark, S/T/A/P level, "
    "percent, nv (no assessment) or atb (exempt).",
    "timetable_load": "Weekly lessons per class, when a school sends its timetable load.",
    "support": "Project support spells per pupil: school, activity (LAS, R9, KONS, MENT), start, "
    "end, hours, provider and whether the pupil has an individual support plan.",
    "group_activities": "Group activities (INIC, PART, PAS) with pupils, parents and teachers.",
    "social_status": "Social-service status spells per pupil.",
}
_STAGING_SPECS = tuple(
    dg.AssetSpec(
        key=["staging", table],
        description=DESCRIPTIONS[table],
        group_name="staging",
        owners=OWNERS,
        kinds={"parquet", "polars"},
        deps=REFERENCE_DEPS,
        freshness_policy=STAGING_FRESHNESS,
    )
    for table in STAGING_TABLES
)
LOG_KEY = dg.AssetKey(["ingest", "delivery_log"])
QUARANTINE_KEY = dg.AssetKey(["ingest", "quarantine"])
_INGEST_SPECS = (
    dg.AssetSpec(
        key=LOG_KEY,
        description="One row per delivered file: school, name, SHA-256, received at, kind, "
        "dialect, encoding, period, rows read/loaded/quarantined/duplicate/superseded, status "
        "(loaded, rejected, duplicate, superseded) and the reason in plain words.",
        group_name="ingest",
        owners=OWNERS,
        kinds={"parquet", "pandera"},
        deps=REFERENCE_DEPS,
    ),
    dg.AssetSpec(
        key=QUARANTINE_KEY,
        description="Rows that failed validation: file, row, column, masked value, check and "
        "reason in Latvian and English. Personal codes are masked; names never appear.",
        group_name="ingest",
        owners=OWNERS,
        kinds={"parquet", "pandera"},
        deps=REFERENCE_DEPS,
    ),
)
_CHECK_SPECS = (
    dg.AssetCheckSpec(
        "rows_reconcile",
        asset=LOG_KEY,
        blocking=True,
        description="Per file: rows read = loaded + quarantined + duplicate rows.",
    ),
    dg.AssetCheckSpec(
        "deliveries_applied",
        asset=LOG_KEY,
        description="Every delivery read was applied: none held by the drop guard (it would "
        "remove more than half of the rows in force for its school, kind and period) and none "
        "that loaded no row. A warning naming each such file and why; the rows in force stay.",
    ),
    dg.AssetCheckSpec(
        "latest_delivery_fresh",
        asset=LOG_KEY,
        description="Each school's latest delivery is at most 36 hours old, unless no school "
        "day's delivery has been due since (weekends and holidays). A warning.",
    ),
    dg.AssetCheckSpec(
        "deliveries_complete",
        asset=LOG_KEY,
        description="Every school that exists delivered in the latest delivery night. A "
        "warning naming the missing schools; when more than 20% are missing, publication holds "
        "itself until they deliver.",
    ),
    *[
        dg.AssetCheckSpec(
            "no_identifiers",
            asset=spec.key,
            blocking=True,
            description="No personal code, name or identifying column in the staging table.",
        )
        for spec in [*_STAGING_SPECS, _INGEST_SPECS[1]]
    ],
)


def _summary(frame: pl.DataFrame, by: str) -> dg.MetadataValue:
    counts = frame.group_by(by).len().sort("len", descending=True) if frame.height else frame
    return dg.MetadataValue.md(markdown_table(counts))


@dg.multi_asset(
    specs=[*_STAGING_SPECS, *_INGEST_SPECS],
    check_specs=_CHECK_SPECS,
    partitions_def=school_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    name="ingest_partition",
    description="Archive, read, validate, pseudonymise and stage the deliveries of the run's "
    "partitions (one per school, or a range in one run).",
    retry_policy=IO_RETRY,
)
def ingest_partition(context: dg.AssetExecutionContext):
    try:
        reports = stage_partitions(
            list(context.partition_keys), landing_dir(), archive_dir(), staging_dir(),
            load_key(demo_key_file()), workers=os.cpu_count() or 1,
            released=released_deliveries(release_log_file()),
            progress=LineProgress(context.log.info),
        )  # fmt: skip
    except (MissingKey, WrongKey) as refused:  # not transient: no retry can mend a key
        raise dg.Failure(str(refused), allow_retries=False) from None
    for report in reports:
        context.log.info(
            f"{report.partition}: {report.log.height} files ({report.files_read} read, the "
            f"others from the ingest cache), {report.quarantine.height} quarantined cells"
        )
    for table in STAGING_TABLES:
        files = sorted((staging_dir() / table).glob(f"*/{PARQUET_GLOB}"))
        schema = pl.DataFrame(schema=pl.read_parquet_schema(files[0])) if files else pl.DataFrame()
        rows = sum(r.rows.get(table, 0) for r in reports)
        findings = [f for r in reports for f in r.findings if f.startswith(f"staging/{table}/")]
        yield dg.MaterializeResult(
            asset_key=["staging", table],
            metadata={
                "dagster/row_count": dg.MetadataValue.int(rows),
                "dagster/column_schema": dg.MetadataValue.table_schema(table_schema(schema)),
                "partitions_staged": dg.MetadataValue.int(sum(table in r.rows for r in reports)),
            },
        )
        yield dg.AssetCheckResult(
            asset_key=["staging", table],
            check_name="no_identifiers",
            passed=not findings,
            metadata={"findings": "\n".join(findings) or "none"},
        )
    log = pl.concat([r.log for r in reports])
    quarantine = pl.concat([r.quarantine for r in reports])
    yield dg.MaterializeResult(
        asset_key=LOG_KEY,
        metadata={
            **frame_metadata(log.drop("sha256")),
            "files_by_status": _summary(log, "status"),
            "files_read": dg.MetadataValue.int(sum(r.files_read for r in reports)),
        },
    )
    yield dg.MaterializeResult(
        asset_key=QUARANTINE_KEY,
        metadata={**frame_metadata(quarantine), "rows_by_check": _summary(quarantine, "check")},
    )
    yield _reconciliation(log)
    yield _applied(log)
    logged = read_table(staging_dir(), "delivery_log")
    yield _freshness(logged)
    yield _completeness(logged)
    findings = [f for r in reports for f in r.findings if f.startswith("staging/quarantine/")]
    yield dg.AssetCheckResult(
        asset_key=QUARANTINE_KEY,
        check_name="no_identifiers",
        passed=not findings,
        metadata={"findings": "\n".join(findings) or "none"},
    )


def _reconciliation(log: pl.DataFrame) -> dg.AssetCheckResult:
    off = unreconciled(log)
    return dg.AssetCheckResult(
        asset_key=LOG_KEY,
        check_name="rows_reconcile",
        passed=off.height == 0,
        metadata={
            "files": log.height,
            "rows_read": int(log["rows_read"].sum()),
            "files_not_reconciling": dg.MetadataValue.md(
                markdown_table(
                    off.select(
                        "file", "rows_read", "rows_loaded", "rows_quarantined", "rows_duplicate"
                    )
                )
            ),
        },
    )


def _applied(log: pl.DataFrame) -> dg.AssetCheckResult:
    """Held deliveries and deliveries that loaded nothing, by file and reason."""
    held = unapplied(log)
    return dg.AssetCheckResult(
        asset_key=LOG_KEY,
        check_name="deliveries_applied",
        passed=held.is_empty(),
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "files": dg.MetadataValue.md(
                markdown_table(held.select("file", "status", "sha256", "reason"))
            ),
        },
    )


def _freshness(log: pl.DataFrame) -> dg.AssetCheckResult:
    """Each school's latest delivery, and whether it is late (36 hours with a school day's
    delivery due since)."""
    now = datetime.now(UTC)
    existing = [s.school_id for s in reference.schools() if s.valid_on(now.date())]
    latest = late_partitions(log, existing, now)
    late = latest.filter(pl.col("late"))
    return dg.AssetCheckResult(
        asset_key=LOG_KEY,
        check_name="latest_delivery_fresh",
        passed=late.is_empty(),
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "late_partitions": late.height,
            "latest_by_partition": dg.MetadataValue.md(markdown_table(latest)),
        },
    )


def _completeness(log: pl.DataFrame) -> dg.AssetCheckResult:
    """Which schools delivered in the latest night (a warning; publication holds itself)."""
    found = completeness(log, reference.schools())
    return dg.AssetCheckResult(
        asset_key=LOG_KEY,
        check_name="deliveries_complete",
        passed=not found.missing,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "night": found.night.isoformat() if found.night else "none",
            "missing_schools": ", ".join(found.missing) or "none",
            "missing_share": round(found.missing_share, 3),
            "publication_held": found.held,
            "summary": found.summary(),
        },
    )


@dg.sensor(
    job=ingest_job, minimum_interval_seconds=60, default_status=dg.DefaultSensorStatus.RUNNING
)
def landing_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult:
    """Request an ingest run for each partition whose landing content changed.

    The cursor keeps every file's SHA-256 (reused while size and mtime stay the same) and each
    partition's digest; run keys are the digests, so unchanged content never runs twice. The
    first tick on an instance (no cursor: `make dev` after `make demo`, a new deployment)
    compares landing with the delivery log instead, so that only partitions with files not yet
    ingested run, not every partition.
    """
    state = json.loads(context.cursor) if context.cursor else {"files": {}, "partitions": {}}
    known = {name: tuple(value) for name, value in state["files"].items()}
    hashes = file_hashes(landing_dir(), known)
    digests = partition_digests(hashes)
    if context.cursor is None:
        changed = partitions_with_new_files(
            landing_dir(), read_table(staging_dir(), "delivery_log")
        )
    else:
        changed = sorted(p for p, d in digests.items() if state["partitions"].get(p) != d)
    cursor = json.dumps({"files": hashes, "partitions": digests}, sort_keys=True)
    if not changed:
        return dg.SensorResult(skip_reason="no new or changed files in landing", cursor=cursor)
    return dg.SensorResult(
        run_requests=[
            dg.RunRequest(run_key=f"{partition}:{digests[partition]}", partition_key=partition)
            for partition in changed
        ],
        cursor=cursor,
    )
