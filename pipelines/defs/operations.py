"""Alerts: four sensors that turn failed runs, failed asset checks, overdue assets and refused
deliveries into operator alerts.

All write to the alert log (`pipelines.paths.alerts_file`) and, when `PMP_ALERT_WEBHOOK_URL`
is set, post each alert to that webhook (`pipelines.operations.alerts.notify`).
"""

import json
import logging
from datetime import UTC, datetime

import dagster as dg
from dagster._time import get_current_datetime

from pipelines.defs.policies import (
    NIGHTLY_DEADLINE,
    NIGHTLY_FRESHNESS,
    WEEKLY_DEADLINE,
    WEEKLY_FRESHNESS,
)
from pipelines.ingest.staging import read_table
from pipelines.operations.alerts import (
    NIGHTLY_CHECKS,
    REFUSED_CHECK,
    Alert,
    Severity,
    check_failure_alert,
    freshness_alert,
    nightly,
    notify,
    publication_held_alert,
    raised_keys,
    refused_delivery_alerts,
    run_failure_alert,
    webhook_url,
)
from pipelines.operations.freshness import Deadline, Overdue, due_ingest_cutoff, overdue_assets
from pipelines.paths import alerts_file, staging_dir
from pipelines.publication.publish import PublicationHeld

POST_TIMEOUT_SECONDS = 5
RUNS_PER_TICK = 100
RUN_END_EVENTS = (
    dg.DagsterEventType.RUN_SUCCESS,
    dg.DagsterEventType.RUN_FAILURE,
    dg.DagsterEventType.RUN_CANCELED,
)
SEVERITIES: dict[dg.AssetCheckSeverity, Severity] = {
    dg.AssetCheckSeverity.ERROR: "error",
    dg.AssetCheckSeverity.WARN: "warn",
}
# Every ingest run materialises the delivery log: its time is when the night's data came in.
INGESTED = dg.AssetKey(["ingest", "delivery_log"])


def _send(log: logging.Logger, alert: Alert, raised: set[str]) -> bool:
    """Raise the alert; False when its key was raised already (is in `raised`, the keys in the
    alert log, read once per tick)."""
    outcome = notify(alert, alerts_file(), raised, webhook_url(), POST_TIMEOUT_SECONDS)
    subject = f"run {alert.run_id}" if alert.run_id else f"asset {alert.asset}"
    log.info(f"{alert.kind} alert for {subject}: {outcome}")
    return not outcome.startswith("not raised")


def _partition(run: dg.DagsterRun) -> str | None:
    """The run's partition, or its partition range as `first...last`."""
    if "dagster/partition" in run.tags:
        return run.tags["dagster/partition"]
    start = run.tags.get("dagster/asset_partition_range_start")
    end = run.tags.get("dagster/asset_partition_range_end")
    return f"{start}...{end}" if start and end else None


def _step_error(event: dg.DagsterEvent) -> tuple[str | None, str]:
    """The step's exception, its class and message: the user's own, not Dagster's wrapper."""
    error = event.step_failure_data.error
    if error is None:
        return None, "no error recorded"
    if error.cls_name == "DagsterExecutionStepExecutionError" and error.cause is not None:
        error = error.cause
    return error.cls_name, error.message


@dg.run_failure_sensor(
    monitor_all_code_locations=True,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Raises an alert for every failed run of any job: the failed steps with their "
    "errors and the assets left unmaterialised, written to data/alerts/alerts.jsonl and posted "
    "to PMP_ALERT_WEBHOOK_URL when set. A publication held for missing schools is one alert "
    "per delivery night, however many runs and retries are held.",
)
def run_failure_alerts(context: dg.RunFailureSensorContext) -> None:
    run = context.instance.get_run_by_id(context.dagster_run.run_id) or context.dagster_run
    errors = {
        event.step_key or "(unknown step)": _step_error(event)
        for event in context.get_step_failure_events()
    }
    will_retry = run.tags.get("dagster/will_retry") == "true"
    held = [message for cls, message in errors.values() if cls == PublicationHeld.__name__]
    if held:
        alert = publication_held_alert(
            job=run.job_name, run_id=run.run_id, error=held[0], will_retry=will_retry
        )
        _send(context.log, alert, raised_keys(alerts_file()))
        return
    steps = {step: message for step, (_, message) in errors.items()}
    planned = context.instance.get_asset_keys_for_run(
        run.run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION_PLANNED
    )
    done = context.instance.get_asset_keys_for_run(
        run.run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION
    )
    alert = run_failure_alert(
        job=run.job_name,
        run_id=run.run_id,
        failed_steps=steps,
        unmaterialized=sorted(key.to_user_string() for key in planned - done),
        run_message=context.failure_event.message or "no message recorded",
        partition=_partition(run),
        will_retry=will_retry,
    )
    _send(context.log, alert, raised_keys(alerts_file()))


