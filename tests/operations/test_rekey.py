"""Key rotation: the demo's staging and warehouse, after a nightly build on new data, re-keyed
from the test key to a new one. The rotation goes through although the nightly build left
the analysis models stale, no old key is left, every new key is the HMAC of the delivered
code, the warehouse keeps its history, and the next build compares against the mapped
previous flags."""

import shutil
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl
import pytest

from pipelines.cli import main
from pipelines.ingest import contract
from pipelines.ingest.contract import STAGING_TABLES
from pipelines.ingest.partition import stage_partitions
from pipelines.ingest.readers import read_delivery
from pipelines.ingest.staging import KEY_FINGERPRINT_FILE, PARQUET_GLOB, PARQUET_NAME
from pipelines.operations.rekey import (
    DRAWN_BY_KEY,
    READY_FILE,
    RekeyError,
    Rotation,
    keyed_tables,
    prepare_rotation,
    rotate_key,
    same_rows,
    work_folder,
)
from pipelines.privacy.pseudonym import (
    KEY_VARIABLE,
    DemoKeyWarning,
    PseudonymKey,
    key_fingerprint,
    pupil_key,
)
from pipelines.warehouse.build import ModelRun, Scope, build

pytestmark = pytest.mark.slow(90)

OLD_KEY = b"test-key"  # the key the `ingested` fixture pseudonymises with
NEW_KEY = b"a-new-test-key"
# Digests of the pupil key the warehouse computes: a rotation recomputes them.
DERIVED_IDS = ("spell_id", "previous_spell_id", "support_id")
# Two small schools and the municipality, re-ingested with the new key for comparison: none
# of them delivered on the night the `rotated` fixture withdraws.
FRESH_PARTITIONS = ["KPP", "TAP", contract.MUNICIPALITY_FOLDER]


@dataclass(frozen=True)
class Rotated:
    before: Path  # the data folder as the rotation found it: staging/ and warehouse.duckdb
    after: Path  # the same after the rotation
    archive: Path
    night: list[ModelRun]  # the nightly build before the rotation
    rotation: Rotation


@pytest.fixture(scope="module")
def rotated(ingested, demo_warehouse, tmp_path_factory) -> Rotated:
    """The demo after a nightly build on new data (the staging without its latest night, so
    that the analysis models are left stale) whose previous flags lacked every MK 89 crossing
    (so that the change report is not empty), and a copy of it rotated to the new key. The
    rotation brings the live analysis models up to date first, and so does the weekly
    analysis build on the copy kept as the rotation found it."""
    root = tmp_path_factory.mktemp("rekey")
    before, after = root / "before", root / "after"
    shutil.copytree(ingested, before / "staging")
    shutil.copyfile(demo_warehouse, before / "warehouse.duckdb")
    withdraw_last_night(before / "staging")
    con = duckdb.connect(str(before / "warehouse.duckdb"))
    con.execute("DELETE FROM indicators.current_flags WHERE rule_id = 'MK89_UNJUSTIFIED'")
    con.close()
    night = build(before / "warehouse.duckdb", before / "staging", scope=Scope.NIGHTLY)
    shutil.copytree(before, after)
    archive = ingested.parent / "archive"
    rotation = rotate_key(
        after / "staging", archive, after / "warehouse.duckdb", work_folder(after), OLD_KEY, NEW_KEY
    )
    build(before / "warehouse.duckdb", before / "staging", scope=Scope.ANALYSIS)
    return Rotated(before, after, archive, night, rotation)


def withdraw_last_night(staging: Path) -> None:
    """Staging as if the latest night's deliveries were withdrawn: their rows and log lines
    gone, so that the next build is incremental and has flags to report."""
    log = pl.read_parquet(staging / "delivery_log" / "*" / PARQUET_NAME)
    loaded = log.filter(pl.col("status") == "loaded")
    latest = loaded.filter(pl.col("period_start") == pl.col("period_start").max())["sha256"]
    for path in staging.glob(f"*/*/{PARQUET_GLOB}"):
        frame = pl.read_parquet(path)
        column = "sha256" if path.parts[-3] == "delivery_log" else "delivery_sha"
        if column in frame.columns:
            frame.filter(~pl.col(column).is_in(latest.implode())).write_parquet(path)


def keyed_files(staging: Path) -> list[Path]:
    return [
        path.relative_to(staging)
        for path in sorted(staging.glob(f"*/*/{PARQUET_GLOB}"))
        if "pupil_key" in pl.read_parquet_schema(path)
    ]


