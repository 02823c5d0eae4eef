"""Alerts: the JSON Lines log, the webhook against a real HTTP server on loopback, and the two
sensors of `pipelines/defs/operations.py` evaluated on a test Dagster instance."""

import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import asdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import dagster as dg
import pytest

from pipelines.defs.operations import check_failure_alerts, run_failure_alerts
from pipelines.operations.alerts import (
    WEBHOOK_ENV,
    Alert,
    WebhookError,
    check_failure_alert,
    notify,
    post_alert,
    run_failure_alert,
    summarise_metadata,
    webhook_url,
    write_alert,
)
from pipelines.paths import alerts_file

SECRET_PATH = "/hooks/T0KEN-s3cret"


class Receiver(ThreadingHTTPServer):
    """A webhook receiver on 127.0.0.1: records each POSTed JSON body and its content type,
    and answers `status`."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.bodies: list[dict] = []
        self.content_types: list[str] = []
        self.status = 200

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}{SECRET_PATH}"


class _Handler(BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.bodies.append(json.loads(body))
        self.server.content_types.append(self.headers["Content-Type"])
        self.send_response(self.server.status)
        if 300 <= self.server.status < 400:
            self.send_header("Location", "/elsewhere")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the test asserts on what was received, not on the access log."""


@pytest.fixture
def receiver(monkeypatch) -> Iterator[Receiver]:
    monkeypatch.setenv("no_proxy", "127.0.0.1")
    server = Receiver()
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture
def closed_port_url() -> str:
    """A loopback URL where nothing listens: the port was free a moment ago."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}{SECRET_PATH}"


def _alert() -> Alert:
    return check_failure_alert(
        job="ingest_job",
        run_id="0d2f5c1e-run",
        asset="ingest/delivery_log",
        check="rows_reconcile",
        severity="error",
        partition="TIS",
        description=None,
        metadata={"files": "3", "files_not_reconciling": "| file |\n| --- |\n| a.csv |"},
    )


def _lines(log: Path) -> list[dict]:
    return [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]


def test_notify_logs_the_alert_and_posts_the_same_json(tmp_path, receiver):
    log = tmp_path / "alerts" / "alerts.jsonl"
    alert = _alert()

    assert notify(alert, log, set(), receiver.url) == "logged and posted"

    assert _lines(log) == [asdict(alert)]
    assert receiver.bodies == [asdict(alert)]
    assert receiver.content_types == ["application/json; charset=utf-8"]
    assert alert.message == (
        "Check rows_reconcile on asset ingest/delivery_log (partition TIS) failed with severity "
        "ERROR in run 0d2f5c1e-run of job ingest_job. Metadata: files=3; "
        "files_not_reconciling=1-row table. Open asset ingest/delivery_log in the Dagster UI "
        "(Checks tab) for the details."
    )


def test_a_webhook_answering_500_leaves_the_alert_and_the_failure_in_the_log(tmp_path, receiver):
    receiver.status = 500
    log = tmp_path / "alerts.jsonl"
    alert = _alert()

    outcome = notify(alert, log, set(), receiver.url)

    assert outcome == "logged; webhook failed: the webhook answered HTTP 500 Internal Server Error"
    assert receiver.bodies == [asdict(alert)]
    logged, failure = _lines(log)
    assert logged == asdict(alert)
    assert failure["kind"] == "webhook_failure"
    assert failure["severity"] == "warn"
    assert (failure["job"], failure["run_id"], failure["check"]) == (
        "ingest_job",
        "0d2f5c1e-run",
        "rows_reconcile",
    )
    assert "HTTP 500" in failure["message"]
    assert f"http://127.0.0.1:{receiver.server_address[1]}" in failure["message"]
    assert "T0KEN" not in log.read_text(encoding="utf-8")


def test_an_unreachable_webhook_is_recorded_not_raised(tmp_path, closed_port_url):
    log = tmp_path / "alerts.jsonl"

    outcome = notify(_alert(), log, set(), closed_port_url, timeout=5)

    assert outcome.startswith("logged; webhook failed: the webhook could not be reached")
    assert [line["kind"] for line in _lines(log)] == ["check_failure", "webhook_failure"]


@pytest.mark.parametrize("status", [301, 404, 500])
def test_post_alert_raises_on_any_answer_but_2xx(receiver, status):
    receiver.status = status
    with pytest.raises(WebhookError, match=f"HTTP {status}"):
        post_alert(receiver.url, _alert())


def test_post_alert_accepts_204(receiver):
    receiver.status = 204
    post_alert(receiver.url, _alert())
    assert len(receiver.bodies) == 1


def test_post_alert_refuses_a_url_that_is_not_http(tmp_path):
    with pytest.raises(WebhookError, match="http:// or https://"):
        post_alert(f"file://{tmp_path}/hook", _alert())


def test_without_the_webhook_variable_only_the_log_is_written(tmp_path, receiver, monkeypatch):
    log = tmp_path / "alerts.jsonl"
    monkeypatch.delenv(WEBHOOK_ENV, raising=False)
    assert notify(_alert(), log, set(), webhook_url()) == "logged"
    monkeypatch.setenv(WEBHOOK_ENV, "  ")
    assert notify(_alert(), log, set(), webhook_url()) == "logged"

    assert len(_lines(log)) == 2
    assert receiver.bodies == []


def test_concurrent_writers_never_interleave_lines(tmp_path):
    log = tmp_path / "alerts.jsonl"
    long = _alert()
    alerts = [
        Alert(**{**asdict(long), "run_id": f"run-{w}-{i}", "message": "x" * 20_000})
        for w in range(8)
        for i in range(25)
    ]
    writers = [
        threading.Thread(target=lambda w=w: [write_alert(log, a) for a in alerts[w::8]])
        for w in range(8)
    ]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join()

    assert sorted(line["run_id"] for line in _lines(log)) == sorted(a.run_id for a in alerts)


def test_metadata_summary_is_one_line_per_entry():
    summary = summarise_metadata(
        {"rows": "0", "note": "first line\nsecond line", "long": "y" * 200, "empty": ""}
    )
    assert summary == f"rows=0; note=first line second line; long={'y' * 79}…; empty="


def test_a_run_that_failed_outside_its_steps_and_will_be_retried():
    alert = run_failure_alert(
        job="warehouse_job",
        run_id="r-1",
        failed_steps={},
        unmaterialized=[],
        run_message="Run timed out after 3600 seconds.",
        partition=None,
        will_retry=True,
    )
    assert (alert.kind, alert.severity, alert.asset, alert.check) == (
        "run_failure",
        "error",
        None,
        None,
    )
    assert alert.message == (
        "Run r-1 of job warehouse_job failed outside its steps: Run timed out after 3600 "
        "seconds. Dagster will retry the run automatically. Open run r-1 in the Dagster UI "
        "(Runs) for the full log."
    )


schools = dg.StaticPartitionsDefinition(["TIS", "OGP"])


@dg.asset(partitions_def=schools)
def landed() -> None:
    """Succeeds: materialised before the failure."""


@dg.asset(partitions_def=schools, deps=[landed])
def extract() -> None:
    raise ValueError("landing folder TIS is empty")


@dg.asset(partitions_def=schools, deps=[extract])
def summary() -> None:
    """Never runs: its upstream fails."""


@dg.asset(
    check_specs=[
        dg.AssetCheckSpec("rows_reconcile", asset="delivery_log"),
        dg.AssetCheckSpec("latest_delivery_fresh", asset="delivery_log"),
        dg.AssetCheckSpec("no_identifiers", asset="delivery_log"),
    ]
)
def delivery_log() -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
    yield dg.MaterializeResult()
    yield dg.AssetCheckResult(
        check_name="rows_reconcile",
        passed=False,
        description="2 files do not reconcile",
        metadata={
            "files": 3,
            "files_not_reconciling": dg.MetadataValue.md("| file |\n| --- |\n| a.csv |\n| b.csv |"),
        },
    )
    yield dg.AssetCheckResult(
        check_name="latest_delivery_fresh",
        passed=False,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"late_partitions": 1},
    )
    yield dg.AssetCheckResult(check_name="no_identifiers", passed=True)


test_defs = dg.Definitions(
    assets=[landed, extract, summary, delivery_log],
    jobs=[
        dg.define_asset_job("extract_job", [landed, extract, summary]),
        dg.define_asset_job("delivery_job", [delivery_log]),
    ],
)


@pytest.fixture(scope="module")
def instance() -> Iterator[dg.DagsterInstance]:
    """One in-memory instance for the module; each test reads only the runs it started or that
    ended after its sensor's first tick."""
    with dg.DagsterInstance.ephemeral() as test_instance:
        yield test_instance


