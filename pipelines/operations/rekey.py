"""Key rotation for `PMP_PSEUDONYM_KEY`: every pupil key moves from HMAC(old, code) to
HMAC(new, code), everywhere, and the warehouse keeps its history and its linkage.

The mapping old key -> new key is made in memory from the delivered files: every file in the
archive is read with the ingest's readers, each personal code in it is keyed with both keys,
and the codes are forgotten; only the pair of keys is kept, and only in memory. Then:

1. staging: every Parquet file is rewritten with its `pupil_key` mapped and nothing else
   changed (the files without pupil keys, the delivery log and the quarantine of masked
   values, are copied as they are);
2. the warehouse is built from scratch (a full refresh into a new file) over the mapped
   staging. The previous run's rows that models keep for comparing two runs
   (`meta.<schema>_<name>_previous`, e.g. the previous flags) are mapped and seeded as those
   models' current rows, so the build keeps them as the previous run again, and the change
   report (`programme.flag_changes`) comes out as it was, and the next run compares against
   them.

Why map staging and rebuild the warehouse (a) rather than re-ingest every delivery with the
new key (b):

- the previous run's flags exist only in the warehouse, keyed by the old key, and no delivered
  file re-creates them: (b) needs the same old -> new mapping for them anyway;
- (b) re-runs validation, supersession and justification with today's code over today's
  landing folder, so a rule changed since the last ingest would change history along with the
  key; (a) changes the key column and nothing else (every row, its provenance, the delivery
  log and the quarantine stay as they were ingested), which is what the rotation can then
  verify: every table without pupil keys must come out identical;
- (a) reads each file's codes only, where (b) repeats the slowest stage of the pipeline.

Why rebuild the warehouse rather than map its tables in place: models derive identifiers from
the key (`spell_id`, `support_id` are digests of it), which an in-place mapping would leave
tied to the old key; the build recomputes them, and it is deterministic, so only the keys and
what derives from them change. Before anything is swapped the rotation checks that every
table without pupil keys is identical in the old and the new warehouse, that every table with
them has as many rows, and that every key in it is a new key.

The new warehouse is a full build, so its `@analysis` models (README, "The warehouse") are
as fresh as the rest, while the live warehouse's date from the last weekly analysis build.
So that the two compare like with like, the rotation first rebuilds the live warehouse's
analysis models (the weekly build's work, `Scope.ANALYSIS`; a rotation runs only while no
job does), the one change it makes to the live warehouse before the swap.

Safety. Nothing else live changes until the end: the mapped staging and the new warehouse are
written into a work folder beside the data, and only when both are complete and verified is
`ready.json` written there and the live folder and file swapped in by renames. A crash
before `ready.json` leaves the old, consistent state (the next run discards the work folder);
a crash after it is finished by running the command again with the same new key. The rotation
refuses a new key equal to the old one and a warehouse not yet built from the staged
deliveries and the current models, and it stops, changing nothing, when a pupil key in
staging or in the warehouse's previous runs has no delivered code behind it.

Out of its reach, and the operator's to handle: the Dagster run history (the warehouse assets'
metadata previews show a few rows of pupil tables, with the keys of their day) and backups.
"""

import json
import os
import shutil
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import polars as pl

from pipelines.feedback import OperatorError
from pipelines.ingest.contract import KINDS
from pipelines.ingest.readers import RejectedFile, read_delivery
from pipelines.ingest.staging import PARQUET_GLOB, record_key, write_table
from pipelines.privacy.pseudonym import key_fingerprint, pupil_key
from pipelines.warehouse.build import (
    DELIVERY_COLUMNS,
    Scope,
    build,
    connect_read_only,
    loaded_deliveries,
)
from pipelines.warehouse.models import definition_digest, discover_models

KEY_COLUMN = "pupil_key"
WORK_FOLDER = "rekey"
READY_FILE = "ready.json"
STAGING_FOLDER = "staging"
WAREHOUSE_FILE = "warehouse.duckdb"
RETIRED_FOLDER = "retired"
# The delivered files' columns that hold a personal code, whatever the kind.
CODE_COLUMNS = frozenset(
    raw for kind in KINDS.values() for raw, name in kind.headers.items() if name == "code"
)
# The warehouse schemas compared before and after (reference and staging views hold no rows
# of their own that a rotation could change).
COMPARED_SCHEMAS = ("core", "indicators", "programme", "publication", "meta")
# Tables whose values follow random draws seeded by the pupil keys (the evaluation's
# tie-breaks and bootstrap): a new key draws again, so only their rows are counted.
DRAWN_BY_KEY = frozenset(
    {"indicators.bootstrap_weights", "indicators.evaluation", "programme.support_effect"}
)
FLOAT_TOLERANCE = 1e-9


