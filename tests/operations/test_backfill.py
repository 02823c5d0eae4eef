"""`pmp backfill`: a semester restored from the archive and the warehouse rebuilt from it."""

from datetime import date
from pathlib import Path

import pytest

from pipelines.feedback import OperatorError
from pipelines.ingest.staging import read_table
from pipelines.operations.backfill import backfill, deliveries_covering
from pipelines.privacy.pseudonym import PseudonymKey
from pipelines.warehouse.build import build, connect_read_only, table_checksums

KEY = PseudonymKey(b"test-key", "the test key")


def checksums(database: Path, staging: Path) -> dict:
    con = connect_read_only(database, staging)
    try:
        return table_checksums(con, ("core", "indicators", "programme", "publication"))
    finally:
        con.close()


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
    lost = landing / "OVG" / "kavejumi_20251001-20251031.csv"  # one month of the semester
    delivered_at = lost.stat().st_mtime
    original = lost.read_bytes()
    lost.unlink()
    report = backfill("2025/26-S1", landing, archive, staging, database, KEY, workers=1)
    assert report.restored == [lost]
    assert lost.read_bytes() == original and lost.stat().st_mtime == delivered_at
    rebuilt = {run.relation: run.rebuilt_from for run in report.models}
    assert rebuilt["core.lesson_absences"] == "2025/26-S1"
    assert checksums(database, staging) == before
    with pytest.raises(OperatorError, match="unknown semester 2030/31-S1: the school calendar"):
        backfill("2030/31-S1", landing, archive, staging, database, KEY, workers=1)
