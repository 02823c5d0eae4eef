"""What the unattended night relies on: retries for transient IO, the automation that carries a
change in staging down to the warehouse, the publication and the dashboard, and the deadline
by which the night's data must have reached them; and the weekly cadence of the warehouse's
analysis models, which the night leaves out."""

from datetime import time, timedelta

import dagster as dg

from pipelines.operations.freshness import Deadline
from pipelines.reference.calendar import TIMEZONE

# A locked or briefly unreadable file (a school's export still being copied, the DuckDB file
# held by a reader): retry twice, after 10 s then 20 s. Every step is safe to repeat: ingest
# replaces whole files, the warehouse build is one transaction, publication writes a new
# revision or nothing.
IO_RETRY = dg.RetryPolicy(max_retries=2, delay=10, backoff=dg.Backoff.EXPONENTIAL)

# Materialise when anything upstream was updated and nothing upstream is running. Unlike
# `eager()`, it does not wait for upstream partitions that were never materialised: a school
# that has not delivered yet must not stop the municipality's warehouse.
ON_UPSTREAM_CHANGE = dg.AutomationCondition.eager().without(
    ~dg.AutomationCondition.any_deps_missing()
)

# The nightly ingest, at 02:00 Riga time (`pipelines/defs/schedules.py`).
NIGHTLY_CRON = "0 2 * * *"

# Schools deliver after each school day (Monday to Friday). By 06:00 on the morning after
# (Tuesday to Saturday), four hours after the nightly ingest, everything ingested by 05:00
# must have reached the warehouse, the publication, the extracts and the dashboard.
NIGHTLY_DEADLINE = Deadline(
    at=time(6, 0),
    days=(2, 3, 4, 5, 6),
    timezone=TIMEZONE,
    margin=timedelta(hours=1),
)

# What the UI shows: fresh when materialised in the 24 hours before the latest deadline (the
# delivery night and its evening; the landing sensor ingests files as they arrive). Dagster's
# policy cannot tell a holiday night without deliveries from a missed one; the alert
# (`freshness_alerts`, `pipelines/operations/freshness.py`) can, and is what pages.
NIGHTLY_FRESHNESS = dg.FreshnessPolicy.cron(
    deadline_cron=NIGHTLY_DEADLINE.cron,
    lower_bound_delta=timedelta(hours=24),
    timezone=NIGHTLY_DEADLINE.timezone,
)

# The warehouse's analysis models (`-- @analysis` in models/: the evaluation, the backtest, the
# support effect) are rebuilt weekly, on Saturday at 08:00 Riga time: after the week's last
# delivery night has reached everything (the Saturday 06:00 deadline), outside the nights.
# Nothing published or drawn reads them (notebooks and `pmp train-score` do), and their
# pupil-dates come from school years whose outcomes are known, so a week's delay changes no
# figure anyone is sent. Requested once per tick, when nothing upstream is running.
WEEKLY_CRON = "0 8 * * 6"
ON_WEEKLY_TICK = (
    dg.AutomationCondition.cron_tick_passed(WEEKLY_CRON, TIMEZONE).since_last_handled()
    & ~dg.AutomationCondition.any_deps_in_progress()
).with_label(f"weekly ({WEEKLY_CRON}, {TIMEZONE})")

# By 10:00 on Saturday, everything ingested by 08:00 must have reached them.
WEEKLY_DEADLINE = Deadline(at=time(10, 0), days=(6,), timezone=TIMEZONE, margin=timedelta(hours=2))

# Fresh when rebuilt in the two hours after the weekly tick (or later, by a warehouse_job run).
WEEKLY_FRESHNESS = dg.FreshnessPolicy.cron(
    deadline_cron=WEEKLY_DEADLINE.cron,
    lower_bound_delta=timedelta(hours=2),
    timezone=WEEKLY_DEADLINE.timezone,
)