class RekeyError(OperatorError):
    """The rotation cannot go ahead, or on: the message says why and what to do."""


@dataclass(frozen=True)
class Rotation:
    """What a key rotation re-keyed."""

    pupils: int
    staging_files: int
    keyed_rows: int
    warehouse_rebuilt: bool
    resumed: bool = False


def work_folder(data: Path) -> Path:
    """Where a rotation prepares the new staging and warehouse, beside the live ones."""
    return data / WORK_FOLDER


def read_key_file(path: Path) -> bytes:
    """The key in a file, read as `load_key` reads the demo key file: its text, stripped."""
    key = path.read_text(encoding="utf-8").strip().encode("utf-8")
    if not key:
        raise RekeyError(f"{path} holds no key")
    return key


def delivered_codes(archive: Path) -> set[str]:
    """Every personal code, as written, in the archived deliveries (held in memory only)."""
    codes: set[str] = set()
    for path in sorted(p for p in archive.rglob("*") if p.is_file()):
        try:
            tables = read_delivery(path)
        except RejectedFile:
            continue
        for table in tables:
            for column in CODE_COLUMNS.intersection(table.rows.columns):
                codes.update(table.rows[column].drop_nulls().to_list())
    return codes


def key_mapping(codes: Iterable[str], old_key: bytes, new_key: bytes) -> dict[str, str]:
    """Old pupil key -> new pupil key, for every code of a valid shape."""
    mapping = {}
    for code in codes:
        old = pupil_key(old_key, code)
        if old is not None:
            mapping[old] = pupil_key(new_key, code)
    return mapping


def unmapped_keys(keys: pl.Series, mapping: dict[str, str]) -> int:
    """How many distinct keys of a column the mapping has no new key for."""
    return len(set(keys.drop_nulls().unique().to_list()) - mapping.keys())


def map_keys(frame: pl.DataFrame, mapping: dict[str, str]) -> pl.DataFrame:
    """The frame with every pupil key replaced by its new key (nulls stay null)."""
    return frame.with_columns(
        pl.col(KEY_COLUMN).replace_strict(mapping, default=None, return_dtype=pl.String)
    )


def rekey_staging(staging: Path, target: Path, mapping: dict[str, str]) -> tuple[int, int]:
    """Every staging table and partition written to `target` with its pupil keys mapped; files
    without pupil keys are copied. Returns the files and the rows re-keyed. Leftover `.part`
    files of interrupted writes are not carried over."""
    unexplained, files, rows = [], 0, 0
    for path in sorted(staging.glob(f"*/*/{PARQUET_GLOB}")):
        relative = path.relative_to(staging)
        destination = target / relative
        if KEY_COLUMN not in pl.read_parquet_schema(path):
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, destination)
            continue
        frame = pl.read_parquet(path)
        missing = unmapped_keys(frame[KEY_COLUMN], mapping)
        if missing:
            unexplained.append(f"{relative.parent}: {missing}")
            continue
        write_table(map_keys(frame, mapping), destination)
        files += 1
        rows += frame[KEY_COLUMN].count()
    if unexplained:
        raise RekeyError(
            "pupil keys with no personal code in any archived delivery (distinct keys per "
            "staging table and partition): " + "; ".join(unexplained) + ". Was the staging "
            "made with another key, or is a delivered file missing from the archive?"
        )
    return files, rows


def check_current(database: Path, staging: Path) -> None:
    """Refuse a warehouse that has not been built from the staged deliveries with the current
    models: rebuilding it would change more than the keys."""
    con = connect_read_only(database, staging)
    try:
        seen = con.sql(f"SELECT {', '.join(DELIVERY_COLUMNS)} FROM meta.deliveries").pl()
        digests = dict(con.execute("SELECT relation, digest FROM meta.models").fetchall())
    finally:
        con.close()
    staged = loaded_deliveries(staging)
    if not seen.sort(DELIVERY_COLUMNS).equals(staged.sort(DELIVERY_COLUMNS)):
        raise RekeyError(
            f"{database} has not seen every delivery staged in {staging}: run the warehouse "
            "build first, then rotate the key"
        )
    if digests != {m.relation: definition_digest(m) for m in discover_models()}:
        raise RekeyError(
            f"models, rules or reference data changed since {database} was built: run the "
            "warehouse build first, then rotate the key"
        )


