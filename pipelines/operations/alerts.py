"""Operator alerts for failed runs, failed checks, overdue assets and refused deliveries: an
append-only JSON Lines log, and an optional webhook that receives the same alert as a JSON body.

An alert about a lasting condition carries a key, and is raised only when no alert with its key
is in the log yet: a condition of the whole municipality that every ingest run finds again (a
school missing, a held publication) once per delivery night (`nightly`), a refused delivery
once per file (`refused_delivery_alerts`).

The log is written first and always; the webhook is a second, best-effort channel. When posting
fails, a `webhook_failure` line follows the alert in the log, so no alert is ever lost to a
broken webhook. The log and the webhook never see the webhook URL's path or query, which often
carry a secret token.
"""

import json
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from http.client import HTTPException
from pathlib import Path
from typing import Literal
from urllib.error import HTTPError, URLError
from urllib.parse import urlsplit
from urllib.request import HTTPRedirectHandler, Request, build_opener

from pipelines.ingest.completeness import night_of
from pipelines.operations.freshness import Deadline, Overdue
from pipelines.reference.calendar import riga_time

AlertKind = Literal[
    "run_failure", "check_failure", "freshness_overdue", "refused_delivery", "webhook_failure"
]
Severity = Literal["error", "warn"]
WEBHOOK_ENV = "PMP_ALERT_WEBHOOK_URL"
LISTED = 5
ERROR_CHARS = 300
VALUE_CHARS = 80
# Checks of the whole municipality's deliveries that every ingest run evaluates again, whichever
# partition it ingested: alerted once per delivery night.
NIGHTLY_CHECKS = frozenset({"latest_delivery_fresh", "deliveries_complete"})
# Refused deliveries are alerted file by file from the delivery log
# (`refused_delivery_alerts`), not through the check that counts them.
REFUSED_CHECK = "deliveries_applied"
REFUSED_STATUSES = {
    "rejected": "was rejected",
    "held": "is held",
    "nothing_loaded": "loaded no row",
}


@dataclass(frozen=True)
class Alert:
    """One alert: what failed, where, and a message an operator on call can act on. An overdue
    asset has no job or run: nothing ran."""

    raised_at: str
    kind: AlertKind
    severity: Severity
    job: str | None
    run_id: str | None
    asset: str | None
    check: str | None
    partition: str | None
    message: str
    key: str | None = None  # raised once: never while an alert with the same key is logged

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)


class WebhookError(RuntimeError):
    """The webhook did not accept the alert: unreachable, timed out, or not a 2xx answer."""


def now() -> str:
    """The current time as ISO 8601 in UTC, to the second."""
    return datetime.now(UTC).isoformat(timespec="seconds")


def webhook_url() -> str | None:
    """The webhook from `$PMP_ALERT_WEBHOOK_URL`, or None when it is unset or empty."""
    return os.environ.get(WEBHOOK_ENV, "").strip() or None


def shorten(text: str, limit: int) -> str:
    """The text on one line, whitespace collapsed, cut to `limit` characters with an ellipsis."""
    flat = re.sub(r"\s+", " ", text).strip()
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def _sentence(text: str) -> str:
    """The text shortened to one line, ending in exactly one full stop."""
    return shorten(text, ERROR_CHARS).rstrip(".") + "."


def _listing(names: Sequence[str]) -> str:
    shown = ", ".join(names[:LISTED])
    return shown if len(names) <= LISTED else f"{shown} and {len(names) - LISTED} more"


def run_failure_alert(
    *,
    job: str,
    run_id: str,
    failed_steps: Mapping[str, str],
    unmaterialized: Sequence[str],
    run_message: str,
    partition: str | None,
    will_retry: bool,
) -> Alert:
    """The alert for a failed run: its failed steps with their errors (or the run's own failure
    message when no step failed) and the assets it did not materialise."""
    where = f"Run {run_id} of job {job}" + (f" (partition {partition})" if partition else "")
    if failed_steps:
        step, error = next(iter(failed_steps.items()))
        parts = [f"{where} failed in step {step}: {_sentence(error)}"]
        if len(failed_steps) > 1:
            parts.append(f"Other failed steps: {_listing(list(failed_steps)[1:])}.")
    else:
        parts = [f"{where} failed outside its steps: {_sentence(run_message)}"]
    if unmaterialized:
        parts.append(f"Not materialised: {_listing(unmaterialized)}.")
    if will_retry:
        parts.append("Dagster will retry the run automatically.")
    parts.append(f"Open run {run_id} in the Dagster UI (Runs) for the full log.")
    return Alert(
        raised_at=now(),
        kind="run_failure",
        severity="error",
        job=job,
        run_id=run_id,
        asset=", ".join(unmaterialized) or None,
        check=None,
        partition=partition,
        message=" ".join(parts),
    )


