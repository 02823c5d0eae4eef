"""`pmp`: the operations an operator runs by hand. They call the same functions as the assets."""

import argparse
import os
import resource
import sys
import time
from contextlib import AbstractContextManager, nullcontext
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from pipelines.feedback import LineProgress, OperatorError, Progress, RichProgress
from pipelines.paths import (
    PROJECT_ROOT,
    archive_dir,
    data_dir,
    demo_key_file,
    exports_dir,
    hold_override_file,
    landing_dir,
    publication_dir,
    quality_dir,
    release_log_file,
    reports_dir,
    staging_dir,
    warehouse_file,
)

if TYPE_CHECKING:
    from pipelines.operations.retention import Purge, PurgeItem

# Each subcommand imports what it needs itself, so that `pmp --help` and a subcommand's
# `--help` import none of Dagster, Great Expectations, pandera, Polars, DuckDB or Plotly.


def progress() -> AbstractContextManager[Progress]:
    """Progress on stderr: a live display on a terminal, else one line per stage and step."""
    if sys.stderr.isatty():
        return RichProgress()
    return nullcontext(LineProgress(lambda line: print(line, file=sys.stderr, flush=True)))


def _generate(args: argparse.Namespace) -> None:
    from pipelines.demo.generate import DEFAULT_END_DATE, DEFAULT_SEED, generate
    from pipelines.privacy.pseudonym import create_demo_key

    out = args.out or landing_dir()
    seed = DEFAULT_SEED if args.seed is None else args.seed
    started = time.perf_counter()
    with progress() as shown:
        manifest = generate(
            out, seed, args.end_date or DEFAULT_END_DATE, args.scale, args.defect_rate,
            replace=args.replace, progress=shown,
        )  # fmt: skip
    seconds = time.perf_counter() - started
    if create_demo_key(demo_key_file()):
        print(f"created a demo pseudonym key in {demo_key_file()} (demo data only)")
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    total = sum(f.bytes for f in manifest.files)
    print(
        f"wrote {len(manifest.files)} files ({total / 1e6:.1f} MB) and "
        f"{len(manifest.defects)} defect records to {out} "
        f"in {seconds:.1f} s, peak memory {peak_mb:.0f} MB"
    )


def _publish(args: argparse.Namespace) -> None:
    from pipelines.ingest.staging import read_table
    from pipelines.publication.override import HoldOverride
    from pipelines.publication.publish import publish
    from pipelines.publication.quality_report import report_file
    from pipelines.publication.releases import release_facts
    from pipelines.reference.rules import project_period
    from pipelines.reports.dashboard import DASHBOARD_FILE, refresh_dashboard

    if args.reason is not None and not args.override_hold:
        raise OperatorError(
            '--reason goes with --override-hold: pmp publish --override-hold --reason "..."'
        )
    override = HoldOverride(args.reason or "", hold_override_file()) if args.override_hold else None
    with progress() as shown:
        done = publish(
            warehouse_file(), staging_dir(), publication_dir(), quality_dir(), exports_dir(),
            override, shown,
        )  # fmt: skip
    if override is not None and override.entry is not None:
        print(
            f"hold overridden: published without {', '.join(override.entry['missing'])} "
            f"(night of {override.entry['night']}); recorded in {override.log}"
        )
    elif override is not None and override.hold is not None:
        print("hold not overridden: nothing new to publish without the schools; nothing recorded")
    elif override is not None:
        print("no hold to override: last night's deliveries are complete enough; nothing recorded")
    facts = release_facts(done.release)
    release = (
        f"release {done.release.name} (data to {facts['data_cutoff']}, "
        f"published {facts['published_at']})"
    )
    if done.new_release:
        print(f"published {release}; quality report: {report_file(quality_dir())}")
    else:
        print(f"nothing new: the content equals the release in force, {release}")
    for revision in done.revisions:
        print(f"published {revision.period} revision {revision.number}: {revision.path}")
    if not done.revisions:
        print(
            f"no new revision: every final period's numbers equal its latest revision in "
            f"{exports_dir()}"
        )
    output = reports_dir() / DASHBOARD_FILE
    if (
        refresh_dashboard(
            publication_dir(), read_table(staging_dir(), "delivery_log"), output, *project_period()
        )
        is not None
    ):
        print(f"dashboard redrawn from release {done.release.name}: {output}")
    if done.removed:
        print(
            f"removed {len(done.removed)} releases neither in force, nor the one before it, "
            f"nor sent in an extract: {', '.join(done.removed)}"
        )


