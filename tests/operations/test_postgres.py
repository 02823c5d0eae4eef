"""The production Dagster instance (deploy/dagster.yaml) against a real PostgreSQL server.

A throwaway server is started on loopback for this module from the system's PostgreSQL
programs (`make postgres` installs Debian's). The instance is read from the production file
with the PMP_PG_* variables naming a database of that server, the way the webserver and the
daemon read it, and the tests check what Dagster wrote there by querying its tables. The
nightly schedule is ticked and the queued runs are launched by the daemon's own functions,
called in this process (the schedule at chosen times), over a code server of the project
that Dagster starts as the daemon does.
"""

import contextlib
import datetime
import json
import logging
import os
import shutil
import socket
import subprocess
import sysconfig
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Any

import dagster as dg
import psycopg2
import pytest
from dagster._cli.job import _create_run
from dagster._core.remote_representation.external import RemoteSchedule
from dagster._core.remote_representation.grpc_server_registry import GrpcServerRegistry
from dagster._core.run_coordinator import QueuedRunCoordinator
from dagster._core.scheduler import DagsterDaemonScheduler
from dagster._core.storage.dagster_run import IN_PROGRESS_RUN_STATUSES
from dagster._core.workspace.context import WorkspaceProcessContext
from dagster._core.workspace.load_target import ModuleTarget
from dagster._daemon.controller import DAEMON_GRPC_SERVER_HEARTBEAT_TTL
from dagster._daemon.run_coordinator.queued_run_coordinator_daemon import (
    QueuedRunCoordinatorDaemon,
)
from dagster._grpc.constants import GrpcServerCommand
from dagster._scheduler.scheduler import launch_scheduled_runs
from dagster_postgres import PostgresEventLogStorage, PostgresRunStorage, PostgresScheduleStorage
from psycopg2 import sql

from pipelines.definitions import defs
from pipelines.defs.jobs import REFERENCE_ASSETS, reference_job
from pipelines.paths import PROJECT_ROOT, landing_dir
from pipelines.privacy.pseudonym import MissingKey
from pipelines.reference import tables as reference

pytestmark = pytest.mark.postgres

DEPLOY_PROFILE = PROJECT_ROOT / "deploy" / "dagster.yaml"
DAGSTER = Path(sysconfig.get_path("scripts")) / "dagster"
# The code location as the webserver and the daemon load it (`-m pipelines.definitions`)
CODE_MODULE = "pipelines.definitions"
DEBIAN_SERVER_PROGRAMS = Path("/usr/lib/postgresql")
# initdb and the server refuse to run as root; Debian's package creates this user
SERVER_OS_USER = "postgres"
DATABASE_USER = "dagster"
DATABASE = "pmp_dagster"
SERVER_START_SECONDS = 60
RUN_SECONDS = 90
# Every step in the run worker's own process: the default starts a process per step, and each
# loads the whole code location again
IN_PROCESS = {"execution": {"config": {"in_process": {}}}}
NIGHTLY_SCHEDULE = "nightly_schedule"


@dataclass(frozen=True)
class PostgresServer:
    """Where the server listens and its one user, a superuser with a password."""

    host: str
    port: int
    user: str
    password: str

    def connect(self, database: str) -> psycopg2.extensions.connection:
        return psycopg2.connect(
            host=self.host,
            port=self.port,
            user=self.user,
            password=self.password,
            dbname=database,
        )

    def fetch(self, database: str, query: str, *parameters: Any) -> list[tuple[Any, ...]]:
        """The rows of a query, on a connection of its own that sees every committed write."""
        with (
            contextlib.closing(self.connect(database)) as connection,
            connection.cursor() as cursor,
        ):
            cursor.execute(query, parameters)
            return cursor.fetchall()


def server_programs() -> Path | None:
    """The folder of initdb, pg_ctl and postgres: initdb's on PATH (links followed), or
    Debian's newest version."""
    on_path = shutil.which("initdb")
    if on_path:
        return Path(on_path).resolve().parent
    debian = sorted(
        DEBIAN_SERVER_PROGRAMS.glob("*/bin/initdb"),
        key=lambda initdb: tuple(int(part) for part in initdb.parent.parent.name.split(".")),
    )
    return debian[-1].parent if debian else None


def as_server_user() -> list[str]:
    """The prefix that runs a server program as the server's OS user when this is root."""
    return ["runuser", "-u", SERVER_OS_USER, "--"] if os.geteuid() == 0 else []


