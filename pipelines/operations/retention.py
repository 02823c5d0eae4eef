"""Retention: pupil-level data is deleted `[retention] pupil_data_years_after_project` years
after the project's last day (`[project] eligible_to` in `models/rules.toml`); the aggregates
stay.

Pupil-level, deleted when due:

- the delivered files, `landing/` and their `archive/`: names, personal codes, rows per pupil;
- staging, every table and partition: rows per pupil, the quarantine (rows of pupils' files,
  codes masked) and the delivery log with them (it describes files that are gone, and staging
  only serves rebuilding the warehouse, which ends with the purge);
- in the warehouse, every table with a `pupil_key` column (the core facts per pupil, the
  indicators per pupil, the MK 89 list, the previous run's flags and the staged notes and
  social statuses the last build saw in `meta`) and every view (the staging views read the
  deleted Parquet, `indicators.pupil_indicators` reads pupil tables).
  The tables that stay are copied into a new file that replaces the old one, so that no deleted
  row lingers in the old file's free blocks;
- the work folder of an interrupted `pmp rotate-key`, which holds a copy of staging;
- the demo pseudonym key. It is not personal data, but it is what links a pseudonym to a
  personal code: destroyed, a pseudonym left anywhere else (a backup, the Dagster run history)
  can no longer be linked to a pupil. The managed key, `PMP_PSEUDONYM_KEY`, is in the secret
  store and out of this command's reach: the operator destroys it there.

Kept, the aggregates: `publication/`, `exports/`, `reports/`, `quality/`, the reference data,
and in the warehouse every table without pupil keys: the reference tables, the calendar and the
schools, group activities (participants counted per event), the as-of dates, the backtest, the
programme's aggregates (support coverage, project monitoring, risk before and after support,
flag changes), the publication marts and `meta.deliveries` and `meta.models`.

Each purge that deletes something appends one JSON line to `purge_log.jsonl` in the data
folder: when, as of which day, by which rule, and what went (path or table, files, bytes, rows).
"""

import json
import os
import shutil
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb

from pipelines.feedback import OperatorError
from pipelines.reference.rules import project_period, retention_years, rules

PURGE_LOG = "purge_log.jsonl"
KEY_COLUMN = "pupil_key"
RELATION_KINDS = ("table", "view")


class PurgeError(OperatorError):
    """The purge cannot run now: the message says why."""


@dataclass(frozen=True)
class RetentionRule:
    """How long pupil-level data is kept: `years` after the project's last day."""

    project_end: date
    years: int
    rules_version: str

    @property
    def due(self) -> date:
        """The day from which the purge deletes: the project's last day, `years` later."""
        return self.project_end.replace(year=self.project_end.year + self.years)

    def describe(self) -> str:
        return (
            f"[retention] pupil_data_years_after_project = {self.years} after [project] "
            f"eligible_to = {self.project_end.isoformat()} (rules.toml {self.rules_version})"
        )


def retention_rule() -> RetentionRule:
    """The rule as `models/rules.toml` sets it."""
    return RetentionRule(project_period()[1], retention_years(), rules()["version"])


@dataclass(frozen=True)
class PurgeItem:
    """Something pupil-level: a folder or file (`target` is its path), or a warehouse table or
    view (`target` is `schema.name`)."""

    target: str
    kind: str
    files: int = 0
    bytes: int = 0
    rows: int | None = None


@dataclass(frozen=True)
class Purge:
    """What a purge found pupil-level as of a day, and whether it deleted it."""

    as_of: date
    due: date
    items: tuple[PurgeItem, ...]
    deleted: bool

    @property
    def is_due(self) -> bool:
        return self.as_of >= self.due


def _shown(path: Path, data: Path) -> str:
    return path.relative_to(data).as_posix() if path.is_relative_to(data) else str(path)


def file_items(paths: list[Path], data: Path) -> list[PurgeItem]:
    """The folders and files among `paths` that exist, with their files and bytes."""
    items = []
    for path in paths:
        if path.is_dir():
            files = [p for p in path.rglob("*") if p.is_file()]
            size = sum(p.stat().st_size for p in files)
            items.append(PurgeItem(_shown(path, data), "folder", len(files), size))
        elif path.is_file():
            items.append(PurgeItem(_shown(path, data), "file", 1, path.stat().st_size))
    return items


def warehouse_items(database: Path) -> list[PurgeItem]:
    """The warehouse's pupil-level relations: tables with a pupil key (and their rows) and
    views."""
    if not database.exists():
        return []
    con = duckdb.connect(str(database), read_only=True)
    try:
        found = con.execute(
            "SELECT t.table_schema || '.' || t.table_name, t.table_type = 'VIEW' "
            "FROM information_schema.tables AS t WHERE t.table_type = 'VIEW' OR EXISTS ("
            "SELECT 1 FROM information_schema.columns AS c WHERE c.table_schema = t.table_schema "
            "AND c.table_name = t.table_name AND c.column_name = ?) ORDER BY ALL",
            [KEY_COLUMN],
        ).fetchall()
        return [
            PurgeItem(relation, "view")
            if is_view
            else PurgeItem(
                relation,
                "table",
                rows=con.execute(f"SELECT count(*) FROM {relation}").fetchall()[0][0],
            )
            for relation, is_view in found
        ]
    finally:
        con.close()


def purge_warehouse(database: Path, dropped: set[str]) -> None:
    """Replace the warehouse by a new file holding only the tables not in `dropped`."""
    if database.with_name(database.name + ".wal").exists():
        raise PurgeError(
            f"{database} has an unfinished write-ahead log: a build is running or was "
            "interrupted; let a warehouse build finish first"
        )
    target = database.with_name(database.name + ".purge")
    target.unlink(missing_ok=True)
    con = duckdb.connect(str(target))
    try:
        con.execute(f"ATTACH '{database.resolve()}' AS old (READ_ONLY)")
        tables = con.execute(
            "SELECT schema_name, table_name FROM duckdb_tables() "
            "WHERE database_name = 'old' ORDER BY ALL"
        ).fetchall()
        for schema, name in tables:
            if f"{schema}.{name}" not in dropped:
                con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
                con.execute(f"CREATE TABLE {schema}.{name} AS FROM old.{schema}.{name}")
        con.execute("DETACH old")
    finally:
        con.close()
    os.replace(target, database)


def purge(
    paths: list[Path],
    database: Path,
    data: Path,
    rule: RetentionRule,
    as_of: date,
    dry_run: bool = False,
) -> Purge:
    """Delete the pupil-level `paths` (folders or files) and the warehouse's pupil-level
    relations when `as_of` is on or after the rule's due day, and record it in the purge log
    in `data`. Before the due day, or with `dry_run`, nothing changes: the result lists what
    would go."""
    items = (*file_items(paths, data), *warehouse_items(database))
    if as_of < rule.due or dry_run:
        return Purge(as_of, rule.due, items, deleted=False)
    relations = {item.target for item in items if item.kind in RELATION_KINDS}
    if relations:
        purge_warehouse(database, relations)
    for path in paths:
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)
    if items:
        record = {
            "purged_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "as_of": as_of.isoformat(),
            "due": rule.due.isoformat(),
            "rule": rule.describe(),
            "deleted": [asdict(item) for item in items],
        }
        with (data / PURGE_LOG).open("a", encoding="utf-8") as log:
            log.write(json.dumps(record, ensure_ascii=False) + "\n")
    return Purge(as_of, rule.due, items, deleted=True)