def _key_table(mapping: dict[str, str]) -> pl.DataFrame:
    return pl.DataFrame(
        {"old_key": list(mapping), "new_key": list(mapping.values())},
        schema={"old_key": pl.String, "new_key": pl.String},
    )


def rebuild_warehouse(database: Path, staging: Path, target: Path, mapping: dict[str, str]) -> None:
    """A new warehouse at `target`, built from scratch over the re-keyed `staging`, that keeps
    the old warehouse's previous-run rows with their keys mapped."""
    con = duckdb.connect(str(target))
    try:
        con.register("key_map", _key_table(mapping))
        con.execute(f"ATTACH '{database.resolve()}' AS old (READ_ONLY)")
        for model in (m for m in discover_models() if m.keeps_previous):
            schema, name = model.previous_relation.split(".")
            kept = con.execute(
                "SELECT count(*) FROM duckdb_tables() "
                "WHERE database_name = 'old' AND schema_name = ? AND table_name = ?",
                [schema, name],
            ).fetchall()[0][0]
            if not kept:
                continue
            previous = f"old.{model.previous_relation}"
            missing = con.execute(
                f"SELECT count(DISTINCT p.{KEY_COLUMN}) FROM {previous} AS p "
                f"ANTI JOIN key_map AS k ON p.{KEY_COLUMN} = k.old_key "
                f"WHERE p.{KEY_COLUMN} IS NOT NULL"
            ).fetchall()[0][0]
            if missing:
                raise RekeyError(
                    f"{model.previous_relation} holds {missing} pupil keys with no personal "
                    "code in any archived delivery"
                )
            con.execute(f"CREATE SCHEMA IF NOT EXISTS {model.schema}")
            con.execute(
                f"CREATE TABLE {model.relation} AS SELECT p.* REPLACE (k.new_key AS "
                f"{KEY_COLUMN}) FROM {previous} AS p "
                f"LEFT JOIN key_map AS k ON p.{KEY_COLUMN} = k.old_key"
            )
        con.execute("DETACH old")
    finally:
        con.close()
    build(target, staging, full_refresh=True)


def _base_tables(con: duckdb.DuckDBPyConnection) -> list[str]:
    found = con.execute(
        "SELECT table_schema || '.' || table_name FROM information_schema.tables "
        "WHERE table_type = 'BASE TABLE' AND list_contains(?, table_schema) ORDER BY ALL",
        [list(COMPARED_SCHEMAS)],
    ).fetchall()
    return [relation for (relation,) in found]


def keyed_tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    """The warehouse's tables with a pupil-key column."""
    found = con.execute(
        "SELECT c.table_schema || '.' || c.table_name FROM information_schema.columns AS c "
        "JOIN information_schema.tables AS t USING (table_catalog, table_schema, table_name) "
        "WHERE t.table_type = 'BASE TABLE' AND c.column_name = ?",
        [KEY_COLUMN],
    ).fetchall()
    return {relation for (relation,) in found}


def same_rows(before: pl.DataFrame, after: pl.DataFrame) -> bool:
    """The same rows in any order, floating-point values equal up to the last bits of a sum
    taken in another order (DuckDB sums in parallel, in no fixed order)."""
    if before.schema != after.schema or before.height != after.height:
        return False
    before, after = before.sort(before.columns), after.sort(after.columns)
    floats = [name for name, dtype in before.schema.items() if dtype.is_float()]
    exact = [name for name in before.columns if name not in floats]
    if not before.select(exact).equals(after.select(exact)):
        return False
    return all(
        before[name].is_null().equals(after[name].is_null())
        and before[name].is_close(after[name], rel_tol=FLOAT_TOLERANCE).fill_null(True).all()
        for name in floats
    )


def _count(con: duckdb.DuckDBPyConnection, query: str) -> int:
    return con.execute(query).fetchall()[0][0]