def run_server_program(arguments: list[str], folder: Path, log: Path | None = None) -> None:
    """Run initdb or pg_ctl in the server's folder, failing with its output and the server log."""
    result = subprocess.run(
        as_server_user() + arguments, cwd=folder, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        server_log = log.read_text(encoding="utf-8") if log is not None and log.exists() else ""
        raise RuntimeError(
            f"{Path(arguments[0]).name} exited with {result.returncode}:\n"
            f"{result.stdout}{result.stderr}{server_log}"
        )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def postgres_server() -> Iterator[PostgresServer]:
    """A PostgreSQL server in a temporary folder, listening on 127.0.0.1 only, with its unix
    socket in that folder and password authentication for its one user. It is stopped and
    its folder removed afterwards, whatever the tests did."""
    programs = server_programs()
    if programs is None:
        pytest.skip(
            "no PostgreSQL server programs (initdb on PATH or in "
            f"{DEBIAN_SERVER_PROGRAMS}/<version>/bin): run `make postgres`"
        )
    # Not under pytest's temporary folders: they are private to this user, and the server's
    # OS user must reach its own folder.
    folder = Path(tempfile.mkdtemp(prefix="pmp-postgres-"))
    data = folder / "data"
    log = folder / "server.log"
    server = PostgresServer("127.0.0.1", free_port(), DATABASE_USER, "pmp-test-password")
    try:
        password_file = folder / "password"
        password_file.write_text(server.password, encoding="utf-8")
        if os.geteuid() == 0:
            for path in (folder, password_file):
                shutil.chown(path, user=SERVER_OS_USER, group=SERVER_OS_USER)
        run_server_program(
            [
                str(programs / "initdb"),
                f"--pgdata={data}",
                f"--username={server.user}",
                f"--pwfile={password_file}",
                "--auth=scram-sha-256",
                "--encoding=UTF8",
                "--locale=C",
                "--no-sync",
            ],
            folder,
        )
        password_file.unlink()
        settings = (
            f"-c listen_addresses={server.host} -c port={server.port} "
            f"-c unix_socket_directories={folder} -c fsync=off"
        )
        run_server_program(
            [
                str(programs / "pg_ctl"),
                "start",
                f"--pgdata={data}",
                f"--log={log}",
                f"--options={settings}",
                "--wait",
                f"--timeout={SERVER_START_SECONDS}",
            ],
            folder,
            log,
        )
        yield server
    finally:
        try:
            # The server's pid file: it started, even if it did not answer in time
            if (data / "postmaster.pid").exists():
                run_server_program(
                    [str(programs / "pg_ctl"), "stop", f"--pgdata={data}", "--mode=fast", "--wait"],
                    folder,
                    log,
                )
        finally:
            shutil.rmtree(folder)


@pytest.fixture(scope="module")
def database(postgres_server: PostgresServer) -> str:
    """The empty database of the instance."""
    with contextlib.closing(postgres_server.connect("postgres")) as connection:
        connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(DATABASE)))
    return DATABASE


@pytest.fixture(scope="module")
def instance(
    postgres_server: PostgresServer, database: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dg.DagsterInstance]:
    """The instance of deploy/dagster.yaml in a fresh DAGSTER_HOME, with the PMP_PG_* variables
    naming the database and an empty data folder. The variables stay set for the processes
    Dagster starts (the code server and the run workers)."""
    home = tmp_path_factory.mktemp("dagster_home")
    shutil.copy(DEPLOY_PROFILE, home / "dagster.yaml")
    environment = {
        "DAGSTER_HOME": str(home),
        "PMP_DATA_DIR": str(tmp_path_factory.mktemp("data")),
        "PMP_PG_HOST": postgres_server.host,
        "PMP_PG_PORT": str(postgres_server.port),
        "PMP_PG_USER": postgres_server.user,
        "PMP_PG_PASSWORD": postgres_server.password,
        "PMP_PG_DB": database,
        "PMP_PSEUDONYM_KEY": "test-key",
    }
    with pytest.MonkeyPatch.context() as environment_patch:
        for name, value in environment.items():
            environment_patch.setenv(name, value)
        with dg.DagsterInstance.get() as production:
            yield production


@pytest.fixture(scope="module")
def workspace(instance: dg.DagsterInstance) -> Iterator[WorkspaceProcessContext]:
    """The project's code location as the daemon loads it (`-m pipelines.definitions`): a code
    server process started by Dagster, which launches the run workers. Afterwards a run still
    queued or in progress (after a failure) is canceled and the code server awaited: it
    records the end of its runs in the database, which must not stop first."""
    target = ModuleTarget(
        module_name=CODE_MODULE,
        attribute=None,
        working_directory=str(PROJECT_ROOT),
        location_name=None,
    )
    code_servers = GrpcServerRegistry(
        instance_ref=instance.get_ref(),
        server_command=GrpcServerCommand.API_GRPC,
        heartbeat_ttl=DAEMON_GRPC_SERVER_HEARTBEAT_TTL,
        startup_timeout=instance.code_server_process_startup_timeout,
        wait_for_processes_on_shutdown=True,
    )
    with (
        code_servers,
        WorkspaceProcessContext(instance, target, grpc_server_registry=code_servers) as context,
    ):
        try:
            yield context
        finally:
            for run in instance.get_runs(filters=dg.RunsFilter(statuses=IN_PROGRESS_RUN_STATUSES)):
                instance.run_coordinator.cancel_run(run.run_id)


