"""The nightly schedule: at 02:00 Riga time, ingest every partition with new deliveries.

One run covers them (the ingest asset runs a partition range in one run), from the first to
the last partition with news in the reference order; re-ingesting an unchanged partition in
between is harmless, as ingest re-stages a partition from all its files. The landing sensor
catches files that arrive during the day; everything downstream (warehouse, publication,
extracts, dashboard) follows by declarative automation when staging changes
(`pipelines/defs/automation.py`).
"""

import dagster as dg

from pipelines.defs.jobs import ingest_job
from pipelines.defs.policies import NIGHTLY_CRON
from pipelines.ingest.landing import partitions_with_new_files
from pipelines.ingest.staging import read_table
from pipelines.paths import landing_dir, staging_dir
from pipelines.reference.calendar import TIMEZONE


@dg.schedule(
    job=ingest_job,
    cron_schedule=NIGHTLY_CRON,
    execution_timezone=TIMEZONE,
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Every night at 02:00 Riga time: one ingest run over the partitions whose "
    "landing folder holds files the delivery log has not seen. The warehouse, the "
    "publication and the dashboard update after it by automation.",
)
def nightly_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest | dg.SkipReason:
    partitions = partitions_with_new_files(landing_dir(), read_table(staging_dir(), "delivery_log"))
    if not partitions:
        return dg.SkipReason("no new deliveries in landing")
    night = context.scheduled_execution_time.date().isoformat()
    return dg.RunRequest(
        run_key=f"nightly:{night}",
        tags={
            "dagster/asset_partition_range_start": partitions[0],
            "dagster/asset_partition_range_end": partitions[-1],
        },
    )
