"""One stage per process, so that each reports its own wall time and peak memory (JSON)."""

import json
import os
import resource
import sys
import time
from pathlib import Path

import duckdb

from pipelines import contract, reference
from pipelines.demo.generate import DIALECT_M_SCHOOLS, generate
from pipelines.ingest import stage_partitions
from pipelines.warehouse import build

CSV_PARTITIONS = [s.school_id for s in reference.schools() if s.school_id not in DIALECT_M_SCHOOLS]
ALL_PARTITIONS = [s.school_id for s in reference.schools()] + [contract.MUNICIPALITY_FOLDER]


def run_generate(data: Path, scale: float) -> dict:
    manifest = generate(data / "landing", scale=scale, defect_rate=0.002, replace=True)
    return {"files": len(manifest.files), "bytes": sum(f.bytes for f in manifest.files)}


def run_ingest(data: Path, partitions: list[str]) -> dict:
    """Schools in parallel, one process per core, as the ingest asset runs them."""
    reports = stage_partitions(
        partitions, data / "landing", data / "archive", data / "staging", b"bench-key",
        workers=os.cpu_count() or 1,
    )  # fmt: skip
    return {"rows_read": sum(int(r.log["rows_read"].sum()) for r in reports)}


def _csv_deliveries(data: Path) -> list[Path]:
    """The CSV files of the CSV partitions that the contract accepts (DuckDB's input)."""
    manifest = json.loads((data / "demo_manifest.json").read_text(encoding="utf-8"))
    rejected = {d["file"] for d in manifest["defects"] if d["category"] == "reject"}
    folders = set(CSV_PARTITIONS) | {contract.MUNICIPALITY_FOLDER}
    return [
        data / "landing" / f["file"]
        for f in manifest["files"]
        if f["file"].endswith(".csv") and f["file"] not in rejected
        and f["file"].split("/")[0] in folders
    ]  # fmt: skip


def run_duckdb(data: Path) -> dict:
    """DuckDB alone reading the same CSV files into tables (all columns as text)."""
    connection = duckdb.connect()
    transcoded = data / "duckdb-utf8"
    transcoded.mkdir(exist_ok=True)
    rows = 0
    for i, path in enumerate(_csv_deliveries(data)):
        raw = path.read_bytes()
        title = b";" not in raw.split(b"\n", 1)[0]
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError:  # DuckDB reads no Windows-1257 without a downloaded extension
            path = transcoded / f"{i}.csv"
            path.write_text(raw.decode("cp1257"), encoding="utf-8")
        connection.execute(
            f"create table t{i} as select * from read_csv(?, delim=';', header=true, "
            f"skip={int(title)}, all_varchar=true, null_padding=true)",
            [str(path)],
        )
        rows += connection.execute(f"select count(*) from t{i}").fetchone()[0]
    return {"rows_read": rows}


def run_warehouse(data: Path) -> dict:
    """A full build of the warehouse from staging, with the indicator models' share."""
    database = data / "warehouse.duckdb"
    database.unlink(missing_ok=True)
    runs = build(database, data / "staging", full_refresh=True)
    layer = {
        name: sum(r.seconds for r in runs if r.relation.startswith(f"{name}."))
        for name in ("core", "indicators", "programme")
    }
    core_rows = sum(r.rows or 0 for r in runs if r.relation.startswith("core."))
    return {"rows_read": core_rows, **layer}


def run_engine(data: Path) -> dict:
    """The engine's own limit: one DuckDB query aggregating the same absences and grades."""
    sql = (Path(__file__).parent / "engine_aggregate.sql").read_text(encoding="utf-8")
    staging = (data / "staging").resolve()
    row = duckdb.connect().execute(sql.replace("$staging", str(staging))).fetchall()[0]
    return {"rows_read": row[0]}


def main() -> None:
    stage, data = sys.argv[1], Path(sys.argv[2])
    started = time.perf_counter()
    if stage == "generate":
        result = run_generate(data, float(sys.argv[3]))
    elif stage == "ingest":
        result = run_ingest(data, ALL_PARTITIONS)
    elif stage == "ingest_csv":
        result = run_ingest(data, [*CSV_PARTITIONS, contract.MUNICIPALITY_FOLDER])
    elif stage == "warehouse":
        result = run_warehouse(data)
    elif stage == "engine":
        result = run_engine(data)
    else:
        result = run_duckdb(data)
    result["seconds"] = time.perf_counter() - started
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    workers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    result["peak_rss_mb"] = max(own, workers) / 1024
    print(json.dumps(result))


if __name__ == "__main__":
    main()