def remote_schedule(workspace: WorkspaceProcessContext, name: str) -> RemoteSchedule:
    request = workspace.create_request_context()
    (location,) = request.code_locations
    (repository,) = location.get_repositories().values()
    return repository.get_schedule(name)


def submit_job(
    workspace: WorkspaceProcessContext, job_name: str, run_config: dict[str, Any]
) -> str:
    """Queue a run of the job as `dagster job launch` does; its id."""
    request = workspace.create_request_context()
    (location,) = request.code_locations
    (repository,) = location.get_repositories().values()
    run = _create_run(
        instance=workspace.instance,
        code_location=location,
        remote_repo=repository,
        remote_job=repository.get_full_job(job_name),
        run_config=run_config,
        tags=None,
        op_selection=None,
        run_id=None,
    )
    return workspace.instance.submit_run(run.run_id, request).run_id


def wait_until_finished(instance: dg.DagsterInstance, run_id: str) -> dg.DagsterRunStatus:
    deadline = time.monotonic() + RUN_SECONDS
    while time.monotonic() < deadline:
        run = instance.get_run_by_id(run_id)
        if run is not None and run.is_finished:
            return run.status
        time.sleep(0.5)
    raise TimeoutError(f"run {run_id} did not finish in {RUN_SECONDS} s")


