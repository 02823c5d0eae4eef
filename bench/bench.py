"""`make bench`: generate data at each scale, run the stages, report medians and peak memory.

Each stage runs in its own process (bench/stages.py), timed from start to exit, so that its
wall time counts its own imports and its peak RSS is its own. Results go to bench/results.md
(committed) with the machine described; raw runs to bench/runs/, where earlier scales and
stages are kept, so `--scales 30` adds to a report made with `--scales 1`, and
`--stages publish dashboard` measures those again on the data the earlier stages left.

The nightly incremental run (`incremental`) is measured on five nights: a mid-month night and
one in the semester's last week, each with one semester of history and with four complete
semesters before it (the same days two school years later), and a night of a spring semester,
whose school year's autumn semester is final: a register rebuilds its whole school year, and
publication protects the new semester jointly with the final one. Each data set is ingested, built
and published up to two nights before, and the night before is run as a night, as production's
nights follow one another; then one school day's deliveries of every school are added and the
nightly run is timed: ingest, the incremental warehouse build, publication and both
dashboards. One more run of the night is profiled (cProfile, not counted in the medians):
where each second of the night goes.
"""

import argparse
import json
import os
import platform
import pstats
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Collection, Iterator
from datetime import UTC, date, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent
STAGES = (
    "cli_help", "generate", "duckdb", "ingest_csv", "ingest", "warehouse", "engine", "publish",
    "dashboard", "dashboard_internal", "incremental",
)  # fmt: skip
# a run after generation, as the night runs it
PIPELINE = ("ingest", "warehouse", "publish", "dashboard", "dashboard_internal")
HISTORIES = ("1 semester", "4 semesters")
NIGHTS = {  # (history, night) -> the night's date
    ("1 semester", "mid-month"): date(2025, 11, 13),
    ("1 semester", "last week"): date(2025, 12, 18),
    ("4 semesters", "mid-month"): date(2027, 11, 11),
    ("4 semesters", "last week"): date(2027, 12, 16),
    # a spring semester's night: the register rebuilds the school year from its autumn semester
    ("2 semesters", "spring"): date(2026, 3, 5),
}
PROFILED = ("1 semester", "mid-month")
PROFILE_LINES = 8
NEEDS = {
    "duckdb": "demo_manifest.json",
    "ingest_csv": "landing",
    "ingest": "landing",
    "warehouse": "staging",
    "engine": "staging",
    "publish": "warehouse.duckdb",
    "dashboard": "publication/current",
    "dashboard_internal": "warehouse.duckdb",
}
NOTES = {
    "cli_help": "`pmp --help` in its own process, imports included",
    "generate": "",
    "duckdb": "DuckDB alone reads the CSV deliveries of the CSV schools into tables",
    "ingest_csv": "ingest of the same CSV schools and the municipality",
    "ingest": "ingest of every partition (CSV and XLSX)",
    "warehouse": "full warehouse build from staging (all models)",
    "engine": "one DuckDB query over the staging Parquet aggregating absences and grades per "
    "pupil and semester (bench/engine_aggregate.sql)",
    "publish": "suppression and attack, quality gate, release, extracts",
    "dashboard": "dashboard from the release in force",
    "dashboard_internal": "internal dashboard from the warehouse's marts, scanned for pupil data",
}
TARGETS = {
    "ingest_ratio": 3.0,
    "ingest_peak_gb_scale_30": 6.0,
    "indicator_ratio": 2.0,
    "warehouse_seconds_scale_30": 300.0,
    "full_refresh_seconds_scale_1": 60.0,
    "full_refresh_seconds_scale_30": 600.0,
    "full_refresh_peak_gb_scale_30": 8.0,
    "nightly_seconds": 15.0,
    "history_ratio": 1.3,
}


class StageFailed(RuntimeError):
    """A stage's process exited with an error (its stderr is in the message)."""