def key_pairs(rotated: Rotated) -> pl.DataFrame:
    """Old key and new key of every staged row, matched by the row, not by the mapping."""
    pairs = []
    for relative in keyed_files(rotated.before / "staging"):
        old = pl.read_parquet(rotated.before / "staging" / relative)
        new = pl.read_parquet(rotated.after / "staging" / relative)
        assert old.drop("pupil_key").equals(new.drop("pupil_key")), relative
        pairs.append(pl.DataFrame({"old_key": old["pupil_key"], "new_key": new["pupil_key"]}))
    return pl.concat(pairs).unique()


def string_values(con: duckdb.DuckDBPyConnection, values: set[str]) -> dict[str, int]:
    """How many values of every text column of every table are in `values`."""
    con.register("needles", pl.DataFrame({"value": sorted(values)}))
    columns = con.execute(
        "SELECT c.table_schema, c.table_name, c.column_name FROM information_schema.columns AS c "
        "JOIN information_schema.tables AS t USING (table_catalog, table_schema, table_name) "
        "WHERE t.table_type = 'BASE TABLE' AND c.data_type = 'VARCHAR'"
    ).fetchall()
    found = {}
    for schema, table, column in columns:
        found[f"{schema}.{table}.{column}"] = con.execute(
            f'SELECT count(*) FROM {schema}.{table} WHERE "{column}" IN (SELECT value FROM needles)'
        ).fetchall()[0][0]
    return found


def test_no_old_key_is_left_anywhere(rotated):
    old_keys = set(key_pairs(rotated)["old_key"].drop_nulls())
    old_ids = set()
    before = duckdb.connect(str(rotated.before / "warehouse.duckdb"), read_only=True)
    try:
        for relation in keyed_tables(before):
            old_keys |= set(before.sql(f"SELECT pupil_key FROM {relation}").pl()["pupil_key"])
            columns = {c for (c, *_) in before.execute(f"DESCRIBE {relation}").fetchall()}
            for column in columns.intersection(DERIVED_IDS):
                old_ids |= set(before.sql(f"SELECT {column} FROM {relation}").pl()[column])
    finally:
        before.close()
    old_keys.discard(None)
    old_ids.discard(None)
    assert old_keys and old_ids

    fingerprint = rotated.after / "staging" / KEY_FINGERPRINT_FILE
    assert fingerprint.read_text(encoding="utf-8").strip() == key_fingerprint(NEW_KEY)
    files = sorted(p for p in (rotated.after / "staging").rglob("*") if p.is_file())
    assert {path.suffix for path in files if path != fingerprint} == {".parquet"}
    old_key_series = pl.Series(sorted(old_keys))
    for path in (p for p in files if p != fingerprint):
        frame = pl.read_parquet(path)
        for column in (name for name, dtype in frame.schema.items() if dtype == pl.String):
            assert not frame[column].is_in(old_key_series.implode()).any(), f"{path}: {column}"

    after = duckdb.connect(str(rotated.after / "warehouse.duckdb"), read_only=True)
    try:
        found = string_values(after, old_keys | old_ids)
    finally:
        after.close()
    assert found and not {column: n for column, n in found.items() if n}
    assert not work_folder(rotated.after).exists()


def test_every_new_key_is_the_hmac_of_the_delivered_code(rotated):
    staging = rotated.after / "staging"
    con = duckdb.connect(str(rotated.after / "warehouse.duckdb"), read_only=True)
    warehouse_keys = {k for (k,) in con.execute("SELECT pupil_key FROM core.pupils").fetchall()}
    con.close()
    checked = 0
    for table in ("pupils", "absences", "grades", "support", "social_status"):
        frame = pl.read_parquet(staging / table / "*" / PARQUET_GLOB).sample(8, seed=1)
        for row in frame.iter_rows(named=True):
            sha = row["delivery_sha"]
            (delivered,) = (rotated.archive / sha[:2]).glob(f"{sha}.*")
            (raw,) = [t for t in read_delivery(delivered) if t.kind == STAGING_TABLES[table].name]
            code = raw.rows.filter(pl.col("row") == row["source_row"])["Personas kods"].item()
            assert row["pupil_key"] == pupil_key(NEW_KEY, code)
            assert row["pupil_key"] != pupil_key(OLD_KEY, code)
            if table == "pupils":
                assert row["pupil_key"] in warehouse_keys
            checked += 1
    assert checked == 40


