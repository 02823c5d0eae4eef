"""Retention purge on a copy of the demo's data folder: nothing goes before the due day or in a
dry run; from the due day every pupil-level file and table goes, and the aggregates stay."""

import hashlib
import json
import shutil
from datetime import date, timedelta
from pathlib import Path

import duckdb
import polars as pl
import pytest

from pipelines.cli import main
from pipelines.operations.rekey import keyed_tables, same_rows
from pipelines.operations.retention import PURGE_LOG, retention_rule
from pipelines.privacy.pseudonym import KEY_VARIABLE

AGGREGATES = ("publication", "exports", "reports", "quality")
PUPIL_LEVEL = ("landing", "archive", "staging", "rekey")
MARTS = ("school_indicators", "school_support", "weekly_absence", "project_to_date")


@pytest.fixture
def data(ingested, demo_warehouse, demo, tmp_path, monkeypatch) -> Path:
    """A data folder holding the demo's staging and warehouse, one school's deliveries and
    their archive, a rotation's leftover work folder, the demo key, and aggregates: the
    warehouse's marts as published tables, an extract, a dashboard and the quality report."""
    landing, _ = demo
    root = tmp_path / "data"
    shutil.copytree(ingested, root / "staging")
    shutil.copyfile(demo_warehouse, root / "warehouse.duckdb")
    shutil.copytree(landing / "KPP", root / "landing" / "KPP")
    archived = sorted((ingested.parent / "archive").rglob("*.*"))[:5]
    for path in archived:
        (root / "archive" / path.parent.name).mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, root / "archive" / path.parent.name / path.name)
    (root / "rekey" / "staging").mkdir(parents=True)
    (root / "rekey" / "staging" / "data.parquet").write_bytes(b"left over")
    con = duckdb.connect(str(demo_warehouse), read_only=True)
    try:
        for mart in MARTS:
            (root / "publication").mkdir(exist_ok=True)
            con.sql(f"FROM publication.{mart}").pl().write_parquet(
                root / "publication" / f"{mart}.parquet"
            )
    finally:
        con.close()
    (root / "publication" / "release.json").write_text('{"data_cutoff": "2026-11-20"}')
    extract = root / "exports" / "2025-26-S1" / "r1"
    extract.mkdir(parents=True)
    pl.read_parquet(root / "publication" / "school_indicators.parquet").write_csv(
        extract / "school_indicators.csv", separator=";"
    )
    (root / "reports").mkdir()
    (root / "reports" / "dashboard.html").write_text("<html><body>dashboard</body></html>")
    (root / "quality").mkdir()
    (root / "quality" / "report.html").write_text("<html><body>quality report</body></html>")
    home = tmp_path / "home"
    home.mkdir()
    (home / "pseudonym-demo.key").write_text("test-key")
    monkeypatch.setenv("PMP_DATA_DIR", str(root))
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    monkeypatch.delenv(KEY_VARIABLE, raising=False)
    return root


def contents(folder: Path) -> dict[str, str]:
    """Every file under the folder (and the demo key beside it) by its SHA-256."""
    files = [*folder.rglob("*"), *(folder.parent / "home").glob("*")]
    return {
        str(path.relative_to(folder.parent)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in files
        if path.is_file()
    }


def base_tables(database: Path) -> dict[str, pl.DataFrame]:
    con = duckdb.connect(str(database), read_only=True)
    try:
        relations = con.execute(
            "SELECT table_schema || '.' || table_name FROM information_schema.tables "
            "WHERE table_type = 'BASE TABLE' ORDER BY ALL"
        ).fetchall()
        return {relation: con.sql(f"FROM {relation}").pl() for (relation,) in relations}
    finally:
        con.close()


def test_the_purge_is_due_five_years_after_the_project_ends():
    rule = retention_rule()
    assert (rule.project_end, rule.years, rule.due) == (date(2029, 8, 31), 5, date(2034, 8, 31))


def test_before_the_due_day_nothing_is_deleted(data, capsys):
    before = contents(data)
    main(["purge", "--as-of", (retention_rule().due - timedelta(days=1)).isoformat()])
    assert "due on 31.08.2034" in capsys.readouterr().out
    assert contents(data) == before
    assert not (data / PURGE_LOG).exists()


def test_a_dry_run_lists_what_would_go_and_deletes_nothing(data, capsys):
    before = contents(data)
    main(["purge", "--as-of", retention_rule().due.isoformat(), "--dry-run"])
    out = capsys.readouterr().out
    assert contents(data) == before
    for listed in ("landing: folder", "archive: folder", "staging: folder", "rekey: folder"):
        assert listed in out
    assert "pseudonym-demo.key: file, 8 bytes" in out
    assert "core.pupils: table" in out and "staging.absences: view" in out
    assert "exports" not in out and "reports" not in out and "quality" not in out


def test_from_the_due_day_pupil_level_data_goes_and_aggregates_stay(data, capsys):
    kept = {
        name: digest for name, digest in contents(data).items() if name.split("/")[1] in AGGREGATES
    }
    tables = base_tables(data / "warehouse.duckdb")
    con = duckdb.connect(str(data / "warehouse.duckdb"), read_only=True)
    keyed = keyed_tables(con)
    con.close()
    size = (data / "warehouse.duckdb").stat().st_size

    main(["purge", "--as-of", retention_rule().due.isoformat()])
    assert "deleted" in capsys.readouterr().out

    assert not any((data / name).exists() for name in PUPIL_LEVEL)
    assert not (data.parent / "home" / "pseudonym-demo.key").exists()
    assert {n: d for n, d in contents(data).items() if n.split("/")[1] in AGGREGATES} == kept
    for mart in MARTS:
        assert pl.read_parquet(data / "publication" / f"{mart}.parquet").height > 0
    assert "dashboard" in (data / "reports" / "dashboard.html").read_text()

    after = base_tables(data / "warehouse.duckdb")
    assert keyed and set(after) == set(tables) - keyed
    assert all(same_rows(tables[relation], frame) for relation, frame in after.items())
    con = duckdb.connect(str(data / "warehouse.duckdb"), read_only=True)
    try:
        views = con.execute("SELECT count(*) FROM duckdb_views() WHERE NOT internal").fetchall()
        columns = con.execute(
            "SELECT count(*) FROM information_schema.columns WHERE column_name = 'pupil_key'"
        ).fetchall()
    finally:
        con.close()
    assert views[0][0] == 0 and columns[0][0] == 0
    assert (data / "warehouse.duckdb").stat().st_size < size

    (record,) = [json.loads(line) for line in (data / PURGE_LOG).read_text().splitlines()]
    assert record["due"] == "2034-08-31" and "pupil_data_years_after_project = 5" in record["rule"]
    deleted = {item["target"]: item for item in record["deleted"]}
    assert deleted["staging"]["files"] > 0 and deleted["core.pupils"]["rows"] > 0

    main(["purge", "--as-of", (retention_rule().due + timedelta(days=400)).isoformat()])
    assert "no pupil-level data left" in capsys.readouterr().out
    assert len((data / PURGE_LOG).read_text().splitlines()) == 1