@pytest.fixture
def data_dir(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("PMP_DATA_DIR", str(tmp_path / "data"))
    return tmp_path / "data"


def _run(instance: dg.DagsterInstance, job: str, **kwargs) -> dg.ExecuteInProcessResult:
    return test_defs.resolve_job_def(job).execute_in_process(
        instance=instance, raise_on_error=False, **kwargs
    )


def _alert_on_failure(instance: dg.DagsterInstance, result: dg.ExecuteInProcessResult) -> None:
    context = dg.build_run_status_sensor_context(
        sensor_name=run_failure_alerts.name,
        dagster_event=result.get_run_failure_event(),
        dagster_instance=instance,
        dagster_run=result.dagster_run,
    )
    run_failure_alerts(context)


def _tick(instance: dg.DagsterInstance, cursor: str | None) -> dg.SensorResult:
    return check_failure_alerts(dg.build_sensor_context(instance=instance, cursor=cursor))


def test_sensors_alert_on_a_failed_run_and_on_failed_checks(
    instance, data_dir, receiver, monkeypatch
):
    monkeypatch.setenv(WEBHOOK_ENV, receiver.url)
    before = _run(instance, "delivery_job")
    started = _tick(instance, None)
    assert started.cursor is not None
    assert not alerts_file().exists()

    failed = _run(instance, "extract_job", partition_key="TIS")
    assert not failed.success
    _alert_on_failure(instance, failed)
    checked = _run(instance, "delivery_job")
    assert checked.success
    first = _tick(instance, started.cursor)
    again = _tick(instance, first.cursor)

    lines = _lines(alerts_file())
    assert receiver.bodies == lines
    run_alert, error_check, warn_check = lines
    assert {k: run_alert[k] for k in ("kind", "severity", "job", "run_id", "asset", "check")} == {
        "kind": "run_failure",
        "severity": "error",
        "job": "extract_job",
        "run_id": failed.run_id,
        "asset": "extract, summary",
        "check": None,
    }
    assert run_alert["partition"] == "TIS"
    assert run_alert["message"] == (
        f"Run {failed.run_id} of job extract_job (partition TIS) failed in step extract: "
        "ValueError: landing folder TIS is empty. Not materialised: extract, summary. "
        f"Open run {failed.run_id} in the Dagster UI (Runs) for the full log."
    )
    named = [(c["kind"], c["job"], c["run_id"], c["asset"]) for c in (error_check, warn_check)]
    assert named == [("check_failure", "delivery_job", checked.run_id, "delivery_log")] * 2
    assert [(c["check"], c["severity"]) for c in (error_check, warn_check)] == [
        ("rows_reconcile", "error"),
        ("latest_delivery_fresh", "warn"),
    ]
    assert error_check["message"] == (
        f"Check rows_reconcile on asset delivery_log failed with severity ERROR in run "
        f"{checked.run_id} of job delivery_job: 2 files do not reconcile. Metadata: files=3; "
        "files_not_reconciling=2-row table. Open asset delivery_log in the Dagster UI "
        "(Checks tab) for the details."
    )
    assert "Metadata: late_partitions=1." in warn_check["message"]
    assert before.run_id not in json.dumps(lines)

    assert first.cursor != started.cursor
    assert first.skip_reason is not None
    assert first.skip_reason.skip_message == "2 finished runs read, 2 failed checks alerted"
    assert again.cursor == first.cursor
    assert again.skip_reason is not None
    assert again.skip_reason.skip_message == "0 finished runs read, 0 failed checks alerted"
    assert len(_lines(alerts_file())) == 3


def test_run_failure_sensor_survives_an_unreachable_webhook(
    instance, data_dir, closed_port_url, monkeypatch
):
    monkeypatch.setenv(WEBHOOK_ENV, closed_port_url)
    failed = _run(instance, "extract_job", partition_key="OGP")

    _alert_on_failure(instance, failed)

    logged, failure = _lines(alerts_file())
    assert (logged["kind"], logged["run_id"], logged["partition"]) == (
        "run_failure",
        failed.run_id,
        "OGP",
    )
    assert (failure["kind"], failure["run_id"]) == ("webhook_failure", failed.run_id)
    assert "could not be reached" in failure["message"]
