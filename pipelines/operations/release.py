"""Releasing a held delivery: `pmp release <sha256> --reason "..."`.

Ingest holds a delivery that would remove more than `[ingest] max_drop_share` of the rows in
force for its school, kind and period (a school exporting one day where it meant a term, a
filter left on): its rows are archived and validated but not applied, and its log row says
`held`. An operator who has checked with the school that the smaller file is right releases
it. The release is an entry in an append-only audit log (`data/audit/releases.jsonl`: the
delivery, its file and school, the reason, who and when); every later ingest reads the log
and applies a released delivery like any other. The delivery's partition is re-ingested at
once, so that its rows are in force when the command returns.
"""

import getpass
import json
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from pipelines.feedback import OperatorError
from pipelines.ingest.staging import read_table


class ReleaseError(OperatorError):
    """A release that cannot be made: names the delivery and why."""


@dataclass(frozen=True)
class Release:
    sha256: str
    file: str
    school_id: str
    reason: str
    released_by: str
    released_at: str


def released_deliveries(log: Path) -> frozenset[str]:
    """The SHA-256 of every delivery an operator released."""
    if not log.exists():
        return frozenset()
    lines = log.read_text(encoding="utf-8").splitlines()
    return frozenset(json.loads(line)["sha256"] for line in lines if line.strip())


def release(sha256: str, reason: str, staging: Path, log: Path) -> Release:
    """Record the release of a held delivery in the audit log; refuse anything else."""
    if not reason.strip():
        raise ReleaseError("a release needs a reason (--reason): it goes into the audit log")
    delivery_log = read_table(staging, "delivery_log")
    found = (
        pl.DataFrame()
        if delivery_log is None
        else delivery_log.filter(pl.col("sha256").str.starts_with(sha256.lower()))
    )
    if found.is_empty():
        raise ReleaseError(
            f"no delivery {sha256} in the delivery log under {staging}: copy the SHA-256 of "
            "the held delivery from the log (docs/operations.md, 'A held delivery')"
        )
    if found["sha256"].n_unique() > 1:
        raise ReleaseError(f"{sha256} is the start of several deliveries: give more of it")
    held = found.filter(pl.col("status") == "held")
    if held.is_empty():
        row = found.row(0, named=True)
        raise ReleaseError(
            f"{row['file']} ({row['sha256'][:12]}) is {row['status']}, not held: nothing to release"
        )
    if held.height > 1:  # the same bytes held in several folders: released everywhere at once
        raise ReleaseError(
            f"{sha256} is held in {held.height} folders ({', '.join(held['file'])}): the same "
            "bytes were delivered to several schools; ask which school they belong to"
        )
    row = held.row(0, named=True)
    entry = Release(
        row["sha256"], row["file"], row["school_id"], reason.strip(), getpass.getuser(),
        datetime.now(UTC).isoformat(timespec="seconds"),
    )  # fmt: skip
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("a", encoding="utf-8") as audit:
        audit.write(json.dumps(asdict(entry), ensure_ascii=False) + "\n")
    return entry
