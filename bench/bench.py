"""`make bench`: generate data at each scale, run the stages, report medians and peak memory.

Each stage runs in its own process (bench/stages.py) so its peak RSS is its own. Results go
to bench/results.md (committed) with the machine described; raw runs to bench/runs/, where
earlier scales are kept, so `--scales 30` adds to a report made with `--scales 1`.
"""

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent
NOTES = {
    "generate": "",
    "duckdb": "DuckDB alone reads the CSV deliveries of the CSV schools into tables",
    "ingest_csv": "ingest of the same CSV schools and the municipality",
    "ingest": "ingest of every partition (CSV and XLSX)",
    "warehouse": "full warehouse build from staging (all models)",
    "engine": "one DuckDB query aggregating absences and grades per pupil and semester",
}
TARGETS = {
    "ingest_ratio": 3.0,
    "ingest_peak_gb_scale_30": 6.0,
    "indicator_ratio": 2.0,
    "warehouse_seconds_scale_30": 300.0,
}


def stage(name: str, data: Path, *extra: str) -> dict:
    output = subprocess.run(
        [sys.executable, "-m", "bench.stages", name, str(data), *extra],
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT.parent,
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def fresh(data: Path) -> None:
    for folder in ("staging", "archive"):
        shutil.rmtree(data / folder, ignore_errors=True)


STAGES = ("generate", "duckdb", "ingest_csv", "ingest", "warehouse", "engine")


def measure(scale: float, runs: int, work: Path, stages: tuple[str, ...] = STAGES) -> dict:
    """Run the stages in order; the later ones read what the earlier ones left in `work`."""
    data = work / f"scale-{scale:g}"
    repeats = runs if scale <= 1 else 1
    results: dict[str, list[dict]] = {}
    for name in (s for s in STAGES if s in stages):
        if name == "generate":
            results[name] = [stage(name, data, str(scale)) for _ in range(repeats)]
        elif name in ("duckdb", "ingest_csv", "ingest"):
            results[name] = []
            for _ in range(runs if name != "ingest" or scale <= 1 else 1):
                fresh(data)  # a full ingest at scale 30 takes minutes: once
                results[name].append(stage(name, data))
        else:  # on the staging the last ingest left
            results[name] = [stage(name, data) for _ in range(repeats)]
    return results


def median(runs: list[dict], key: str) -> float:
    return statistics.median(r[key] for r in runs)


def machine() -> str:
    cpus = os.cpu_count()
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (
        f"{platform.machine()}, {cpus} cores, {memory:.0f} GiB, Python {platform.python_version()}"
    )


def report(all_results: dict[str, dict]) -> str:
    lines = [
        "# Benchmark results",
        "",
        f"Machine: {machine()}. Generated {datetime.now(UTC):%Y-%m-%d %H:%M} UTC by `make bench`.",
        "Medians of the runs per stage (column `runs`); peak RSS is the largest of the runs,"
        " counting the worker processes of parallel ingest.",
        "",
        "| scale | stage | runs | median s | peak RSS MB | rows | note |",
        "|---|---|---|---|---|---|---|",
    ]
    for scale, results in all_results.items():
        for name, stage_runs in results.items():
            rows = stage_runs[0].get("rows_read", stage_runs[0].get("files", ""))
            peak = max(r["peak_rss_mb"] for r in stage_runs)
            note = NOTES[name]
            if name == "warehouse":
                note += f"; indicators {median(stage_runs, 'indicators'):.1f} s"
            if name == "generate":
                note = f"{stage_runs[0]['files']} files, {stage_runs[0]['bytes'] / 1e6:.0f} MB"
            lines.append(
                f"| {scale} | {name} | {len(stage_runs)} | {median(stage_runs, 'seconds'):.1f} | {peak:.0f} "
                f"| {rows} | {note} |"
            )
    lines += ["", "## Targets", "", "| target | measured | met |", "|---|---|---|"]
    for scale, results in all_results.items():
        ratio = median(results["ingest_csv"], "seconds") / median(results["duckdb"], "seconds")
        met = "met" if ratio <= TARGETS["ingest_ratio"] else "missed"
        lines.append(
            f"| scale {scale}: ingest ≤ 3× DuckDB reading the same files | {ratio:.1f}× | {met} |"
        )
        if float(scale) >= 30:
            peak_gb = max(r["peak_rss_mb"] for r in results["ingest"]) / 1024
            met = "met" if peak_gb <= TARGETS["ingest_peak_gb_scale_30"] else "missed"
            lines.append(f"| scale {scale}: ingest peak memory < 6 GB | {peak_gb:.1f} GB | {met} |")
        if "warehouse" not in results:
            continue
        indicators = median(results["warehouse"], "indicators")
        ratio = indicators / median(results["engine"], "seconds")
        met = "met" if ratio <= TARGETS["indicator_ratio"] else "missed"
        lines.append(
            f"| scale {scale}: indicator models ≤ 2× one DuckDB query over the same absences "
            f"and grades | {ratio:.1f}× ({indicators:.1f} s) | {met} |"
        )
        if float(scale) >= 30:
            seconds = median(results["warehouse"], "seconds")
            met = "met" if seconds <= TARGETS["warehouse_seconds_scale_30"] else "missed"
            lines.append(
                f"| scale {scale}: warehouse build within 5 minutes | {seconds:.0f} s | {met} |"
            )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scales", type=float, nargs="+", default=[1.0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--work", type=Path, default=ROOT / "runs")
    parser.add_argument(
        "--stages", nargs="+", choices=STAGES, default=STAGES,
        help="measure only these (the rest of a scale's earlier results are kept)",
    )  # fmt: skip
    args = parser.parse_args()
    stored = args.work / "results.json"
    all_results = json.loads(stored.read_text()) if stored.exists() else {}
    for scale in args.scales:
        measured = measure(scale, args.runs, args.work, tuple(args.stages))
        all_results[f"{scale:g}"] = all_results.get(f"{scale:g}", {}) | measured
    stored.write_text(json.dumps(all_results, indent=1))
    text = report(all_results)
    (ROOT / "results.md").write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
