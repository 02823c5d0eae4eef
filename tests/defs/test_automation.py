"""The nightly schedule, automation from staging down to the dashboard, and retries."""

import shutil
from datetime import UTC, datetime

import dagster as dg

from pipelines.definitions import defs
from pipelines.defs.policies import IO_RETRY
from pipelines.defs.schedules import nightly_schedule
from pipelines.ingest.staging import read_table


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


def test_a_staging_update_carries_down_to_the_dashboard_by_automation():
    definitions = defs()
    graph = definitions.resolve_asset_graph()
    downstream = {
        key
        for key in graph.get_all_asset_keys()
        if key.path[0] in ("warehouse", "publication", "reports")
    }
    with dg.instance_for_test() as instance:
        first = dg.evaluate_automation_conditions(defs=definitions, instance=instance)
        assert first.total_requested == 0
        instance.report_runless_asset_event(
            dg.AssetMaterialization(asset_key=["staging", "absences"], partition="OVG")
        )
        second = dg.evaluate_automation_conditions(
            defs=definitions, instance=instance, cursor=first.cursor
        )
        requested = {k for k in graph.get_all_asset_keys() if second.get_num_requested(k)}
    assert requested == downstream


def test_every_step_after_the_reference_data_retries_transient_io_with_backoff():
    steps = {  # the reference data's assets have one-part keys and read committed files
        assets.node_def.name: assets.node_def.retry_policy
        for assets in defs().assets or []
        if isinstance(assets, dg.AssetsDefinition) and any(len(k.path) > 1 for k in assets.keys)
    }
    assert set(steps) == {
        "ingest_partition", "warehouse_build", "publication__published_tables",
        "publication__ministry_extracts", "reports__dashboard",
    }  # fmt: skip
    assert all(policy == IO_RETRY for policy in steps.values())
    assert IO_RETRY.backoff == dg.Backoff.EXPONENTIAL and IO_RETRY.max_retries == 2