def _metadata_text(value: dg.MetadataValue) -> str:
    raw = value.value
    if raw is None or isinstance(raw, str | int | float | bool):
        return str(raw)
    if isinstance(raw, dict | list):
        return json.dumps(raw, ensure_ascii=False)
    return f"({type(value).__name__.removesuffix('MetadataValue')}, see the Dagster UI)"


def _failed_checks(instance: dg.DagsterInstance, run: dg.DagsterRun) -> list[Alert]:
    records = instance.get_records_for_run(
        run.run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION
    ).records
    alerts = []
    for record in records:
        event = record.event_log_entry.dagster_event
        evaluation = event.asset_check_evaluation_data if event else None
        if evaluation is None or evaluation.passed or evaluation.check_name == REFUSED_CHECK:
            continue
        asset = evaluation.asset_key.to_user_string()
        alert = check_failure_alert(
            job=run.job_name,
            run_id=run.run_id,
            asset=asset,
            check=evaluation.check_name,
            severity=SEVERITIES[evaluation.severity],
            partition=evaluation.partition or _partition(run),
            description=evaluation.description,
            metadata={name: _metadata_text(v) for name, v in evaluation.metadata.items()},
        )
        if evaluation.check_name in NIGHTLY_CHECKS:
            alert = nightly(alert, f"check {evaluation.check_name} on {asset}")
        alerts.append(alert)
    return alerts


@dg.sensor(
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=60,
    description="Raises an alert for every asset check that did not pass (severity ERROR or "
    "WARN, recorded in the alert) in any run that finished since the last tick, with the check's "
    "metadata summarised; written to data/alerts/alerts.jsonl and posted to "
    "PMP_ALERT_WEBHOOK_URL when set. When first started it alerts only on runs finishing later. "
    "The checks of the whole municipality's deliveries (latest_delivery_fresh, "
    "deliveries_complete), which every ingest run evaluates, alert once per delivery night; "
    "deliveries_applied is alerted file by file by delivery_alerts.",
)
def check_failure_alerts(context: dg.SensorEvaluationContext) -> dg.SensorResult:
    """The cursor holds, per run-end event type, the storage id of the last run end read.

    A run's check results are read once the run has ended, so none is missed or read twice;
    at most RUNS_PER_TICK run ends of each type are read per tick, the rest on the next ones.
    """
    instance = context.instance
    if context.cursor is None:
        latest = {
            kind.value: next(
                (r.storage_id for r in instance.fetch_run_status_changes(kind, limit=1).records), 0
            )
            for kind in RUN_END_EVENTS
        }
        return dg.SensorResult(
            skip_reason="started watching: runs that finish from now on are checked",
            cursor=json.dumps(latest, sort_keys=True),
        )
    seen: dict[str, int] = json.loads(context.cursor)
    ended = []
    for kind in RUN_END_EVENTS:
        records = instance.fetch_run_status_changes(
            dg.RunStatusChangeRecordsFilter(kind, after_storage_id=seen.get(kind.value, 0)),
            limit=RUNS_PER_TICK,
            ascending=True,
        ).records
        ended.extend(records)
        if records:
            seen[kind.value] = records[-1].storage_id
    alerted = 0
    raised = raised_keys(alerts_file()) if ended else set()
    for record in sorted(ended, key=lambda r: r.storage_id):
        run = instance.get_run_by_id(record.run_id)
        for alert in _failed_checks(instance, run) if run else []:
            alerted += _send(context.log, alert, raised)
    return dg.SensorResult(
        skip_reason=f"{len(ended)} finished runs read, {alerted} failed checks alerted",
        cursor=json.dumps(seen, sort_keys=True),
    )


def _moment(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp, UTC)