def stage(name: str, data: Path, *extra: str) -> dict:
    """Run one stage in its own process: its result, wall time and the load it ran under."""
    load = os.getloadavg()[0]
    started = time.perf_counter()
    process = subprocess.run(
        [sys.executable, "-m", "bench.stages", name, str(data), *extra],
        capture_output=True,
        text=True,
        cwd=ROOT.parent,
    )
    seconds = time.perf_counter() - started
    if process.returncode != 0:
        raise StageFailed(f"stage {name} on {data} failed:\n{process.stderr[-4000:]}")
    result = json.loads(process.stdout.strip().splitlines()[-1])
    return result | {"seconds": seconds, "load": load, "timed": "process"}


def clear(data: Path, *names: str) -> None:
    for name in names:
        shutil.rmtree(data / name, ignore_errors=True)


def require(data: Path, name: str) -> None:
    """Stop with a clear message when a stage's input is missing from an earlier run."""
    needed = NEEDS.get(name)
    if needed is not None and not (data / needed).exists():
        raise SystemExit(
            f"{data / needed} is missing for the stage {name}: measure the stages before it "
            "first (make bench without BENCH_STAGES)"
        )


def full_refresh(name: str, data: Path, scale: float) -> dict:
    """One run of a full-refresh stage, on a clean slate for what it writes."""
    if name in ("duckdb", "ingest_csv", "ingest"):
        clear(data, "staging", "archive")
    elif name == "publish":
        clear(data, "publication", "quality", "exports")
    elif name == "dashboard":
        clear(data, "reports")
    require(data, name)
    return stage(name, data, *(("--scale", str(scale)) if name == "generate" else ()))


def generated(source: Path, arguments: dict) -> bool:
    """Whether `source` holds demo data generated with these arguments (kept between runs)."""
    manifest = source / "demo_manifest.json"
    if not manifest.exists():
        return False
    found = json.loads(manifest.read_text(encoding="utf-8"))["arguments"]
    return all(found.get(key) == value for key, value in arguments.items())


def link_tree(
    source: Path, target: Path, skip: Collection[str] = (), only: Collection[str] | None = None
) -> None:
    """Hard links of a folder of files nobody rewrites in place (landing, archive): every
    file but the ones to `skip`, or `only` the ones given."""
    for path in sorted(source.rglob("*")):
        relative = path.relative_to(source).as_posix()
        if path.is_file() and relative not in skip and (only is None or relative in only):
            (target / relative).parent.mkdir(parents=True, exist_ok=True)
            os.link(path, target / relative)


def land_tonight(before: Path, source: Path, night: Path) -> None:
    """In `night`, the state of the night before with tonight's files landed: copies of what
    the run rewrites, hard links of the files nobody rewrites (landing, archive)."""
    shutil.rmtree(night, ignore_errors=True)
    night.mkdir(parents=True)
    for path in before.iterdir():
        if path.name in ("landing", "archive"):
            continue
        if path.is_dir():
            shutil.copytree(path, night / path.name, symlinks=True)
        else:
            shutil.copy2(path, night / path.name)
    link_tree(source / "landing", night / "landing")
    link_tree(before / "archive", night / "archive")


def nightly(scale: float, runs: int, folder: Path, end: date) -> dict:
    """Build up to two nights before `end` and run the night before as a night (so that the
    night measured follows a night, as in production: the first night after a full run
    protects again the final semesters whose revisions that run sent, and no later one
    does), then time the nightly run of `end` `runs` times, and profile one more run of it."""
    source, before, night = folder / "source", folder / "before", folder / "night"
    arguments = {"end_date": end.isoformat(), "scale": scale, "defect_rate": 0.0}
    if not generated(source, arguments):
        stage("generate", source, "--scale", str(scale), "--end-date", end.isoformat(),
              "--defect-rate", "0")  # fmt: skip
    manifest = json.loads((source / "demo_manifest.json").read_text(encoding="utf-8"))
    delivered = {f["file"]: f["delivered_at"][:10] for f in manifest["files"]}
    tonight = {file for file, day in delivered.items() if day == end.isoformat()}
    night_before = max(day for day in delivered.values() if day < end.isoformat())
    last_night = {file for file, day in delivered.items() if day == night_before}
    clear(folder, "before")
    link_tree(source / "landing", before / "landing", skip=tonight | last_night)
    for name in PIPELINE:
        stage(name, before)
    link_tree(source / "landing", before / "landing", only=last_night)
    for name in PIPELINE:
        stage(name, before, *(["--incremental"] if name == "warehouse" else []))
    measured = [night_run(before, source, night) for _ in range(runs)]
    profile = night_run(before, source, night, profiles=folder / "profile")
    return {"end_date": end.isoformat(), "night_before": night_before, "files": len(tonight),
            "runs": measured, "profile": profile}  # fmt: skip


