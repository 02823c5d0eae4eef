"""The nightly schedule, the automation that carries a night's deliveries down to the dashboard
with no click, the nightly freshness policy, and retries."""

import hashlib
import json
import shutil
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import dagster as dg
import pytest
from dagster._core.definitions.asset_daemon_cursor import AssetDaemonCursor

from pipelines.definitions import defs
from pipelines.defs.automation import automation
from pipelines.defs.policies import IO_RETRY, NIGHTLY_FRESHNESS, WEEKLY_FRESHNESS
from pipelines.defs.schedules import nightly_schedule
from pipelines.defs.warehouse import model_key
from pipelines.demo.generate import generate, manifest_path
from pipelines.ingest.staging import read_table
from pipelines.publication.releases import CURRENT, RELEASES
from pipelines.warehouse.models import discover_models

pytestmark = pytest.mark.slow(35)

RIGA = ZoneInfo("Europe/Riga")
# The demo's last night: the last Thursday of the first semester, a night publication can
# protect (mid-month nights are the disclosure issue's).
LAST_NIGHT = date(2025, 12, 18)
CHAIN = ("warehouse", "publication", "reports")
MAX_TICKS = 5


def _downstream(definitions: dg.Definitions) -> set[dg.AssetKey]:
    graph = definitions.resolve_asset_graph()
    return {key for key in graph.get_all_asset_keys() if key.path[0] in CHAIN}


def _analysis() -> set[dg.AssetKey]:
    """The warehouse's analysis models, rebuilt weekly rather than after every ingest."""
    return {model_key(m.relation) for m in discover_models() if m.analysis}


def test_the_nightly_schedule_ingests_only_partitions_with_new_files(small_landing, monkeypatch):
    landing, _, staging = small_landing
    monkeypatch.setenv("PMP_DATA_DIR", str(landing.parent))
    at_two = datetime(2026, 11, 21, 2, 0, tzinfo=UTC)
    context = dg.build_schedule_context(scheduled_execution_time=at_two)
    assert isinstance(nightly_schedule(context), dg.SkipReason)
    new_file = landing / "OVG" / "kavejumi_20261123-20261123.csv"
    shutil.copyfile(landing / "OVG" / "kavejumi_20261120-20261120.csv", new_file)
    request = nightly_schedule(context)
    assert request.tags["dagster/asset_partition_range_start"] == "OVG"
    assert request.tags["dagster/asset_partition_range_end"] == "OVG"
    assert request.run_key == "nightly:2026-11-21"
    assert nightly_schedule.execution_timezone == "Europe/Riga"
    assert nightly_schedule.cron_schedule == "0 2 * * *"
    assert read_table(staging, "delivery_log") is not None


def test_the_automation_sensor_runs_from_the_start_over_every_automated_asset():
    definitions = defs()
    graph = definitions.resolve_asset_graph()
    sensor = definitions.resolve_sensor_def("automation")
    assert isinstance(sensor, dg.AutomationConditionSensorDefinition)
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING
    automated = {k for k in graph.get_all_asset_keys() if graph.get(k).automation_condition}
    assert automated == _downstream(definitions)
    assert automated <= sensor.asset_selection.resolve(graph)


def test_a_staging_update_carries_down_to_the_dashboard_by_automation():
    definitions = defs()
    graph = definitions.resolve_asset_graph()
    with dg.DagsterInstance.ephemeral() as instance:
        first = dg.evaluate_automation_conditions(
            defs=definitions, instance=instance, asset_selection=automation.asset_selection
        )
        assert first.total_requested == 0
        instance.report_runless_asset_event(
            dg.AssetMaterialization(asset_key=["staging", "absences"], partition="OVG")
        )
        second = dg.evaluate_automation_conditions(
            defs=definitions,
            instance=instance,
            asset_selection=automation.asset_selection,
            cursor=first.cursor,
        )
        requested = {k for k in graph.get_all_asset_keys() if second.get_num_requested(k)}
    assert requested == _downstream(definitions) - _analysis()


def test_the_analysis_models_are_rebuilt_on_the_weekly_tick_and_not_before():
    definitions = defs()
    graph = definitions.resolve_asset_graph()
    friday = datetime(2026, 11, 20, 12, 0, tzinfo=RIGA)
    with dg.DagsterInstance.ephemeral() as instance:
        cursor = None
        requested = []
        for moment in (friday, friday + timedelta(hours=19), friday + timedelta(hours=21)):
            result = dg.evaluate_automation_conditions(
                defs=definitions, instance=instance, asset_selection=automation.asset_selection,
                cursor=cursor, evaluation_time=moment,
            )  # fmt: skip
            cursor = result.cursor
            requested.append({k for k in graph.get_all_asset_keys() if result.get_num_requested(k)})
    # Friday noon and Saturday 07:00: nothing; Saturday 09:00, after the 08:00 tick: them.
    assert requested[1] == set() and requested[2] == _analysis()


def test_the_warehouse_the_publication_and_the_dashboard_carry_the_nightly_policy():
    graph = defs().resolve_asset_graph()
    policies = {key: graph.get(key).freshness_policy for key in graph.get_all_asset_keys()}
    nightly = {key for key, policy in policies.items() if policy == NIGHTLY_FRESHNESS}
    assert nightly == {key for key in policies if key.path[0] in CHAIN} - _analysis()
    weekly = {key for key, policy in policies.items() if policy == WEEKLY_FRESHNESS}
    assert weekly == _analysis() and len(weekly) == 8
    assert NIGHTLY_FRESHNESS.deadline_cron == "0 6 * * 2,3,4,5,6"
    assert NIGHTLY_FRESHNESS.timezone == "Europe/Riga"


