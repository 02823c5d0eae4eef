"""One stage per process, so that each reports its own peak memory (JSON on stdout).

bench.py times the whole process. Each stage imports what it needs itself, so a stage's wall
time counts its own imports (Great Expectations in `publish`, Plotly in `dashboard`) and no
other stage's.

    python -m bench.stages STAGE DATA [--scale S] [--end-date D] [--defect-rate R] [--incremental]
        [--profile FILE]

DATA holds `landing/` and gets `archive/`, `staging/`, `warehouse.duckdb`, `publication/`,
`quality/`, `exports/` and `reports/`, as `data/` does for the project.
"""

import argparse
import contextlib
import cProfile
import importlib
import io
import json
import os
import resource
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")
BENCH_KEY = b"bench-key"
SLOWEST_MODELS = 5


def _timed(parts: dict[str, float], name: str, step: Callable[[], T]) -> T:
    started = time.perf_counter()
    result = step()
    parts[name] = time.perf_counter() - started
    return result


def run_generate(data: Path, scale: float, end_date: date | None, defect_rate: float) -> dict:
    from pipelines.demo.generate import DEFAULT_END_DATE, generate

    manifest = generate(
        data / "landing", scale=scale, end_date=end_date or DEFAULT_END_DATE,
        defect_rate=defect_rate, replace=True,
    )  # fmt: skip
    return {"files": len(manifest.files), "bytes": sum(f.bytes for f in manifest.files)}


def run_ingest(data: Path, csv_only: bool) -> dict:
    """Schools in parallel, one process per core, as the ingest asset runs them. Every landing
    file is hashed; a file read before (in the ingest cache under staging/) is not read
    again: a full refresh starts from empty staging and reads them all, a night reads only
    its own."""
    from pipelines.ingest import contract
    from pipelines.ingest.partition import stage_partitions
    from pipelines.privacy.pseudonym import PseudonymKey
    from pipelines.reference import tables as reference

    schools = [s.school_id for s in reference.schools()]
    if csv_only:  # the demo generator's import (1.8 s) is no part of the ingest that runs
        from pipelines.demo.generate import DIALECT_M_SCHOOLS

        schools = [s for s in schools if s not in DIALECT_M_SCHOOLS]
    reports = stage_partitions(
        [*schools, contract.MUNICIPALITY_FOLDER], data / "landing", data / "archive",
        data / "staging", PseudonymKey(BENCH_KEY, "the bench key"), workers=os.cpu_count() or 1,
    )  # fmt: skip
    return {
        "rows_read": sum(int(r.log["rows_read"].sum()) for r in reports),
        "files": sum(r.log.height for r in reports),
        "files_read": sum(r.files_read for r in reports),
    }


def _csv_deliveries(data: Path) -> list[Path]:
    """The CSV files of the CSV partitions that the contract accepts (DuckDB's input)."""
    from pipelines.demo.generate import DIALECT_M_SCHOOLS
    from pipelines.ingest import contract
    from pipelines.reference import tables as reference

    manifest = json.loads((data / "demo_manifest.json").read_text(encoding="utf-8"))
    rejected = {d["file"] for d in manifest["defects"] if d["category"] == "reject"}
    schools = [s.school_id for s in reference.schools() if s.school_id not in DIALECT_M_SCHOOLS]
    folders = {*schools, contract.MUNICIPALITY_FOLDER}
    return [
        data / "landing" / f["file"]
        for f in manifest["files"]
        if f["file"].endswith(".csv") and f["file"] not in rejected
        and f["file"].split("/")[0] in folders
    ]  # fmt: skip


def run_duckdb(data: Path) -> dict:
    """DuckDB alone reading the same CSV files into tables (all columns as text)."""
    import duckdb

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


def run_warehouse(data: Path, incremental: bool) -> dict:
    """A build of the warehouse from staging: every model in full (a new file), or the nightly
    build over the previous one, incrementally and without the `@analysis` models (built
    weekly), as the nightly run does. With the models' share of the build, each layer's and the
    slowest models'."""
    parts: dict[str, float] = {}
    warehouse = _timed(
        parts, "imports", lambda: importlib.import_module("pipelines.warehouse.build")
    )
    database = data / "warehouse.duckdb"
    if not incremental:
        database.unlink(missing_ok=True)
    runs = _timed(
        parts, "build",
        lambda: warehouse.build(
            database, data / "staging", full_refresh=not incremental,
            scope=warehouse.Scope.NIGHTLY if incremental else warehouse.Scope.ALL,
        ),
    )  # fmt: skip
    parts["models"] = sum(r.seconds for r in runs)
    layer = {
        name: sum(r.seconds for r in runs if r.relation.startswith(f"{name}."))
        for name in ("core", "indicators", "programme", "publication")
    }
    # The indicators models split: those that compute the per-pupil measures, risk and score
    # (what the night builds, and what the engine query is the yardstick for) and the
    # `@analysis` ones (the evaluation, the backtest, the outcomes: built weekly).
    indicators = [r for r in runs if r.relation.startswith("indicators.")]
    measures = {r.relation: r.seconds for r in indicators if not r.analysis}
    slowest = sorted(runs, key=lambda r: r.seconds, reverse=True)[:SLOWEST_MODELS]
    rebuilt = {r.rebuilt_from for r in runs if r.materialized == "incremental"}
    return {
        "rows_read": sum(r.rows or 0 for r in runs if r.relation.startswith("core.")),
        **layer,
        "indicator_measures": sum(measures.values()),
        "indicator_analysis": sum(r.seconds for r in indicators if r.analysis),
        "measure_models": measures,
        "parts": parts,
        "slowest": {r.relation: r.seconds for r in slowest},
        "rebuilt_from": sorted(str(r) for r in rebuilt),
    }