def verify_warehouse(
    database: Path, staging: Path, target: Path, target_staging: Path, mapping: dict[str, str]
) -> None:
    """The new warehouse against the old: every table there, those without pupil keys equal
    (those drawn by key as many rows), those with them as many rows, and every key a new
    key."""
    old = connect_read_only(database, staging)
    new = connect_read_only(target, target_staging)
    problems = []
    try:
        present, keyed = set(_base_tables(new)), keyed_tables(new)
        new.register("new_keys", pl.DataFrame({"new_key": sorted(set(mapping.values()))}))
        for relation in _base_tables(old):
            if relation not in present:
                problems.append(f"{relation} is missing")
            elif relation in keyed or relation in DRAWN_BY_KEY:
                rows = _count(old, f"SELECT count(*) FROM {relation}")
                if _count(new, f"SELECT count(*) FROM {relation}") != rows:
                    problems.append(f"{relation} has another number of rows than before")
                if relation in keyed and _count(
                    new,
                    f"SELECT count(*) FROM {relation} WHERE {KEY_COLUMN} IS NOT NULL "
                    f"AND {KEY_COLUMN} NOT IN (SELECT new_key FROM new_keys)",
                ):
                    problems.append(f"{relation} holds keys that are not new keys")
            elif not same_rows(old.sql(f"FROM {relation}").pl(), new.sql(f"FROM {relation}").pl()):
                problems.append(f"{relation}, which holds no pupil keys, changed")
    finally:
        old.close()
        new.close()
    if problems:
        raise RekeyError(
            "the rebuilt warehouse does not match the old one, nothing was swapped: "
            + "; ".join(problems)
        )


def prepare_rotation(
    staging: Path, archive: Path, database: Path, work: Path, old_key: bytes, new_key: bytes
) -> Rotation:
    """The re-keyed staging and warehouse in `work`, verified, and `ready.json` last. Nothing
    live changes."""
    mapping = key_mapping(delivered_codes(archive), old_key, new_key)
    files, rows = rekey_staging(staging, work / STAGING_FOLDER, mapping)
    record_key(work / STAGING_FOLDER, new_key)
    rebuilt = database.exists()
    if rebuilt:
        target = work / WAREHOUSE_FILE
        rebuild_warehouse(database, work / STAGING_FOLDER, target, mapping)
        verify_warehouse(database, staging, target, work / STAGING_FOLDER, mapping)
    rotation = Rotation(len(mapping), files, rows, rebuilt)
    record = {
        **asdict(rotation),
        "new_key": key_fingerprint(new_key),
        "prepared_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    temporary = work / f"{READY_FILE}.part"
    temporary.write_text(json.dumps(record, indent=1), encoding="utf-8")
    os.replace(temporary, work / READY_FILE)
    return rotation


def commit_rotation(
    work: Path, staging: Path, database: Path, new_key: bytes, demo_key: Path | None
) -> None:
    """Swap the prepared staging and warehouse in by renames, write the new key to the demo
    key file when the old key came from it, and remove the work folder. Each step checks what
    is already done, so that running it again after a crash finishes the swap."""
    retired = work / RETIRED_FOLDER
    retired.mkdir(exist_ok=True)
    prepared = work / STAGING_FOLDER
    if prepared.exists():
        if staging.exists():
            os.replace(staging, retired / STAGING_FOLDER)
        os.replace(prepared, staging)
    if (work / WAREHOUSE_FILE).exists():
        os.replace(work / WAREHOUSE_FILE, database)
    if demo_key is not None:
        temporary = demo_key.with_name(demo_key.name + ".part")
        temporary.write_text(new_key.decode("utf-8"), encoding="utf-8")
        os.replace(temporary, demo_key)
    shutil.rmtree(work)


def rotate_key(
    staging: Path,
    archive: Path,
    database: Path,
    work: Path,
    old_key: bytes,
    new_key: bytes,
    demo_key: Path | None = None,
) -> Rotation:
    """Re-key staging and the warehouse from `old_key` to `new_key`, or finish a rotation to
    `new_key` that a crash interrupted after it was prepared. `demo_key` is the demo key file
    to hold the new key afterwards, when the old key came from it."""
    ready = work / READY_FILE
    if ready.exists():
        record = json.loads(ready.read_text(encoding="utf-8"))
        if record["new_key"] != key_fingerprint(new_key):
            raise RekeyError(
                f"an interrupted rotation to another key is ready in {work}: run again with "
                "the new key file it was started with to finish it"
            )
        commit_rotation(work, staging, database, new_key, demo_key)
        counts = ("pupils", "staging_files", "keyed_rows", "warehouse_rebuilt")
        return Rotation(*(record[name] for name in counts), resumed=True)
    if new_key == old_key:
        raise RekeyError("the new key equals the key in use: nothing to rotate")
    if database.with_name(database.name + ".wal").exists():
        raise RekeyError(
            f"{database} has an unfinished write-ahead log: a build is running or was "
            "interrupted; let a warehouse build finish first"
        )
    shutil.rmtree(work, ignore_errors=True)
    if database.exists():
        check_current(database, staging)
        build(database, staging, scope=Scope.ANALYSIS)
    try:
        rotation = prepare_rotation(staging, archive, database, work, old_key, new_key)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    commit_rotation(work, staging, database, new_key, demo_key)
    return rotation