def _backfill(args: argparse.Namespace) -> None:
    from pipelines.operations.backfill import backfill, semester_dates
    from pipelines.operations.release import released_deliveries
    from pipelines.privacy.pseudonym import load_key

    semester_dates(args.semester)  # an unknown semester is said before a missing key
    key = load_key(demo_key_file())
    with progress() as shown:
        report = backfill(
            args.semester, landing_dir(), archive_dir(), staging_dir(), warehouse_file(), key,
            workers=os.cpu_count() or 1, released=released_deliveries(release_log_file()),
            progress=shown,
        )  # fmt: skip
    rebuilt = sum(run.rebuilt_from is not None for run in report.models)
    print(
        f"{report.semester_id}: {report.files_covering} deliveries cover it, "
        f"{len(report.restored)} restored from the archive; {report.partitions} partitions "
        f"re-ingested; {rebuilt} warehouse models rebuilt from {report.semester_id}. "
        "Run `pmp publish` to re-publish."
    )


def _release(args: argparse.Namespace) -> None:
    import polars as pl

    from pipelines.ingest.partition import stage_partitions
    from pipelines.operations.release import release, released_deliveries
    from pipelines.privacy.pseudonym import load_key

    entry = release(args.sha256, args.reason, staging_dir(), release_log_file())
    with progress() as shown:
        reports = stage_partitions(
            [entry.school_id], landing_dir(), archive_dir(), staging_dir(),
            load_key(demo_key_file()), workers=1,
            released=released_deliveries(release_log_file()), progress=shown,
        )  # fmt: skip
    log = pl.concat([report.log for report in reports])
    now = log.filter((pl.col("sha256") == entry.sha256) & (pl.col("status") != "duplicate"))
    outcome = (
        f"{now['status'][0]}, {now['rows_loaded'][0]} rows"
        if now.height
        else "its file is no longer in landing: the release applies when it is delivered again"
    )
    print(
        f"released {entry.file}: {outcome}; audit entry in {release_log_file()}. "
        "The warehouse takes it at its next build."
    )


def _train_score(args: argparse.Namespace) -> None:
    from pipelines.reference.score import SCORE_FILE
    from pipelines.warehouse.score import train

    fitted = train(
        warehouse_file(), staging_dir(), args.until, args.version, args.source, SCORE_FILE
    )
    print(
        "pmp train-score: the analysis models rebuilt over the warehouse's last build, then "
        f"{len(fitted.features)} weights fitted on {fitted.pupil_dates} "
        f"pupil-dates ({fitted.outcomes} with an outcome) up to {args.until}, written to "
        f"{SCORE_FILE.relative_to(PROJECT_ROOT)} as version {args.version}; rebuild the "
        "warehouse to score with them"
    )


def _rotate_key(args: argparse.Namespace) -> None:
    from pipelines.operations.rekey import read_key_file, rotate_key, work_folder
    from pipelines.privacy.pseudonym import KEY_VARIABLE, load_key

    demo = not os.environ.get(KEY_VARIABLE)
    if demo and not demo_key_file().exists():
        raise OperatorError(
            f"no key in use: {KEY_VARIABLE} is not set and there is no demo key in "
            f"{demo_key_file()}; set {KEY_VARIABLE} to the key the data was pseudonymised with"
        )
    rotation = rotate_key(
        staging_dir(), archive_dir(), warehouse_file(), work_folder(data_dir()),
        load_key(demo_key_file()).secret, read_key_file(args.new_key_file),
        demo_key_file() if demo else None,
    )  # fmt: skip
    finished = "finished the interrupted rotation: " if rotation.resumed else ""
    rebuilt = "; the warehouse was rebuilt" if rotation.warehouse_rebuilt else ""
    print(
        f"{finished}re-keyed {rotation.pupils} pupils: {rotation.keyed_rows} rows in "
        f"{rotation.staging_files} staging files{rebuilt}"
    )
    if demo:
        print(f"the demo key in {demo_key_file()} is now the new key")
    else:
        print(
            f"now set {KEY_VARIABLE} to the new key in the secret store before anything runs "
            "again, then destroy the old key"
        )


def _size(item: "PurgeItem") -> str:
    match item.kind:
        case "view":
            return "view"
        case "table":
            return f"table, {item.rows} rows"
        case "file":
            return f"file, {item.bytes} bytes"
    return f"folder, {item.files} files, {item.bytes / 1e6:.1f} MB"


def _listing(outcome: "Purge") -> str:
    return "\n".join(f"  {item.target}: {_size(item)}" for item in outcome.items)