def run_engine(data: Path) -> dict:
    """The engine's own limit: one DuckDB query aggregating the same absences and grades,
    timed alone (`query`: without the import and the connection)."""
    import duckdb

    sql = (Path(__file__).parent / "engine_aggregate.sql").read_text(encoding="utf-8")
    staging = (data / "staging").resolve()
    connection = duckdb.connect()
    started = time.perf_counter()
    row = connection.execute(sql.replace("$staging", str(staging))).fetchall()[0]
    return {"rows_read": row[0], "query": time.perf_counter() - started}


def run_publish(data: Path) -> dict:
    """`pipelines.publication.publish.publish`, as `pmp publish` runs it, each of its steps
    timed: the earlier revisions read, suppression and attack (reusing what earlier runs
    decided on the same inputs), the quality gate and the release (only when the content
    changed), the extracts and the retention of releases. `gate` is the wait for the gate's
    worker, which imported Great Expectations while the tables were protected."""
    import polars as pl

    parts: dict[str, float] = {}
    publish = _timed(
        parts, "imports", lambda: importlib.import_module("pipelines.publication.publish")
    )
    for step in ("earlier_versions", "prepare", "gate", "store", "write_extracts"):
        setattr(publish, step, _timing(parts, step, getattr(publish, step)))
    done = publish.publish(
        data / "warehouse.duckdb", data / "staging", data / "publication", data / "quality",
        data / "exports",
    )  # fmt: skip
    return {
        "rows_read": sum(pl.read_parquet(p).height for p in done.release.glob("*.parquet")),
        "new_release": done.new_release,
        "revisions": len(done.revisions),
        "parts": parts,
    }


def _timing(parts: dict[str, float], name: str, step: Callable[..., T]) -> Callable[..., T]:
    """`step`, adding the seconds of each call to `parts[name]` (0 when never called)."""
    parts[name] = 0.0

    def timed(*args, **kwargs) -> T:
        started = time.perf_counter()
        try:
            return step(*args, **kwargs)
        finally:
            parts[name] += time.perf_counter() - started

    return timed


def run_cli_help() -> dict:
    """`pmp --help`: this process is the command's (its wall time, start to exit, is timed)."""
    from pipelines.cli import main

    with contextlib.redirect_stdout(io.StringIO()) as shown, contextlib.suppress(SystemExit):
        main(["--help"])
    return {"lines": shown.getvalue().count("\n")}


def run_dashboard(data: Path) -> dict:
    """The dashboard, redrawn when the release in force is not the one it shows (as `pmp
    publish` and the dashboard asset do)."""
    from pipelines.ingest.staging import read_table
    from pipelines.reference.rules import project_period
    from pipelines.reports.dashboard import DASHBOARD_FILE, refresh_dashboard

    output = data / "reports" / DASHBOARD_FILE
    deliveries = read_table(data / "staging", "delivery_log")
    drawn = refresh_dashboard(data / "publication", deliveries, output, *project_period())
    return {"views": len(drawn or []), "redrawn": drawn is not None, "bytes": output.stat().st_size}


def run_dashboard_internal(data: Path) -> dict:
    """The internal dashboard, drawn from the warehouse's marts after every build (as the
    `dashboard_internal` asset does)."""
    from pipelines.ingest.staging import read_table
    from pipelines.reference.rules import project_period
    from pipelines.reports.dashboard import INTERNAL_DASHBOARD_FILE, write_internal_dashboard

    output = data / "reports" / INTERNAL_DASHBOARD_FILE
    deliveries = read_table(data / "staging", "delivery_log")
    drawn = write_internal_dashboard(
        data / "warehouse.duckdb", data / "staging", deliveries, output, *project_period()
    )
    return {"views": len(drawn), "redrawn": True, "bytes": output.stat().st_size}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "stage",
        choices=(
            "cli_help", "generate", "duckdb", "ingest_csv", "ingest", "warehouse", "engine",
            "publish", "dashboard", "dashboard_internal",
        ),
    )  # fmt: skip
    parser.add_argument("data", type=Path)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--end-date", type=date.fromisoformat)
    parser.add_argument("--defect-rate", type=float, default=0.002)
    parser.add_argument("--incremental", action="store_true", help="warehouse: build nightly")
    parser.add_argument("--profile", type=Path, help="run under cProfile, its stats to this file")
    args = parser.parse_args()
    stages: dict[str, Callable[[], dict]] = {
        "cli_help": run_cli_help,
        "generate": lambda: run_generate(args.data, args.scale, args.end_date, args.defect_rate),
        "duckdb": lambda: run_duckdb(args.data),
        "ingest_csv": lambda: run_ingest(args.data, csv_only=True),
        "ingest": lambda: run_ingest(args.data, csv_only=False),
        "warehouse": lambda: run_warehouse(args.data, args.incremental),
        "engine": lambda: run_engine(args.data),
        "publish": lambda: run_publish(args.data),
        "dashboard": lambda: run_dashboard(args.data),
        "dashboard_internal": lambda: run_dashboard_internal(args.data),
    }
    if args.profile is None:
        result = stages[args.stage]()
    else:
        profiler = cProfile.Profile()
        result = profiler.runcall(stages[args.stage])
        profiler.dump_stats(args.profile)
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    workers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    result["peak_rss_mb"] = max(own, workers) / 1024
    print(json.dumps(result))


if __name__ == "__main__":
    main()