def summarise_metadata(metadata: Mapping[str, str]) -> str:
    """A check's metadata on one line: `name=value; …`, a Markdown table as its row count."""
    entries = []
    for name, value in metadata.items():
        lines = value.strip().splitlines()
        if len(lines) > 2 and all(line.lstrip().startswith("|") for line in lines):
            entries.append(f"{name}={len(lines) - 2}-row table")
        else:
            entries.append(f"{name}={shorten(value, VALUE_CHARS)}")
    return "; ".join(entries)


def check_failure_alert(
    *,
    job: str,
    run_id: str,
    asset: str,
    check: str,
    severity: Severity,
    partition: str | None,
    description: str | None,
    metadata: Mapping[str, str],
) -> Alert:
    """The alert for a failed asset check evaluation, its metadata summarised."""
    where = f" (partition {partition})" if partition else ""
    parts = [
        f"Check {check} on asset {asset}{where} failed with severity {severity.upper()} "
        f"in run {run_id} of job {job}" + (f": {_sentence(description)}" if description else ".")
    ]
    if metadata:
        parts.append(f"Metadata: {summarise_metadata(metadata)}.")
    parts.append(f"Open asset {asset} in the Dagster UI (Checks tab) for the details.")
    return Alert(
        raised_at=now(),
        kind="check_failure",
        severity=severity,
        job=job,
        run_id=run_id,
        asset=asset,
        check=check,
        partition=partition,
        message=" ".join(parts),
    )


def freshness_alert(overdue: Overdue, deadline: Deadline) -> Alert:
    """The alert for an asset that missed its deadline: which deadline, the ingest whose data
    it does not hold, and when it was last materialised."""
    last = (
        f"it was last materialised at {deadline.describe(overdue.materialised)}"
        if overdue.materialised
        else "it has never been materialised"
    )
    return Alert(
        raised_at=now(),
        kind="freshness_overdue",
        severity="error",
        job=None,
        run_id=None,
        asset=overdue.asset,
        check=None,
        partition=None,
        message=f"Asset {overdue.asset} is overdue: it missed its deadline of "
        f"{deadline.describe(overdue.deadline)}. It does not hold the data ingested at "
        f"{deadline.describe(overdue.ingested)}: {last}. Open asset {overdue.asset} in the "
        "Dagster UI: its latest run (Runs) or its automation evaluations (Automation) say why.",
    )


def nightly(alert: Alert, condition: str) -> Alert:
    """The alert keyed to its condition and the delivery night (noon to noon, Riga time) it is
    raised in: raised once that night, whatever runs and retries find the condition again."""
    night = night_of(datetime.fromisoformat(alert.raised_at))
    return replace(alert, key=f"{condition} night {night.isoformat()}")


def raised_keys(log: Path) -> set[str]:
    """The keys of the alerts in the log."""
    if not log.exists():
        return set()
    with log.open(encoding="utf-8") as lines:
        return {key for line in lines if line.strip() and (key := json.loads(line).get("key"))}


def _held_reason(error: str) -> str:
    """PublicationHeld's message without the exception's class and its own prefix."""
    return error.rpartition("PublicationHeld: ")[2].removeprefix("publication held: ")


def publication_held_alert(*, job: str, run_id: str, error: str, will_retry: bool) -> Alert:
    """The alert for a publication held for missing schools: what is missing, and what to do.
    Raised once per night (`nightly`), however many runs and retries are held."""
    parts = [
        f"Publication is held: {_sentence(_held_reason(error))}",
        "Nothing is published until the missing schools deliver; runs held again tonight "
        "(later ingests, retries) raise no further alert.",
        f"See docs/operations.md 'Re-publish a period'; run {run_id} of job {job} has the log.",
    ]
    if will_retry:
        parts.insert(2, "Dagster will retry the run automatically.")
    return nightly(
        Alert(
            raised_at=now(),
            kind="run_failure",
            severity="error",
            job=job,
            run_id=run_id,
            asset="publication/published_tables",
            check=None,
            partition=None,
            message=" ".join(parts),
        ),
        "publication_held",
    )