def test_staging_equals_an_ingest_with_the_new_key(rotated, demo, tmp_path):
    landing, _ = demo
    staging = tmp_path / "staging"
    shutil.copytree(rotated.after / "staging" / "pupils", staging / "pupils")
    stage_partitions(
        FRESH_PARTITIONS, landing, tmp_path / "archive", staging,
        PseudonymKey(NEW_KEY, "the new key"), workers=1,
    )  # fmt: skip
    compared = 0
    for path in sorted(staging.glob(f"*/*/{PARQUET_GLOB}")):
        if path.parent.name in FRESH_PARTITIONS:
            relative = path.relative_to(staging)
            rekeyed = pl.read_parquet(rotated.after / "staging" / relative)
            assert rekeyed.equals(pl.read_parquet(path)), relative
            compared += 1
    assert compared >= 10


def test_the_warehouse_keeps_its_history(rotated):
    """Tables without pupil keys (aggregates, published marts, the change report) are the same
    before and after; tables with them are the same once the old keys are mapped, apart from
    the identifiers derived from the key; the evaluation's draws, seeded by the keys, keep
    their rows."""
    con = duckdb.connect()
    try:
        con.register("pairs", key_pairs(rotated))
        for when in (rotated.before, rotated.after):
            con.execute(f"ATTACH '{when / 'warehouse.duckdb'}' AS {when.name} (READ_ONLY)")
        relations = con.execute(
            "SELECT table_schema || '.' || table_name FROM information_schema.tables "
            "WHERE table_catalog = 'before' AND table_type = 'BASE TABLE' ORDER BY ALL"
        ).fetchall()
        compared = 0
        for (relation,) in relations:
            columns = [c for (c, *_) in con.execute(f"DESCRIBE before.{relation}").fetchall()]
            derived = [c for c in DERIVED_IDS if c in columns]
            dropped = f" EXCLUDE ({', '.join(derived)})" if derived else ""
            if "pupil_key" in columns:
                old = con.sql(
                    f"SELECT t.*{dropped} REPLACE (p.new_key AS pupil_key) FROM before.{relation} "
                    "AS t LEFT JOIN pairs AS p ON t.pupil_key = p.old_key"
                ).pl()
            else:
                old = con.sql(f"SELECT *{dropped} FROM before.{relation}").pl()
            new = con.sql(f"SELECT *{dropped} FROM after.{relation}").pl()
            if relation in DRAWN_BY_KEY:
                assert old.height == new.height, relation
            else:
                assert same_rows(old, new), relation
            compared += 1
        changes = con.sql("SELECT sum(new_flags) FROM after.programme.flag_changes").fetchall()
    finally:
        con.close()
    assert compared >= 25
    assert changes[0][0] > 0


def test_the_next_build_compares_against_the_mapped_previous_flags(rotated, tmp_path):
    """The next nightly build reports the same flag changes with the rotation as without it:
    no flag is new only because its key changed."""
    reports = []
    for when in (rotated.before, rotated.after):
        copy = tmp_path / when.name
        shutil.copytree(when, copy)
        withdraw_last_night(copy / "staging")
        runs = build(copy / "warehouse.duckdb", copy / "staging", scope=Scope.NIGHTLY)
        assert any(run.rebuilt_from for run in runs)  # incremental, from the latest semester
        con = duckdb.connect(str(copy / "warehouse.duckdb"), read_only=True)
        try:
            reports.append(con.sql("FROM programme.flag_changes").pl())
            flags = con.execute("SELECT count(*) FROM indicators.current_flags").fetchall()[0][0]
        finally:
            con.close()
    without_rotation, with_rotation = reports
    assert same_rows(without_rotation, with_rotation)
    changes = with_rotation["new_flags"].sum() + with_rotation["cleared_flags"].sum()
    assert 0 < changes < flags


def test_a_rotation_after_a_nightly_build_on_new_data_succeeds(rotated):
    """A nightly build leaves the analysis models as the last weekly build made them, the
    rotation's full build makes them fresh: the rotation brings the live ones up to date
    first, so it compares like with like and goes through."""
    assert rotated.night and not any(run.analysis for run in rotated.night)
    assert any(run.rebuilt_from for run in rotated.night)  # the new data: an incremental build
    assert rotated.rotation.warehouse_rebuilt
    before, after = (staged_keys(when / "staging") for when in (rotated.before, rotated.after))
    assert before and after.isdisjoint(before)