def night_run(before: Path, source: Path, night: Path, profiles: Path | None = None) -> dict:
    """One nightly run over the night before with tonight's files landed: each part in its
    own process; with `profiles`, each part under cProfile and summarised."""
    land_tonight(before, source, night)
    parts: dict[str, dict] = {}
    for part in PIPELINE:
        extra = ["--incremental"] if part == "warehouse" else []
        if profiles is not None:
            profiles.mkdir(parents=True, exist_ok=True)
            extra += ["--profile", str(profiles / f"{part}.pstats")]
        parts[part] = stage(part, night, *extra)
        if profiles is not None:
            parts[part]["hot"] = hot_spots(profiles / f"{part}.pstats")
    return parts


def hot_spots(path: Path) -> dict[str, list[list]]:
    """From a cProfile dump: the project's functions by cumulative time (what each step of
    the code costs, callees included) and every function by its own time (where the CPU is
    spent: DuckDB, Polars, imports...)."""
    stats = pstats.Stats(str(path)).stats  # type: ignore[attr-defined]
    rows = [
        (f"{Path(file).name}:{name}" if "pipelines" not in file else
         f"{file[file.index('pipelines'):]}:{name}", own, cumulative, file)
        for (file, _, name), (_, _, own, cumulative, _) in stats.items()
    ]  # fmt: skip
    project = [r for r in rows if "/pipelines/" in r[3] and "<" not in r[0]]
    by_cumulative = sorted(project, key=lambda r: -r[2])[:PROFILE_LINES]
    by_own = sorted(rows, key=lambda r: -r[1])[:PROFILE_LINES]
    return {
        "cumulative": [[name, round(c, 2)] for name, _, c, _ in by_cumulative],
        "own": [[name, round(o, 2)] for name, o, _, _ in by_own],
    }


def measure(
    scale: float, runs: int, work: Path, stages: tuple[str, ...] = STAGES
) -> Iterator[tuple[str, list[dict] | dict]]:
    """Run the stages in order, yielding each one's runs as it ends; the later stages read
    what the earlier ones left in `work`."""
    data = work / f"scale-{scale:g}"
    repeats = runs if scale <= 1 else 1
    for name in (s for s in STAGES if s in stages):
        if name != "incremental":
            yield name, [full_refresh(name, data, scale) for _ in range(repeats)]
        elif scale <= 1:  # Ogre's night: a nightly run at scale 30 is not what runs
            nights = {
                f"{history}, {night}": nightly(scale, repeats, data / f"nightly-{end:%Y%m%d}", end)
                for (history, night), end in NIGHTS.items()
            }
            yield name, nights


def median(runs: list[dict], key: str) -> float:
    return statistics.median(r[key] for r in runs)


def peak(runs: list[dict]) -> float:
    return max(r["peak_rss_mb"] for r in runs)


def machine() -> str:
    cpus = os.cpu_count()
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (
        f"{platform.machine()}, {cpus} cores, {memory:.0f} GiB, Python {platform.python_version()}"
    )


def _seconds(parts: dict[str, float]) -> str:
    return ", ".join(f"{name} {seconds:.1f} s" for name, seconds in parts.items())


def _median_parts(runs: list[dict], key: str) -> dict[str, float]:
    """Per name, the median over the runs of `run[key][name]` (names in the first run's order)."""
    names = [name for name in runs[0].get(key, {}) if all(name in r.get(key, {}) for r in runs)]
    return {name: statistics.median(r[key][name] for r in runs) for name in names}