def test_deploy_profile_uses_postgres(
    instance: dg.DagsterInstance, postgres_server: PostgresServer, database: str
) -> None:
    assert isinstance(instance.run_storage, PostgresRunStorage)
    assert isinstance(instance.event_log_storage, PostgresEventLogStorage)
    assert isinstance(instance.schedule_storage, PostgresScheduleStorage)
    assert isinstance(instance.run_coordinator, QueuedRunCoordinator)
    assert isinstance(instance.scheduler, DagsterDaemonScheduler)
    assert instance.get_concurrency_config().pool_config.default_pool_limit == 1
    assert instance.run_retries_enabled
    assert instance.run_retries_max_retries == 2
    assert not instance.telemetry_enabled

    tables = {
        name
        for (name,) in postgres_server.fetch(
            database,
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
            "public",
        )
    }
    assert {"runs", "run_tags", "event_logs", "jobs", "job_ticks", "concurrency_limits"} <= tables

    # The pool limit of the deployment notes, set with the CLI on this instance
    result = subprocess.run(
        [DAGSTER, "instance", "concurrency", "set", "duckdb", "1"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert postgres_server.fetch(
        database, 'SELECT concurrency_key, "limit" FROM concurrency_limits'
    ) == [("duckdb", 1)]


def scheduler_pass(workspace: WorkspaceProcessContext, now: datetime.datetime) -> None:
    """One pass of the scheduler daemon as if the clock showed `now`, failing on its errors."""
    errors = launch_scheduled_runs(
        workspace, logging.getLogger(__name__), end_datetime_utc=now, iteration_times={}
    )
    assert [error for error in errors if error is not None] == []


def test_nightly_schedule_ticks_and_queues_a_run(
    workspace: WorkspaceProcessContext, postgres_server: PostgresServer, database: str
) -> None:
    instance = workspace.instance
    schedule = remote_schedule(workspace, NIGHTLY_SCHEDULE)
    assert (schedule.cron_schedule, schedule.execution_timezone) == ("0 2 * * *", "Europe/Riga")
    # Running from the start, without anyone switching it on in the UI
    assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING
    first_night, second_night = (
        night.astimezone(datetime.UTC)
        for night in islice(schedule.execution_time_iterator(time.time()), 2)
    )
    minute = datetime.timedelta(minutes=1)

    # The daemon's first pass records the schedule's state; a minute after the first 02:00 it
    # evaluates the tick, with nothing in landing; a minute after the second, with a delivery
    scheduler_pass(workspace, first_night - minute)
    scheduler_pass(workspace, first_night + minute)
    school = reference.schools()[0].school_id
    delivery = landing_dir() / school / "mykoob_20261116-20261116.xlsx"
    delivery.parent.mkdir(parents=True)
    # Only its name and time matter to the schedule; the run it asks for is never executed.
    delivery.write_bytes(b"delivery")
    scheduler_pass(workspace, second_night + minute)

    ticks = postgres_server.fetch(
        database,
        "SELECT timestamp, status, type, tick_body FROM job_ticks WHERE selector_id = %s"
        " ORDER BY timestamp",
        schedule.selector_id,
    )
    assert [(timestamp, status, kind) for timestamp, status, kind, _ in ticks] == [
        (first_night.replace(tzinfo=None), "SKIPPED", "SCHEDULE"),
        (second_night.replace(tzinfo=None), "SUCCESS", "SCHEDULE"),
    ]
    assert json.loads(ticks[0][3])["skip_reason"] == "no new deliveries in landing"
    (run_id,) = json.loads(ticks[1][3])["run_ids"]
    assert postgres_server.fetch(
        database,
        "SELECT status FROM jobs WHERE selector_id = %s AND job_type = 'SCHEDULE'",
        schedule.selector_id,
    ) == [("DECLARED_IN_CODE",)]

    assert postgres_server.fetch(
        database, "SELECT pipeline_name, status FROM runs WHERE run_id = %s", run_id
    ) == [(schedule.job_name, "QUEUED")]
    # Taken off the queue as an operator would, which also keeps it from the other tests' runs
    assert instance.run_coordinator.cancel_run(run_id)
    assert postgres_server.fetch(database, "SELECT status FROM runs WHERE run_id = %s", run_id) == [
        ("CANCELED",)
    ]

    tags = dict(
        postgres_server.fetch(database, "SELECT key, value FROM run_tags WHERE run_id = %s", run_id)
    )
    assert tags["dagster/schedule_name"] == NIGHTLY_SCHEDULE
    assert tags["dagster/asset_partition_range_start"] == school
    assert tags["dagster/asset_partition_range_end"] == school
    events = postgres_server.fetch(
        database,
        "SELECT dagster_event_type, partition FROM event_logs"
        " WHERE run_id = %s AND dagster_event_type IS NOT NULL ORDER BY id",
        run_id,
    )
    run_events = [kind for kind, _ in events if kind.startswith("PIPELINE_")]
    assert run_events == ["PIPELINE_ENQUEUED", "PIPELINE_CANCELING", "PIPELINE_CANCELED"]
    # The school's partition of the ingest assets was planned, and nothing executed
    planned = {partition for kind, partition in events if kind == "ASSET_MATERIALIZATION_PLANNED"}
    assert planned == {school}
    assert not any(kind.startswith("STEP_") for kind, _ in events)


def test_reference_job_runs_through_the_queue(
    workspace: WorkspaceProcessContext, postgres_server: PostgresServer, database: str
) -> None:
    instance = workspace.instance
    run_id = submit_job(workspace, reference_job.name, IN_PROCESS)
    assert postgres_server.fetch(database, "SELECT run_id FROM runs WHERE status = 'QUEUED'") == [
        (run_id,)
    ]

    # One pass of the daemon's run queue launches the run in a run worker process.
    with QueuedRunCoordinatorDaemon(interval_seconds=1) as daemon:
        errors = daemon.run_iteration(workspace)
        assert [error for error in errors if error is not None] == []
    assert wait_until_finished(instance, run_id) == dg.DagsterRunStatus.SUCCESS

    assert postgres_server.fetch(
        database, "SELECT pipeline_name, status FROM runs WHERE run_id = %s", run_id
    ) == [(reference_job.name, "SUCCESS")]
    events = postgres_server.fetch(
        database,
        "SELECT dagster_event_type, asset_key FROM event_logs"
        " WHERE run_id = %s AND dagster_event_type IS NOT NULL ORDER BY id",
        run_id,
    )
    run_events = [kind for kind, _ in events if kind.startswith("PIPELINE_")]
    assert run_events == [
        "PIPELINE_ENQUEUED",
        "PIPELINE_STARTING",
        "PIPELINE_START",
        "PIPELINE_SUCCESS",
    ]
    materialised = [key for kind, key in events if kind == "ASSET_MATERIALIZATION"]
    assert sorted(materialised) == sorted(
        dg.AssetKey(name).to_string() for name in REFERENCE_ASSETS
    )


def test_the_production_code_location_does_not_start_without_a_key(monkeypatch):
    """No server needed: the code location itself refuses to load."""
    monkeypatch.setenv("PMP_PG_HOST", "127.0.0.1")
    monkeypatch.delenv("PMP_PSEUDONYM_KEY", raising=False)
    with pytest.raises(MissingKey, match="does not start without PMP_PSEUDONYM_KEY"):
        defs()
    monkeypatch.setenv("PMP_PSEUDONYM_KEY", "test-key")
    assert defs().resolve_job_def("ingest_job")
