"""`pmp`: the operations an operator runs by hand. They call the same functions as the assets."""

import argparse
import resource
import time
from datetime import date
from pathlib import Path

from pipelines.demo.generate import DEFAULT_END_DATE, DEFAULT_SEED, generate
from pipelines.paths import landing_dir


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
    args = parser.parse_args(argv)
    if getattr(args, "out", False) is None:
        args.out = landing_dir()
    args.handler(args)
