"""Fingerprint a `make demo` run, to show that a change altered no output.

    PMP_PSEUDONYM_KEY=fingerprint make demo
    uv run python -m bench.compare_outputs [DATA] > before.txt
    ... change the code, run the same two commands ...
    uv run python -m bench.compare_outputs [DATA] > after.txt
    diff before.txt after.txt

One line per output: the delivery log (each delivery's outcome, in full), a content hash of
every staging table and warehouse table, and a hash of every published table and extract
file. Hashes are over content, not bytes: rows are sorted, and values that come from the clock
(when a release or a revision was written) are left out. The same seed, cut-off date and key
give the same fingerprint. It reads files only and imports nothing from `pipelines`, so the
same script fingerprints the code before and after a move.
"""

import argparse
import hashlib
import json
import re
from pathlib import Path

import duckdb
import polars as pl

# Fields written from the clock: when a release, a revision or a build happened.
CLOCK_FIELDS = {"published_at", "generated_at", "raised_at", "built_at"}
# A manifest's byte counts and hashes of its files are left out too (each file is
# fingerprinted itself, without the times written in it), and so is the commit the code ran
# from: it differs between any two versions by definition.
MANIFEST_FIELDS = {*CLOCK_FIELDS, "sha256", "bytes", "code_version"}
RELEASE_NAME = re.compile(r"\d{8}T\d{6}\d*Z")
LOG_COLUMNS = [
    "school_id", "file", "sha256", "kind", "status", "period_start", "period_end",
    "period_source", "rows_read", "rows_loaded", "rows_quarantined", "rows_duplicate",
    "rows_superseded", "reason", "tolerated",
]  # fmt: skip


def content_hash(frame: pl.DataFrame) -> str:
    """A hash of a table's rows in a fixed order, whatever order they were written in."""
    columns = sorted(c for c in frame.columns if c not in CLOCK_FIELDS)
    rows = sorted(frame.select(columns).write_ndjson().splitlines()) if columns else []
    digest = hashlib.sha256("\n".join([",".join(columns), *rows]).encode())
    return digest.hexdigest()[:16]


def _json_without_clock(value: object) -> object:
    if isinstance(value, dict):
        return {k: _json_without_clock(v) for k, v in value.items() if k not in MANIFEST_FIELDS}
    if isinstance(value, list):
        return [_json_without_clock(v) for v in value]
    return RELEASE_NAME.sub("<release>", value) if isinstance(value, str) else value


def file_hash(path: Path) -> str:
    """Parquet by content, JSON without clock fields, other files by their bytes less any
    generation time written in them."""
    if path.suffix == ".parquet":
        return content_hash(pl.read_parquet(path))
    if path.suffix == ".json":
        data = _json_without_clock(json.loads(path.read_text(encoding="utf-8")))
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]
    if path.suffix == ".xlsx":
        import openpyxl

        book = openpyxl.load_workbook(path, read_only=True)
        cells = [[s.title, *map(str, row)] for s in book for row in s.iter_rows(values_only=True)]
        return hashlib.sha256(repr(cells).encode()).hexdigest()[:16]
    text = path.read_bytes()
    text = re.sub(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\+00:00|Z)?", b"<time>", text)
    return hashlib.sha256(text).hexdigest()[:16]


def delivery_log(data: Path) -> list[str]:
    files = sorted((data / "staging" / "delivery_log").glob("*/data.parquet"))
    log = pl.concat([pl.read_parquet(f) for f in files], how="diagonal_relaxed")
    log = log.select(LOG_COLUMNS).sort("school_id", "file", "sha256")
    return ["log " + " | ".join("" if v is None else str(v) for v in row) for row in log.rows()]


def staging_tables(data: Path) -> list[str]:
    lines = []
    for folder in sorted({p.parent for p in (data / "staging").glob("*/*/data*.parquet")}):
        files = sorted(folder.glob("data*.parquet"))  # a table's semesters, or data.parquet
        frame = pl.concat([pl.read_parquet(f) for f in files], how="diagonal_relaxed")
        name = folder.relative_to(data / "staging").as_posix()
        lines.append(f"staging {name} rows={frame.height} {content_hash(frame)}")
    return lines


def warehouse_tables(data: Path) -> list[str]:
    con = duckdb.connect(str(data / "warehouse.duckdb"), read_only=True)
    con.execute("SET VARIABLE staging_dir = ?", [str((data / "staging").resolve())])
    relations = con.execute(
        "SELECT table_schema, table_name FROM information_schema.tables "
        "WHERE table_catalog = current_database() ORDER BY ALL"
    ).fetchall()
    lines = []
    for schema, table in relations:
        frame = con.sql(f'SELECT * FROM "{schema}"."{table}"').pl()
        lines.append(f"warehouse {schema}.{table} rows={frame.height} {content_hash(frame)}")
    return lines


def published_files(data: Path) -> list[str]:
    lines = []
    current = data / "publication" / "current"
    for path in sorted(current.glob("*")):
        lines.append(f"published {path.name} {file_hash(path)}")
    for path in sorted(p for p in (data / "exports").rglob("*") if p.is_file()):
        lines.append(f"extract {path.relative_to(data / 'exports').as_posix()} {file_hash(path)}")
    return lines


def fingerprint(data: Path) -> list[str]:
    return (
        delivery_log(data) + staging_tables(data) + warehouse_tables(data) + published_files(data)
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data", nargs="?", type=Path, default=Path("data"))
    args = parser.parse_args()
    lines = fingerprint(args.data)
    print("\n".join(lines))
    print(f"fingerprint {hashlib.sha256(chr(10).join(lines).encode()).hexdigest()}")


if __name__ == "__main__":
    main()