# Each freshness policy the alert watches, with the deadline it stands for.
WATCHED_POLICIES = ((NIGHTLY_FRESHNESS, NIGHTLY_DEADLINE), (WEEKLY_FRESHNESS, WEEKLY_DEADLINE))


def _overdue(
    context: dg.SensorEvaluationContext,
    policy: dg.FreshnessPolicy,
    deadline: Deadline,
    now: datetime,
) -> tuple[int, list[Overdue]]:
    """How many assets have `policy`, and those of them overdue at `deadline`."""
    graph = context.repository_def.asset_graph
    watched = [n.key for n in graph.asset_nodes if n.freshness_policy == policy]
    records = {r.asset_entry.asset_key: r for r in context.instance.get_asset_records(watched)}
    materialised = {}
    for key in watched:
        record = records.get(key)
        last = record.asset_entry.last_materialization if record else None
        materialised[key.to_user_string()] = _moment(last.timestamp) if last else None
    cutoff = due_ingest_cutoff(deadline, now)
    ingests = context.instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=INGESTED, before_timestamp=cutoff.timestamp()), limit=1
    ).records
    due = _moment(ingests[0].timestamp) if ingests else None
    return len(watched), overdue_assets(deadline, now, materialised, due)


@dg.sensor(
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=60,
    description="Raises one alert for each asset that missed its freshness deadline. With the "
    "nightly policy (the warehouse, the publication, the ministry extracts, the dashboard): by "
    "06:00 Riga time, Tuesday to Saturday, it must hold everything ingested by 05:00. With the "
    "weekly one (the warehouse's analysis models): by 10:00 on Saturday, everything ingested "
    "by 08:00. Once per overdue spell: again only after the asset has caught up and fallen "
    "behind anew. Written to data/alerts/alerts.jsonl and posted to PMP_ALERT_WEBHOOK_URL "
    "when set.",
)
def freshness_alerts(context: dg.SensorEvaluationContext) -> dg.SensorResult:
    """The cursor holds the assets found overdue at the last tick, already alerted.

    The clock is Dagster's (`dagster._time`), the one its events are stamped with, so that a
    test can freeze both.
    """
    now = get_current_datetime()
    watched, overdue = 0, []
    for policy, deadline in WATCHED_POLICIES:
        assets, found = _overdue(context, policy, deadline, now)
        watched += assets
        overdue += [(o, deadline) for o in found]
    alerted = set(json.loads(context.cursor)) if context.cursor else set()
    new = [(o, deadline) for o, deadline in overdue if o.asset not in alerted]
    raised = raised_keys(alerts_file()) if new else set()
    for found, deadline in new:
        _send(context.log, freshness_alert(found, deadline), raised)
    return dg.SensorResult(
        skip_reason=f"{watched} assets watched, {len(overdue)} overdue, {len(new)} newly alerted",
        cursor=json.dumps(sorted(o.asset for o, _ in overdue)),
    )


@dg.sensor(
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=60,
    description="Raises one alert per delivered file that was rejected, held by the drop guard "
    "or loaded no row, naming the file, its school and the reason from the delivery log, and "
    "what to do; once per file. Written to data/alerts/alerts.jsonl and posted to "
    "PMP_ALERT_WEBHOOK_URL when set. When first started it alerts only on files refused later.",
)
def delivery_alerts(context: dg.SensorEvaluationContext) -> dg.SensorResult:
    """The alert log is the memory: a file is alerted when no alert with its key is logged.

    The first tick alerts nothing: the cursor keeps the keys of the files refused before it,
    which are known without an alert (an existing instance would otherwise raise, and post,
    every refused file of its history at once).
    """
    log = read_table(staging_dir(), "delivery_log")
    rows = [] if log is None else list(log.iter_rows(named=True))
    if context.cursor is None:
        known = sorted(alert.key for alert in refused_delivery_alerts(rows, set()))
        started = (
            f"started watching: {len(known)} files refused before now are known and not "
            "alerted; files refused from now on are"
        )
        context.log.info(started)
        return dg.SensorResult(skip_reason=started, cursor=json.dumps(known))
    raised = raised_keys(alerts_file()) | set(json.loads(context.cursor))
    alerts = refused_delivery_alerts(rows, raised)
    for alert in alerts:
        _send(context.log, alert, raised)
    return dg.SensorResult(
        skip_reason=f"{len(rows)} deliveries read, {len(alerts)} refused files alerted",
        cursor=context.cursor,
    )