def one_school(ingested: Path, folder: Path) -> tuple[Path, Path]:
    """A small data folder: one school's staged register and the archived files behind it."""
    staging, archive = folder / "staging", folder / "archive"
    source = ingested / "pupils" / "KPP" / PARQUET_NAME
    (staging / "pupils" / "KPP").mkdir(parents=True)
    shutil.copyfile(source, staging / "pupils" / "KPP" / PARQUET_NAME)
    for sha in pl.read_parquet(source)["delivery_sha"].unique():
        for path in (ingested.parent / "archive" / sha[:2]).glob(f"{sha}.*"):
            (archive / sha[:2]).mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, archive / sha[:2] / path.name)
    return staging, archive


def staged_keys(staging: Path) -> set[str]:
    return set(pl.read_parquet(staging / "pupils" / "*" / PARQUET_NAME)["pupil_key"])


def test_the_key_in_use_is_refused(ingested, tmp_path):
    staging, archive = one_school(ingested, tmp_path)
    database, work = tmp_path / "warehouse.duckdb", work_folder(tmp_path)
    with pytest.raises(RekeyError, match="equals the key in use"):
        rotate_key(staging, archive, database, work, OLD_KEY, OLD_KEY)
    assert not work.exists()


def test_a_key_without_a_delivered_code_stops_the_rotation(ingested, tmp_path):
    staging, archive = one_school(ingested, tmp_path)
    path = staging / "pupils" / "KPP" / PARQUET_NAME
    frame = pl.read_parquet(path)
    pl.concat([frame, frame.head(1).with_columns(pupil_key=pl.lit("f" * 32))]).write_parquet(path)
    content = path.read_bytes()
    work = work_folder(tmp_path)
    with pytest.raises(RekeyError, match="pupils/KPP: 1"):
        rotate_key(staging, archive, tmp_path / "warehouse.duckdb", work, OLD_KEY, NEW_KEY)
    assert path.read_bytes() == content
    assert not work.exists()


def test_a_crash_before_the_swap_leaves_the_old_state_and_a_rerun_finishes(ingested, tmp_path):
    staging, archive = one_school(ingested, tmp_path)
    database, work = tmp_path / "warehouse.duckdb", work_folder(tmp_path)
    old = staged_keys(staging)
    prepare_rotation(staging, archive, database, work, OLD_KEY, NEW_KEY)
    assert (work / READY_FILE).exists()
    assert staged_keys(staging) == old
    with pytest.raises(RekeyError, match="another key"):
        rotate_key(staging, archive, database, work, OLD_KEY, b"yet another key")
    rotation = rotate_key(staging, archive, database, work, OLD_KEY, NEW_KEY)
    assert rotation.resumed and not rotation.warehouse_rebuilt
    assert staged_keys(staging).isdisjoint(old) and len(staged_keys(staging)) == len(old)
    assert not work.exists()


def test_pmp_rotate_key_moves_the_demo_key_on(ingested, tmp_path, monkeypatch, capsys):
    data = tmp_path / "data"
    staging, _ = one_school(ingested, data)
    old = staged_keys(staging)
    demo_key = tmp_path / "home" / "pseudonym-demo.key"
    demo_key.parent.mkdir()
    demo_key.write_text(OLD_KEY.decode(), encoding="utf-8")
    new_key_file = tmp_path / "new.key"
    new_key_file.write_text(NEW_KEY.decode() + "\n", encoding="utf-8")
    (work_folder(data) / "staging").mkdir(parents=True)  # an interrupted preparation
    monkeypatch.setenv("PMP_DATA_DIR", str(data))
    monkeypatch.setenv("DAGSTER_HOME", str(demo_key.parent))
    monkeypatch.delenv(KEY_VARIABLE, raising=False)
    with pytest.warns(DemoKeyWarning):
        main(["rotate-key", "--new-key-file", str(new_key_file)])
    assert demo_key.read_text(encoding="utf-8") == NEW_KEY.decode()
    assert staged_keys(staging).isdisjoint(old)
    assert not work_folder(data).exists()
    assert "re-keyed" in capsys.readouterr().out
    with pytest.raises(SystemExit, match="equals the key in use"), pytest.warns(DemoKeyWarning):
        main(["rotate-key", "--new-key-file", str(new_key_file)])