def refused_delivery_alerts(
    deliveries: Iterable[Mapping[str, object]], raised: set[str]
) -> list[Alert]:
    """One alert per delivered file that was rejected, held, or loaded no row, naming the file,
    its school and its reason, unless one was raised already (`raised`: the keys in the log).
    `deliveries` are delivery-log rows: `school_id`, `file`, `sha256`, `received_at`, `status`,
    `reason`."""
    alerts = []
    for row in deliveries:
        status = str(row["status"])
        key = f"{status} {row['sha256']}"
        if status not in REFUSED_STATUSES or key in raised:
            continue
        school = row["school_id"]
        received = row["received_at"]
        when = (
            f"{riga_time(received)} Riga time" if isinstance(received, datetime) else str(received)
        )
        step = (
            f'To apply it: pmp release {str(row["sha256"])[:12]} --reason "..." '
            "(docs/operations.md, 'A held delivery')"
            if status == "held"
            else f"Ask {school} for a corrected file (docs/operations.md, 'A school sends garbage')"
        )
        alerts.append(
            Alert(
                raised_at=now(),
                kind="refused_delivery",
                severity="warn",
                job=None,
                run_id=None,
                asset="ingest/delivery_log",
                check=None,
                partition=str(school),
                message=f"File {row['file']} from {school} (received {when}) "
                f"{REFUSED_STATUSES[status]}: {_sentence(str(row['reason'] or 'no reason logged'))} "
                f"{step}.",
                key=key,
            )
        )
    return alerts


def write_alert(log: Path, alert: Alert) -> None:
    """Append the alert to the log as one JSON line, in a single write so that concurrent
    writers (the run-failure and the check sensor) never interleave their lines."""
    log.parent.mkdir(parents=True, exist_ok=True)
    line = (alert.to_json() + "\n").encode("utf-8")
    descriptor = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        written = os.write(descriptor, line)
    finally:
        os.close(descriptor)
    if written != len(line):
        raise OSError(f"only {written} of {len(line)} bytes of an alert were written to {log}")


class _NoRedirect(HTTPRedirectHandler):
    """A redirect would turn the POST into a body-less GET: report it as a failure instead."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


_OPENER = build_opener(_NoRedirect())


def post_alert(url: str, alert: Alert, timeout: float = 10) -> None:
    """POST the alert as a JSON body; raise WebhookError unless the answer is 2xx."""
    if urlsplit(url).scheme not in ("http", "https"):
        raise WebhookError("the webhook URL must start with http:// or https://")
    request = Request(
        url,
        data=alert.to_json().encode("utf-8"),
        headers={"Content-Type": "application/json; charset=utf-8"},
        method="POST",
    )
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            status = response.status
    except HTTPError as error:
        error.close()
        raise WebhookError(f"the webhook answered HTTP {error.code} {error.reason}") from error
    except URLError as error:
        raise WebhookError(f"the webhook could not be reached: {error.reason}") from error
    except (OSError, HTTPException) as error:
        raise WebhookError(
            f"the webhook connection failed: {type(error).__name__}: {error}"
        ) from error
    if not 200 <= status < 300:
        raise WebhookError(f"the webhook answered HTTP {status}")


def _host(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}" if parts.netloc else "(no host)"


def notify(
    alert: Alert, log: Path, raised: set[str], webhook_url: str | None, timeout: float = 10
) -> str:
    """Log the alert, then post it when a webhook is set; an alert whose key is in `raised` (the
    keys in the log, read once by the caller: `raised_keys`) is neither, and a logged key joins
    `raised`. A failed post never raises: it is logged as a `webhook_failure` line after the
    alert. Returns what happened, in words."""
    if alert.key is not None and alert.key in raised:
        return f"not raised again: {alert.key} is in the log"
    write_alert(log, alert)
    if alert.key is not None:
        raised.add(alert.key)
    if not webhook_url:
        return "logged"
    try:
        post_alert(webhook_url, alert, timeout)
    except WebhookError as error:
        failure = Alert(
            raised_at=now(),
            kind="webhook_failure",
            severity="warn",
            job=alert.job,
            run_id=alert.run_id,
            asset=alert.asset,
            check=alert.check,
            partition=alert.partition,
            message=f"The {alert.kind} alert raised at {alert.raised_at} is in this log but was "
            f"not delivered to the webhook at {_host(webhook_url)}: {error}. Check "
            f"{WEBHOOK_ENV} and that the receiving service is up.",
        )
        write_alert(log, failure)
        return f"logged; webhook failed: {error}"
    return "logged and posted"