def test_every_step_after_the_reference_data_retries_transient_io_with_backoff():
    steps = {  # the reference data's assets have one-part keys and read committed files
        assets.node_def.name: assets.node_def.retry_policy
        for assets in defs().assets or []
        if isinstance(assets, dg.AssetsDefinition) and any(len(k.path) > 1 for k in assets.keys)
    }
    assert set(steps) == {
        "ingest_partition", "warehouse_build", "warehouse_analysis",
        "publication__published_tables",
        "publication__ministry_extracts", "reports__dashboard", "reports__dashboard_internal",
    }  # fmt: skip
    assert all(policy == IO_RETRY for policy in steps.values())
    assert IO_RETRY.backoff == dg.Backoff.EXPONENTIAL and IO_RETRY.max_retries == 2


@pytest.fixture(scope="module")
def small_demo(tmp_path_factory) -> tuple[Path, list[dict]]:
    """A small demo (every school, a fiftieth of the pupils) ending on LAST_NIGHT, and the
    files of its manifest."""
    landing = tmp_path_factory.mktemp("small_demo") / "landing"
    generate(landing, end_date=LAST_NIGHT, scale=0.02)
    return landing, json.loads(manifest_path(landing).read_text(encoding="utf-8"))["files"]


def _land(source: Path, landing: Path, files: Iterable[str]) -> None:
    """Deliver files as the schools did: copied with their delivery time."""
    for name in files:
        (landing / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source / name, landing / name)


def _night(definitions: dg.Definitions, instance: dg.DagsterInstance, night: date) -> None:
    """The nightly schedule's tick at 02:00 after `night`, and the ingest run it requests."""
    at = datetime.combine(night + timedelta(days=1), time(2, 0), RIGA)
    request = nightly_schedule(
        dg.build_schedule_context(instance=instance, scheduled_execution_time=at)
    )
    assert isinstance(request, dg.RunRequest)
    ingest = definitions.resolve_job_def("ingest_job")
    assert ingest.execute_in_process(instance=instance, tags=request.tags).success


def _automate(
    definitions: dg.Definitions, instance: dg.DagsterInstance, cursor: AssetDaemonCursor | None
) -> tuple[list[set[dg.AssetKey]], AssetDaemonCursor]:
    """Tick the automation sensor (its target, its cursor) and run what each tick requests,
    as the daemon would, until a tick requests nothing: what each tick requested, and the
    cursor."""
    graph = definitions.resolve_asset_graph()
    every_asset = definitions.resolve_implicit_global_asset_job_def()
    ticks = []
    for _ in range(MAX_TICKS):
        tick = dg.evaluate_automation_conditions(
            defs=definitions,
            instance=instance,
            asset_selection=automation.asset_selection,
            cursor=cursor,
        )
        cursor = tick.cursor
        requested = {key for key in graph.get_all_asset_keys() if tick.get_num_requested(key)}
        if not requested:
            return ticks, cursor
        ticks.append(requested)
        run = every_asset.execute_in_process(instance=instance, asset_selection=sorted(requested))
        assert run.success
    raise AssertionError(f"automation still requesting after {MAX_TICKS} ticks: {ticks}")


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_night_of_deliveries_flows_to_a_new_release_and_dashboard_with_no_click(
    small_demo, gate_in_process, tmp_path, monkeypatch
):
    """The quality gate runs in the test's own process (`gate_in_process`): this test is
    about what the automation runs, not about the gate's worker process."""
    source, files = small_demo
    data = tmp_path / "data"
    monkeypatch.setenv("PMP_DATA_DIR", str(data))
    monkeypatch.setenv("PMP_PSEUDONYM_KEY", "test-key")
    tonight = sorted(
        f["file"] for f in files if date.fromisoformat(f["delivered_at"][:10]) == LAST_NIGHT
    )
    _land(source, data / "landing", sorted({f["file"] for f in files} - set(tonight)))
    definitions = defs()
    downstream = _downstream(definitions) - _analysis()  # the analysis models wait for Saturday
    with dg.DagsterInstance.ephemeral() as instance:
        assert (
            definitions.resolve_job_def("reference_job")
            .execute_in_process(instance=instance)
            .success
        )
        _, cursor = _automate(definitions, instance, None)

        _night(definitions, instance, date(2025, 12, 17))
        ticks, cursor = _automate(definitions, instance, cursor)
        assert set().union(*ticks) == downstream
        before = (data / "publication" / CURRENT).resolve()
        published = {p.name: _digest(p) for p in before.glob("*.parquet")}
        drawn = _digest(data / "reports" / "dashboard.html")

        _land(source, data / "landing", tonight)
        _night(definitions, instance, LAST_NIGHT)
        ticks, _ = _automate(definitions, instance, cursor)

    assert set().union(*ticks) == downstream  # every step ran, and then nothing more
    releases = sorted(p.name for p in (data / "publication" / RELEASES).iterdir())
    after = (data / "publication" / CURRENT).resolve()
    assert after != before and after.parent.name == RELEASES and after.name == releases[-1]
    republished = {p.name: _digest(p) for p in after.glob("*.parquet")}
    assert republished.keys() == published.keys()
    assert republished["weekly_absence.parquet"] != published["weekly_absence.parquet"]
    assert _digest(data / "reports" / "dashboard.html") != drawn
