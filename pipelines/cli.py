"""`pmp`: the operations an operator runs by hand. They call the same functions as the assets."""

import argparse
import resource
import time
from datetime import date
from pathlib import Path

from pipelines.demo.generate import DEFAULT_END_DATE, DEFAULT_SEED, generate
from pipelines.paths import (
    exports_dir,
    landing_dir,
    publication_dir,
    quality_dir,
    staging_dir,
    warehouse_file,
)
from pipelines.publish import publish


def _generate(args: argparse.Namespace) -> None:
    started = time.perf_counter()
    manifest = generate(
        args.out, args.seed, args.end_date, args.scale, args.defect_rate, replace=args.replace
    )
    seconds = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    total = sum(f.bytes for f in manifest.files)
    print(
        f"wrote {len(manifest.files)} files ({total / 1e6:.1f} MB) and "
        f"{len(manifest.defects)} defect records to {args.out} "
        f"in {seconds:.1f} s, peak memory {peak_mb:.0f} MB"
    )


def _publish(args: argparse.Namespace) -> None:
    written = publish(
        warehouse_file(), staging_dir(), publication_dir(), quality_dir(), exports_dir()
    )
    for revision in written:
        print(f"published {revision.period} revision {revision.number}: {revision.path}")
    if not written:
        print(
            f"nothing new: every final period's numbers equal its latest revision in {exports_dir()}"
        )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="pmp", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    gen = commands.add_parser("generate", help="write deterministic demo deliveries to landing")
    gen.add_argument("--out", type=Path, default=None, help="landing folder (default data/landing)")
    gen.add_argument("--seed", type=int, default=DEFAULT_SEED)
    gen.add_argument("--end-date", type=date.fromisoformat, default=DEFAULT_END_DATE)
    gen.add_argument("--scale", type=float, default=1.0, help="30 is about all of Latvia")
    gen.add_argument("--defect-rate", type=float, default=0.002, help="share of rows broken")
    gen.add_argument("--replace", action="store_true", help="empty a non-empty landing folder")
    gen.set_defaults(handler=_generate)
    pub = commands.add_parser(
        "publish",
        help="suppress, check (quality gate) and write the ministry extracts of every final "
        "period whose numbers changed (run while no warehouse build runs)",
    )
    pub.set_defaults(handler=_publish)
    args = parser.parse_args(argv)
    if getattr(args, "out", False) is None:
        args.out = landing_dir()
    args.handler(args)