def note(name: str, runs: list[dict]) -> str:
    first = runs[0]
    if name == "generate":
        return f"{first['files']} files, {first['bytes'] / 1e6:.0f} MB"
    if name == "warehouse":
        parts = _median_parts(runs, "parts")
        text = f"indicators {median(runs, 'indicators'):.1f} s"
        if all("indicator_measures" in r for r in runs):
            text += (
                f" (per-pupil measures {median(runs, 'indicator_measures'):.1f} s, the "
                f"analysis models {median(runs, 'indicator_analysis'):.1f} s)"
            )
        if parts:
            text = (
                f"imports {parts['imports']:.1f} s, build {parts['build']:.1f} s of which models "
                f"{parts['models']:.1f} s; {text}"
            )
        slowest = _median_parts(runs, "slowest")
        if slowest:
            top = dict(sorted(slowest.items(), key=lambda item: -item[1])[:3])
            text += f"; slowest models: {_seconds(top)}"
        return text
    if name == "ingest" and "files_read" in first:
        return (
            f"{first['files_read']} of {first['files']} files read (the others: in the ingest "
            "cache, or the same bytes as a file read)"
        )
    if name == "publish":
        release = "" if first.get("new_release", True) else "content unchanged, no release; "
        return release + _seconds(_median_parts(runs, "parts"))
    if name in ("dashboard", "dashboard_internal"):
        if not first.get("redrawn", True):
            return "release unchanged: not redrawn"
        return f"{first['views']} views, {first['bytes'] / 1e6:.1f} MB"
    if name == "engine" and "query" in first:
        return f"the query alone {median(runs, 'query'):.2f} s"
    return ""


def engine_seconds(results: dict) -> float | None:
    """The engine query's own median time (runs of an earlier bench timed only the query)."""
    if "engine" not in results:
        return None
    return statistics.median(r.get("query", r["seconds"]) for r in results["engine"])


def _ratio(seconds: float, engine: float | None) -> str:
    if not engine:
        return ""
    ratio = seconds / engine
    return f"{ratio:.0f}×" if ratio >= 10 else f"{ratio:.1f}×"


def _met(passed: bool) -> str:
    return "met" if passed else "missed"


