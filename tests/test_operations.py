"""The unattended night: the schedule, automation downstream of staging, completeness and
lateness of deliveries, publication held when too many schools are missing, and backfill."""

import shutil
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from pipelines import contract, reference
from pipelines.backfill import backfill, deliveries_covering
from pipelines.completeness import completeness, expected_night, late_partitions
from pipelines.definitions import defs
from pipelines.defs.policies import IO_RETRY
from pipelines.defs.schedules import nightly_schedule
from pipelines.ingest import stage_partitions
from pipelines.publish import PublicationHeld, hold_if_incomplete, prepare
from pipelines.staging import read_table, staging_file, write_table
from pipelines.warehouse import build, connect_read_only, table_checksums

SCHOOLS = [s.school_id for s in reference.schools() if s.valid_on(date(2026, 11, 20))]
KEY = b"test-key"


def checksums(database: Path, staging: Path) -> dict:
    con = connect_read_only(database, staging)
    try:
        return table_checksums(con, ("core", "indicators", "programme", "publication"))
    finally:
        con.close()


def riga(text: str) -> datetime:
    """A Riga wall-clock time (EET in winter) as UTC."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC) - timedelta(hours=2)


def delivery_log(rows: list[tuple[str, str, str]]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "school_id": [school for school, _, _ in rows],
            "received_at": [riga(moment) for _, moment, _ in rows],
            "status": [status for _, _, status in rows],
        }
    )


def test_every_existing_school_is_expected_and_a_rejected_file_is_no_delivery():
    night = [(s, "2026-11-20 23:05", "loaded") for s in SCHOOLS[2:]]
    log = delivery_log([*night, (SCHOOLS[1], "2026-11-20 23:10", "rejected")])
    found = completeness(log, reference.schools())
    assert found.night == date(2026, 11, 20)
    assert len(found.expected) == 16  # the three schools merged into MRV are not expected
    assert found.missing == SCHOOLS[:2]
    assert not found.held
    assert "14 of 16 schools delivered; missing: " in found.summary()


def test_a_delivery_after_midnight_belongs_to_the_night_before():
    log = delivery_log([(s, "2026-11-21 01:30", "loaded") for s in SCHOOLS])
    assert completeness(log, reference.schools()).night == date(2026, 11, 20)


def test_publication_is_held_when_more_than_a_fifth_of_schools_are_missing():
    four_missing = delivery_log([(s, "2026-11-20 23:05", "loaded") for s in SCHOOLS[4:]])
    found = completeness(four_missing, reference.schools())
    assert found.missing_share == 0.25 and found.held
    three_missing = delivery_log([(s, "2026-11-20 23:05", "loaded") for s in SCHOOLS[3:]])
    assert not completeness(three_missing, reference.schools()).held


def test_held_publication_names_the_schools_and_writes_nothing(ingested, demo_warehouse, tmp_path):
    staging = tmp_path / "staging"
    shutil.copytree(ingested, staging)
    missing = SCHOOLS[:4]
    for school in missing:
        path = staging_file(staging, "delivery_log", school)
        log = pl.read_parquet(path)
        write_table(log.filter(pl.col("received_at") < riga("2026-11-20 12:00")), path)
    with pytest.raises(PublicationHeld, match="25% of the schools") as held:
        prepare(demo_warehouse, staging)
    assert all(school in str(held.value) for school in missing)
    assert hold_if_incomplete(ingested).missing == []


def test_lateness_waits_for_a_school_day():
    friday_night = delivery_log([("OVG", "2026-11-13 23:05", "loaded")]).with_columns(
        pl.lit("OVG").alias("school_id")
    )
    monday_morning = riga("2026-11-16 10:00")
    tuesday_morning = riga("2026-11-17 10:00")
    assert expected_night(monday_morning) == date(2026, 11, 13)
    assert not late_partitions(friday_night, ["OVG"], monday_morning)["late"][0]
    assert late_partitions(friday_night, ["OVG"], tuesday_morning)["late"][0]
    # 18 November is a public holiday: Tuesday night's delivery is the one due on Thursday
    tuesday_night = delivery_log([("OVG", "2026-11-17 23:05", "loaded")])
    assert expected_night(riga("2026-11-19 10:00")) == date(2026, 11, 17)
    assert not late_partitions(tuesday_night, ["OVG"], riga("2026-11-19 10:00"))["late"][0]


@pytest.fixture
def small_landing(demo, tmp_path) -> tuple[Path, Path, Path]:
    """One school and the municipality from the demo, ingested: landing, archive, staging."""
    landing, _ = demo
    root = tmp_path / "data"
    for partition in ("OVG", contract.MUNICIPALITY_FOLDER):
        shutil.copytree(landing / partition, root / "landing" / partition)
    partitions = [s.school_id for s in reference.schools()] + [contract.MUNICIPALITY_FOLDER]
    stage_partitions(
        partitions, root / "landing", root / "archive", root / "staging", KEY, workers=1
    )
    return root / "landing", root / "archive", root / "staging"


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


def test_backfill_restores_a_semester_from_the_archive_and_rebuilds_from_it(
    small_landing, tmp_path
):
    landing, archive, staging = small_landing
    database = tmp_path / "warehouse.duckdb"
    build(database, staging, full_refresh=True)
    before = checksums(database, staging)
    log = read_table(staging, "delivery_log")
    covering = deliveries_covering(log, "2025/26-S1")
    assert covering["period_start"].max() <= date(2026, 1, 4)
    assert covering["period_end"].min() >= date(2025, 9, 1)
    assert "OVG/kavejumi_20261120-20261120.csv" not in covering["file"].to_list()
    lost = landing / "OVG" / "kavejumi_20250901-20251219.csv"
    delivered_at = lost.stat().st_mtime
    original = lost.read_bytes()
    lost.unlink()
    report = backfill("2025/26-S1", landing, archive, staging, database, KEY, workers=1)
    assert report.restored == [lost]
    assert lost.read_bytes() == original and lost.stat().st_mtime == delivered_at
    rebuilt = {run.relation: run.rebuilt_from for run in report.models}
    assert rebuilt["core.lesson_absences"] == "2025/26-S1"
    assert checksums(database, staging) == before
    with pytest.raises(ValueError, match="one of 2025/26-S1"):
        backfill("2030/31-S1", landing, archive, staging, database, KEY, workers=1)


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