def _purge(args: argparse.Namespace) -> None:
    from pipelines.operations.rekey import work_folder
    from pipelines.operations.retention import PURGE_LOG, purge, retention_rule
    from pipelines.privacy.pseudonym import KEY_VARIABLE

    rule = retention_rule()
    paths = [landing_dir(), archive_dir(), staging_dir(), work_folder(data_dir()), demo_key_file()]
    outcome = purge(paths, warehouse_file(), data_dir(), rule, args.as_of, args.dry_run)
    if not outcome.is_due:
        print(
            f"nothing purged: the purge of pupil-level data is due on {outcome.due:%d.%m.%Y} "
            f"({rule.describe()})"
        )
    if not outcome.items:
        print("no pupil-level data left")
    elif outcome.deleted:
        print(f"deleted, recorded in {data_dir() / PURGE_LOG}:\n{_listing(outcome)}")
        if os.environ.get(KEY_VARIABLE):
            print(f"now destroy {KEY_VARIABLE} in the secret store")
    elif args.dry_run:
        print(f"a purge would delete:\n{_listing(outcome)}")
    else:
        print(f"{len(outcome.items)} pupil-level folders, files and tables: --dry-run lists them")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="pmp", description=__doc__)
    parser.add_argument(
        "--debug", action="store_true", help="show the traceback of a known error too"
    )
    commands = parser.add_subparsers(dest="command", required=True)
    gen = commands.add_parser("generate", help="write deterministic demo deliveries to landing")
    gen.add_argument("--out", type=Path, default=None, help="landing folder (default data/landing)")
    gen.add_argument("--seed", type=int, default=None, help="default: the demo's seed")
    gen.add_argument(
        "--end-date", type=date.fromisoformat, default=None, help="default: the demo's end date"
    )
    gen.add_argument("--scale", type=float, default=1.0, help="30 is about all of Latvia")
    gen.add_argument("--defect-rate", type=float, default=0.002, help="share of rows broken")
    gen.add_argument("--replace", action="store_true", help="empty a non-empty landing folder")
    gen.set_defaults(handler=_generate)
    pub = commands.add_parser(
        "publish",
        help="suppress, check (quality gate) and write the ministry extracts of every final "
        "period whose numbers changed (run while no warehouse build runs)",
    )
    pub.add_argument(
        "--override-hold",
        action="store_true",
        help="publish even if held for missing schools (docs/operations.md); needs --reason, "
        "recorded in data/audit/hold_overrides.jsonl",
    )
    pub.add_argument("--reason", help="why publish without the missing schools: who decided")
    pub.set_defaults(handler=_publish)
    back = commands.add_parser(
        "backfill",
        help="re-process a semester: restore its deliveries from the archive, re-ingest every "
        "partition and rebuild the warehouse from that semester (run while no job runs)",
    )
    back.add_argument(
        "--semester", required=True, help="a semester id, e.g. 2025/26-S1 (or 2025/26 s1)"
    )
    back.set_defaults(handler=_backfill)
    held = commands.add_parser(
        "release",
        help="apply a delivery ingest held because it would remove most of the rows in force "
        "(docs/operations.md); the release goes into the audit log",
    )
    held.add_argument("sha256", help="the held delivery's SHA-256 (or its first characters)")
    held.add_argument("--reason", required=True, help="why: checked with whom, and what")
    held.set_defaults(handler=_release)
    retrain = commands.add_parser(
        "train-score",
        help="rebuild the warehouse's analysis models, fit the risk score's weights on its "
        "evaluated pupil-dates up to a day and write models/score.toml "
        '(docs/indicators.md, "The score")',
    )
    retrain.add_argument("--until", type=date.fromisoformat, required=True, help="last as-of date")
    retrain.add_argument("--version", required=True, help="the weights' new version")
    retrain.add_argument(
        "--source", required=True, help="what the warehouse holds, e.g. 'demo seed 20251'"
    )
    retrain.set_defaults(handler=_train_score)
    rotate = commands.add_parser(
        "rotate-key",
        help="re-key every pupil from the key in use to a new one: staging, the warehouse and "
        "its previous runs (stop the daemon and back up first)",
    )
    rotate.add_argument(
        "--new-key-file", type=Path, required=True, help="a file holding the new key as text"
    )
    rotate.set_defaults(handler=_rotate_key)
    purge_command = commands.add_parser(
        "purge",
        help="delete the pupil-level data once the retention period after the project's end "
        "has passed ([retention] in models/rules.toml); aggregates stay",
    )
    purge_command.add_argument(
        "--as-of", type=date.fromisoformat, default=date.today(), help="the day (default today)"
    )
    purge_command.add_argument(
        "--dry-run", action="store_true", help="list what would go, with sizes; delete nothing"
    )
    purge_command.set_defaults(handler=_purge)
    args = parser.parse_args(argv)
    try:
        args.handler(args)
    except OperatorError as error:  # a known error: one line, the traceback only with --debug
        if args.debug:
            raise
        raise SystemExit(f"pmp {args.command}: {' '.join(str(error).split())}") from None


if __name__ == "__main__":
    main()
