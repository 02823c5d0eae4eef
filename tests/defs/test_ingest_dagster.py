"""The Dagster side of ingest: the landing sensor and a partition run with its checks."""

import os
import shutil
from pathlib import Path

import dagster as dg
import pytest

from pipelines.defs.ingest import ingest_partition, landing_sensor
from pipelines.ingest.staging import read_table

FIXTURES = Path(__file__).parents[1] / "fixtures" / "tolerated"


@pytest.fixture
def data_dir(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("PMP_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("PMP_PSEUDONYM_KEY", "test-key")
    for school in ("TIS", "OGP"):
        folder = tmp_path / "landing" / school
        folder.mkdir(parents=True)
        for name in ("skoleni_20250901-20251219.csv", "kavejumi_utf8_20251006-20251008.csv"):
            shutil.copy(FIXTURES / name, folder / name)
    return tmp_path


def _tick(cursor: str | None) -> dg.SensorResult:
    return landing_sensor(dg.build_sensor_context(cursor=cursor))


def test_sensor_runs_changed_schools_only(data_dir):
    first = _tick(None)
    assert sorted(r.partition_key for r in first.run_requests) == ["OGP", "TIS"]

    unchanged = _tick(first.cursor)
    assert unchanged.run_requests == []
    assert unchanged.skip_reason is not None

    touched = data_dir / "landing" / "OGP" / "skoleni_20250901-20251219.csv"
    os.utime(touched, (1_900_000_000, 1_900_000_000))
    assert _tick(unchanged.cursor).run_requests == []

    changed = data_dir / "landing" / "TIS" / "kavejumi_utf8_20251006-20251008.csv"
    changed.write_text(changed.read_text(encoding="utf-8").replace(";nk", ";n"), encoding="utf-8")
    after = _tick(unchanged.cursor)
    assert [r.partition_key for r in after.run_requests] == ["TIS"]
    old_key = next(r.run_key for r in first.run_requests if r.partition_key == "TIS")
    assert after.run_requests[0].run_key != old_key


def test_sensor_sends_stray_files_to_the_municipality_partition(data_dir):
    stray = data_dir / "landing" / "NOPE"
    stray.mkdir()
    (stray / "kavejumi.csv").write_text("x", encoding="utf-8")
    partitions = sorted(r.partition_key for r in _tick(None).run_requests)
    assert partitions == ["OGP", "TIS", "_municipality"]


def test_a_partition_run_stages_and_passes_its_checks(data_dir):
    result = dg.materialize(
        [ingest_partition], partition_key="TIS", instance=dg.DagsterInstance.ephemeral()
    )
    assert result.success
    checks = result.get_asset_check_evaluations()
    assert {c.check_name for c in checks} >= {"rows_reconcile", "no_identifiers"}
    by_name = {c.check_name: c for c in checks}
    # the fixture files were delivered just now, by one school of the sixteen
    assert all(c.passed for name, c in by_name.items() if name != "deliveries_complete")
    fresh = by_name["latest_delivery_fresh"]
    assert "TIS" in fresh.metadata["latest_by_partition"].value
    complete = by_name["deliveries_complete"]
    assert not complete.passed and complete.severity == dg.AssetCheckSeverity.WARN
    assert complete.metadata["publication_held"].value is True
    assert "TIS" not in complete.metadata["missing_schools"].value.split(", ")
    materialized = {
        e.asset_key.to_user_string(): e.materialization.metadata
        for e in result.get_asset_materialization_events()
    }
    assert materialized["staging/absences"]["dagster/row_count"].value == 5
    assert materialized["ingest/delivery_log"]["dagster/row_count"].value == 2
    staged = read_table(data_dir / "staging", "absences", ["TIS"])
    assert staged.height == 5
    assert not (data_dir / "staging" / "absences" / "OGP").exists()


def test_a_first_tick_runs_only_what_the_delivery_log_has_not_seen(data_dir):
    """A new instance over ingested data (`make dev` after `make demo`): the sensor's first
    tick requests the schools with files not yet ingested, not every school with files."""
    ingested = dg.materialize(
        [ingest_partition], partition_key="TIS", instance=dg.DagsterInstance.ephemeral()
    )
    assert ingested.success
    first = _tick(None)
    assert [r.partition_key for r in first.run_requests] == ["OGP"]
    assert _tick(first.cursor).run_requests == []