def stage_table(all_results: dict[str, dict]) -> list[str]:
    lines = [
        "| scale | stage | runs | median s | × engine | peak RSS MB | rows | note |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for scale, results in all_results.items():
        engine = engine_seconds(results)
        for name in (s for s in STAGES if s in results and s != "incremental"):
            runs = results[name]
            seconds = median(runs, "seconds")
            rows = runs[0].get("rows_read", runs[0].get("files", ""))
            mark = "" if runs[0].get("timed") == "process" else " †"
            detail = "; ".join(text for text in (NOTES[name], note(name, runs)) if text)
            lines.append(
                f"| {scale} | {name}{mark} | {len(runs)} | {seconds:.1f} | {_ratio(seconds, engine)} "
                f"| {peak(runs):.0f} | {rows} | {detail} |"
            )
        if all(name in results for name in PIPELINE):
            seconds = sum(median(results[name], "seconds") for name in PIPELINE)
            most = max(peak(results[name]) for name in PIPELINE)
            lines.append(
                f"| {scale} | **full refresh** | | **{seconds:.1f}** | {_ratio(seconds, engine)} "
                f"| {most:.0f} | | {' + '.join(PIPELINE)} |"
            )
    return lines


def nightly_total(history: dict) -> tuple[float, float]:
    """The median over the runs of the nightly run's wall time, and its largest peak RSS."""
    totals = [sum(run[part]["seconds"] for part in PIPELINE) for run in history["runs"]]
    peaks = [run[part]["peak_rss_mb"] for run in history["runs"] for part in PIPELINE]
    return statistics.median(totals), max(peaks)


def nightly_table(all_results: dict[str, dict]) -> list[str]:
    lines = [
        "| scale | night | data until | part | runs | median s | peak RSS MB | note |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for scale, results in all_results.items():
        for label, measured in results.get("incremental", {}).items():
            until = f"{date.fromisoformat(measured['end_date']):%d.%m.%Y}"
            for part in PIPELINE:
                runs = [run[part] for run in measured["runs"]]
                detail = note(part, runs)
                if part == "ingest":
                    detail = f"{measured['files']} files of the night added; {detail}"
                if part == "warehouse":
                    detail = f"incremental from {', '.join(runs[0]['rebuilt_from'])}; {detail}"
                lines.append(
                    f"| {scale} | {label} | {until} | {part} | {len(runs)} "
                    f"| {median(runs, 'seconds'):.1f} | {peak(runs):.0f} | {detail} |"
                )
            seconds, most = nightly_total(measured)
            lines.append(
                f"| {scale} | {label} | {until} | **nightly run** | {len(measured['runs'])} "
                f"| **{seconds:.1f}** | {most:.0f} | median of the runs' sums |"
            )
    return lines


def profile_table(all_results: dict[str, dict]) -> list[str]:
    """The profiled night, part by part: its wall time, the project's costliest functions
    (callees included) and the functions with the most time of their own."""
    label = ", ".join(PROFILED)
    measured = all_results.get("1", {}).get("incremental", {}).get(label)
    if measured is None or "profile" not in measured:
        return ["Not measured."]
    lines = [
        f"Scale 1, {label} ({date.fromisoformat(measured['end_date']):%d.%m.%Y}), one run under "
        "cProfile (its overhead makes every figure larger than in the medians above).",
        "",
        "| part | s under cProfile | project functions, cumulative s | own time s |",
        "|---|---|---|---|",
    ]
    for part in PIPELINE:
        run = measured["profile"][part]
        cumulative = "; ".join(
            f"`{name}` {seconds:.2f}" for name, seconds in run["hot"]["cumulative"]
        )
        own = "; ".join(f"`{name}` {seconds:.2f}" for name, seconds in run["hot"]["own"])
        lines.append(f"| {part} | {run['seconds']:.1f} | {cumulative} | {own} |")
    return lines


def target_table(all_results: dict[str, dict]) -> list[str]:
    lines = ["| target | measured | met |", "|---|---|---|"]

    def row(target: str, measured: str, passed: bool | None) -> None:
        lines.append(
            f"| {target} | {measured} | {'not measured' if passed is None else _met(passed)} |"
        )

    one, thirty = all_results.get("1", {}), all_results.get("30", {})
    missing = [name for name in PIPELINE if name not in one]
    if missing:
        row("scale 1: full refresh under 60 s", f"missing: {', '.join(missing)}", None)
    else:
        seconds = sum(median(one[name], "seconds") for name in PIPELINE)
        limit = TARGETS["full_refresh_seconds_scale_1"]
        row(f"scale 1: full refresh ({' + '.join(PIPELINE)}) under 60 s",
            f"{seconds:.1f} s", seconds < limit)  # fmt: skip
    missing = [name for name in PIPELINE if name not in thirty]
    if missing:
        row("scale 30: full refresh under 10 minutes with peak RSS under 8 GB",
            f"missing: {', '.join(missing)}", None)  # fmt: skip
    else:
        seconds = sum(median(thirty[name], "seconds") for name in PIPELINE)
        peak_gb = max(peak(thirty[name]) for name in PIPELINE) / 1024
        passed = (
            seconds < TARGETS["full_refresh_seconds_scale_30"]
            and peak_gb < TARGETS["full_refresh_peak_gb_scale_30"]
        )
        row("scale 30: full refresh under 10 minutes with peak RSS under 8 GB",
            f"{seconds / 60:.1f} min, {peak_gb:.1f} GB", passed)  # fmt: skip
    nights = one.get("incremental", {})
    for (history, night), _ in NIGHTS.items():
        label = f"{history}, {night}"
        if label not in nights:
            row(f"scale 1: nightly run under 15 s ({label})", "", None)
            continue
        seconds, _ = nightly_total(nights[label])
        row(f"scale 1: nightly run under 15 s ({label})", f"{seconds:.1f} s",
            seconds < TARGETS["nightly_seconds"])  # fmt: skip
    for night in sorted({night for history, night in NIGHTS if history == HISTORIES[1]}):
        labels = [f"{history}, {night}" for history in HISTORIES]
        target = f"scale 1: nightly run, 4 semesters / 1 semester under 1.3 ({night})"
        if all(label in nights for label in labels):
            shortest, longest = (nightly_total(nights[label])[0] for label in labels)
            ratio = longest / shortest
            row(target, f"{ratio:.2f}", ratio < TARGETS["history_ratio"])
        else:
            row(target, "", None)
    for scale, results in all_results.items():
        if "ingest_csv" in results and "duckdb" in results:
            ratio = median(results["ingest_csv"], "seconds") / median(results["duckdb"], "seconds")
            row(f"scale {scale}: ingest ≤ 3× DuckDB reading the same files", f"{ratio:.1f}×",
                ratio <= TARGETS["ingest_ratio"])  # fmt: skip
        if float(scale) >= 30 and "ingest" in results:
            peak_gb = peak(results["ingest"]) / 1024
            row(f"scale {scale}: ingest peak memory < 6 GB", f"{peak_gb:.1f} GB",
                peak_gb <= TARGETS["ingest_peak_gb_scale_30"])  # fmt: skip
        engine = engine_seconds(results)
        if "warehouse" in results and engine:
            row(*indicator_target(scale, results["warehouse"], engine))
        if float(scale) >= 30 and "warehouse" in results:
            seconds = median(results["warehouse"], "seconds")
            row(f"scale {scale}: warehouse build within 5 minutes", f"{seconds:.0f} s",
                seconds <= TARGETS["warehouse_seconds_scale_30"])  # fmt: skip
    return lines


def indicator_target(scale: str, runs: list[dict], engine: float) -> tuple[str, str, bool]:
    """The indicator models against the engine query: the models that compute the per-pupil
    measures, risk and score (the nightly `indicators` models: `as_of_dates`, `pupil_measures`,
    `pupil_indicators`, `score_features`, `pupil_score`, `pupil_risk`, `current_flags`) are
    what the target is about; every `indicators` model, the weekly `@analysis` ones (the
    evaluation, its bootstrap, the backtest, the outcomes) included, is shown beside them."""
    target = (
        f"scale {scale}: indicator models ≤ 2× one DuckDB query over the same absences and grades"
    )
    every = median(runs, "indicators")
    if not all("indicator_measures" in r for r in runs):
        ratio = every / engine
        return target, f"{ratio:.1f}× ({every:.1f} s)", ratio <= TARGETS["indicator_ratio"]
    measures = median(runs, "indicator_measures")
    ratio = measures / engine
    shown = (
        f"per-pupil measure models {ratio:.1f}× ({measures:.1f} s); every indicators model, the "
        f"weekly analysis ones included, {every / engine:.1f}× ({every:.1f} s)"
    )
    return target, shown, ratio <= TARGETS["indicator_ratio"]


def every_run(all_results: dict[str, dict]) -> list[dict]:
    """Every stage process measured, nightly parts included."""
    found = []
    for results in all_results.values():
        for name, measured in results.items():
            if name != "incremental":
                found += measured
                continue
            for history in measured.values():
                found += [run[part] for run in history["runs"] for part in PIPELINE]
    return found


def report(all_results: dict[str, dict], runs: int) -> str:
    loads = [run["load"] for run in every_run(all_results) if "load" in run]
    lines = [
        "# Benchmark results",
        "",
        f"Machine: {machine()}. Generated {datetime.now(UTC):%Y-%m-%d %H:%M} UTC by `make bench`.",
        "",
        "Wall time is each stage's own process from start to exit, its imports included (Great"
        " Expectations in `publish`, about 4 s on an idle machine with the packages compiled to"
        " bytecode by `make venv`). Medians of the runs (column"
        f" `runs`): {runs} per stage at scale 1 and below, one at larger scales (generation alone"
        " takes about 10 minutes at scale 30, ingest about 6). Peak RSS is the largest of the"
        " runs, counting the worker processes of parallel ingest. `× engine` is the stage's"
        " median over the median of the `engine` query alone (without its process start-up and"
        " imports: the engine's own limit) at the same scale."
        + (
            f" One-minute load average when the runs started: {min(loads):.1f} to"
            f" {max(loads):.1f} on {os.cpu_count()} cores."
            if loads
            else ""
        ),
        "",
        "## Full refresh, from generation to publication",
        "",
        *stage_table(all_results),
        "",
        "† measured by an earlier version of the bench, in the stage's process after its imports.",
        "",
        "## Nightly incremental run",
        "",
        "The night measured: one school day's deliveries of every school (what the generator "
        "dates that evening: the register to date and the day's absences, notes and grades), "
        "added to data ingested, built and published up to two nights before, with the night "
        "before run as a night (its deliveries landed, each part run), as production's nights "
        "follow one another: the first night after a full run protects again the final "
        "semesters whose revisions that run sent, and only that night. Five nights: a "
        f"mid-month night ({NIGHTS[HISTORIES[0], 'mid-month']:%d.%m.%Y}) and one in the "
        f"semester's last week ({NIGHTS[HISTORIES[0], 'last week']:%d.%m.%Y}) with `1 "
        "semester` of history (2025/26 S1 alone), and the same days two school years later "
        f"({NIGHTS[HISTORIES[1], 'mid-month']:%d.%m.%Y}, "
        f"{NIGHTS[HISTORIES[1], 'last week']:%d.%m.%Y}) with `4 semesters` (2025/26 S1 to "
        "2026/27 S2 complete, then 2027/28 S1), so that the current semester is the same size "
        "and only the history differs; and a night of the spring semester "
        f"({NIGHTS['2 semesters', 'spring']:%d.%m.%Y}, `2 semesters`: 2025/26 S1 complete, then "
        "S2), the first semester of its school year final: the night's register rebuilds the "
        "school year from its autumn semester, and the spring semester is protected jointly "
        "with it. Clean files (`--defect-rate 0`: with defects the "
        "generator drops its whole-file defects into the last night too). The nightly run is "
        "ingest, the incremental warehouse build, publication and both dashboards (public and "
        "internal), each its own "
        "process, as Dagster runs each step; scale 1 only (Ogre's night).",
        "",
        *nightly_table(all_results),
        "",
        "### Where the seconds of one night go",
        "",
        *profile_table(all_results),
        "",
        "## Targets",
        "",
        *target_table(all_results),
        "",
        "The indicator models' target is about the models that compute the per-pupil measures,"
        " risk and score: the `indicators` models the night builds (`as_of_dates`,"
        " `pupil_measures`, `pupil_indicators`, `score_features`, `pupil_score`, `pupil_risk`,"
        " `current_flags`), which the engine query's aggregation of the same absences and grades"
        " is the yardstick for. The model evaluation (`evaluation*`, `bootstrap_weights`,"
        " `backtest`, `outcomes`: `@analysis` models, rebuilt weekly, not nightly) ranks and"
        " resamples those results rather than aggregating facts; every `indicators` model"
        " together is shown beside them, so that nothing is left out of the figure.",
        "",
        "Where the missed targets lose their time, and what would win it back: docs/scaling.md,"
        ' "The night".',
    ]
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
    args.work.mkdir(parents=True, exist_ok=True)
    stored = args.work / "results.json"
    all_results = json.loads(stored.read_text()) if stored.exists() else {}
    for scale in args.scales:
        for name, measured in measure(scale, args.runs, args.work, tuple(args.stages)):
            all_results.setdefault(f"{scale:g}", {})[name] = measured
            stored.write_text(json.dumps(all_results, indent=1))
    text = report(all_results, args.runs)
    (ROOT / "results.md").write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
