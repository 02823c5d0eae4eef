"""The ingest cache: what each delivered file gave on its own, so that a night reads only the
night's files.

A partition's cache, `staging/ingest_cache/<partition>/`, keeps per delivery (its SHA-256 and
the moment it was received) what depends only on its bytes, that moment, the reference data,
the ingest code and the pseudonym key: whether it was rejected and why, its kinds, dialect,
encoding, declared periods, rows read and tolerated forms, and per table its rows in staging
shape that pass the table's own checks, the quarantine of those checks and the facts the
checks against other files need (`Kind.facts`: pupil key, masked code, date, class,
activity). It holds nothing staging may not hold: no personal code, name or birth date.

Every landing file is still hashed every night (a fraction of a second for the demo's
120 MB): a file rewritten in place, even with its old size and modification time, is a new
delivery. Everything is keyed by a fingerprint of the key, the ingest, privacy and reference
code and the reference data: a change of any of them, a key rotation
(the rotated staging has no cache), a backfill (`reuse=False`) or the retention purge (it
deletes staging) leaves the next ingest to read every file again.

Beside the reads it keeps what the checks against the school's register found in each table
at the last ingest (`Judged`), with the register deliveries they were judged against. Those
checks pass a row when some register row has its pupil on its date, or its class, so a row
they passed passes against every larger register: while every register delivery judged
against is still there, only the rows they failed are judged again.
"""

import hashlib
import json
import shutil
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from functools import cache, cached_property
from pathlib import Path

import polars as pl

from pipelines.feedback import OperatorError
from pipelines.ingest.staging import write_table, write_text
from pipelines.paths import PROJECT_ROOT, REFERENCE_DIR
from pipelines.privacy.pseudonym import key_fingerprint

CACHE_FOLDER = "ingest_cache"
MANIFEST = "manifest.json"
JUDGED = "judged.parquet"
# What a file's own checks depend on besides its bytes: this code and the reference data.
SOURCES = ("pipelines/ingest", "pipelines/privacy", "pipelines/reference")
Period = tuple[date, date]


class BrokenCache(OperatorError):
    """A cache segment whose rows of one entry's table are not together: they cannot be taken
    back exactly."""


@dataclass
class Table:
    """One delivered table checked on its own."""

    kind: str
    sheet: str | None
    duplicates: int
    staged: pl.DataFrame  # rows passing its own checks, in staging shape (periods not set)
    facts: pl.DataFrame  # every distinct row's facts for the checks against other files
    quarantine: pl.DataFrame  # its own checks' failures


@dataclass
class Read:
    """What a delivered file gave on its own: rejected with a reason, or its tables."""

    status: str
    reason: str | None = None
    kind: str | None = None
    dialect: str | None = None
    encoding: str | None = None
    rows_read: int = 0
    tolerated: dict[str, int] = field(default_factory=dict)
    declared: dict[int, tuple[Period, str]] = field(default_factory=dict)  # per table
    tables: list[Table] = field(default_factory=list)


@dataclass
class Judged:
    """What the checks against the school's register found (quarantine rows with `entry` and
    `table`), in every table of the entries `registers` were judged with: the register
    deliveries (by entry) whose rows formed that register."""

    registers: set[str]
    found: pl.DataFrame

    @cached_property
    def _tables(self) -> dict[tuple[str, int], pl.DataFrame]:
        return self.found.partition_by("entry", "table", as_dict=True, include_key=False)

    def of(self, name: str, table: int) -> pl.DataFrame:
        """What they found in one table (no row when they found nothing)."""
        return self._tables.get((name, table), self.found.clear().drop("entry", "table"))


@cache
def _code_digest() -> str:
    digest = hashlib.sha256()
    paths = [p for s in SOURCES for p in (PROJECT_ROOT / s).glob("*.py")]
    paths += [p for p in REFERENCE_DIR.rglob("*") if p.is_file()]
    for path in sorted(paths):
        name = path.relative_to(PROJECT_ROOT).as_posix()  # a moved checkout keeps its cache
        digest.update(name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def fingerprint(key: bytes) -> str:
    """What every cached result depends on besides the file: key, code, reference data."""
    return hashlib.sha256(f"{key_fingerprint(key)}:{_code_digest()}".encode()).hexdigest()[:32]


def entry_name(sha256: str, received: str) -> str:
    return f"{sha256}@{received}"


FRAMES = ("staged", "facts", "quarantine")


@dataclass
class Segment:
    """Files of the cache written together: each frame of each kind of the entries it was
    written with, one Parquet file per frame and kind, rows of an entry's table together."""

    number: int
    entries: list[str]  # as written; an entry no longer in the manifest is garbage
    rows: int  # every frame's rows, as written

    def files(self, folder: Path) -> list[Path]:
        return sorted(folder.glob(f"{self.number:06d}-*.parquet"))


class IngestCache:
    """One partition's cache, loaded when its fingerprint matches (else empty).

    It is kept in segments, so that a night writes only its own entries: each save writes the
    new entries as a segment, then merges the newest segments while the one before is no
    larger than the one after it (as a binary counter carries), so each entry is rewritten
    about log2(segments) times over its life and a night costs what its files cost. A merge
    keeps only the entries still in landing, each once: a file taken out of landing and put
    back with its old modification time (`mv`, `cp -p`) is the same entry, listed by the
    segment from before and again by a later one. The manifest, replaced in one step, says
    which segments are in force. Loading takes each entry's table as the span of its rows and
    refuses a segment where those rows are not together (`BrokenCache`).
    """

    def __init__(self, staging: Path, partition: str, key: bytes, reuse: bool = True):
        self.folder = staging / CACHE_FOLDER / partition
        self.fingerprint = fingerprint(key)
        self.reads: dict[str, Read] = {}
        self.segments: list[Segment] = []
        self.judged: Judged | None = None
        manifest = self.folder / MANIFEST
        if not reuse:
            shutil.rmtree(self.folder, ignore_errors=True)
        elif manifest.exists():
            stored = json.loads(manifest.read_text(encoding="utf-8"))
            if stored["fingerprint"] == self.fingerprint:
                self.segments = [Segment(**segment) for segment in stored["segments"]]
                self.reads = self._load(stored["reads"])
                found = pl.read_parquet(self.folder / JUDGED)
                self.judged = Judged(set(stored["registers"]), found)
        self.stored = set(self.reads)

    def judged_before(self, registers: set[str]) -> Judged | None:
        """What the register checks found last time, if the register has only grown since:
        every register delivery judged against then is among `registers`."""
        if self.judged is None or not self.judged.registers <= registers:
            return None
        return self.judged

    def _frames(self, segment: Segment) -> dict[str, pl.DataFrame]:
        """A segment's frames by `<frame>_<kind>`."""
        return {
            path.stem.split("-", 1)[1]: pl.read_parquet(path) for path in segment.files(self.folder)
        }

    def _load(self, reads: dict[str, dict]) -> dict[str, Read]:
        parts: dict[tuple[str, str, int], pl.DataFrame] = {}  # (stem, entry, table) -> rows
        empty: dict[str, pl.DataFrame] = {}
        for segment in self.segments:
            for stem, whole in self._frames(segment).items():
                body = whole.drop("entry", "table")  # sliced below, without copies
                empty.setdefault(stem, body.clear())
                runs = (  # the first row of each run of one entry's table, and its length
                    whole.select("entry", "table")
                    .with_row_index("first")
                    .filter(pl.struct("entry", "table").rle_id().is_first_distinct())
                    .with_columns(
                        rows=pl.col("first").shift(-1, fill_value=whole.height) - pl.col("first")
                    )
                )
                counted = Counter(zip(runs["entry"], runs["table"], strict=True))
                apart = [table for table, count in counted.items() if count > 1]
                if apart:
                    name, t = apart[0]
                    raise BrokenCache(
                        f"the ingest cache {self.folder} holds the rows of entry {name}, table "
                        f"{t}, apart in segment {segment.number} ({stem}): remove {self.folder} "
                        "and ingest again (the partition's files are all read again)"
                    )
                for name, t, first, rows in runs.select(
                    "entry", "table", "first", "rows"
                ).iter_rows():
                    parts[(stem, name, t)] = body.slice(first, rows)

        def part(frame: str, kind: str, name: str, t: int) -> pl.DataFrame:
            stem = f"{frame}_{kind}"
            return parts.get((stem, name, t), empty[stem])

        loaded = {}
        for name, stored in reads.items():
            tables = [
                Table(
                    table["kind"],
                    table["sheet"],
                    table["duplicates"],
                    *(part(f, table["kind"], name, t) for f in FRAMES),
                )
                for t, table in enumerate(stored["tables"])
            ]
            declared = {
                int(t): ((date.fromisoformat(s), date.fromisoformat(e)), source)
                for t, (s, e, source) in stored["declared"].items()
            }
            loaded[name] = Read(
                stored["status"], stored["reason"], stored["kind"], stored["dialect"],
                stored["encoding"], stored["rows_read"], stored["tolerated"], declared, tables,
            )  # fmt: skip
        return loaded

    def save(self, reads: dict[str, Read], judged: Judged) -> None:
        """Keep exactly these reads (those of the landing as it is now) and what the register
        checks found in them: the new reads written as a segment, the newest segments merged;
        nothing is written when no read changed (then neither did the register)."""
        if set(reads) == self.stored:
            return
        if not self.segments:
            shutil.rmtree(self.folder, ignore_errors=True)
        self.folder.mkdir(parents=True, exist_ok=True)
        number = max((s.number for s in self.segments), default=0) + 1
        new = [name for name in reads if name not in self.stored]
        segments = [*self.segments, self._write(number, new, reads)] if new else self.segments
        segments = [s for s in segments if any(name in reads for name in s.entries)]
        while len(segments) > 1 and segments[-2].rows <= segments[-1].rows:
            number += 1
            live = list(
                dict.fromkeys(name for s in segments[-2:] for name in s.entries if name in reads)
            )
            segments = [*segments[:-2], self._write(number, live, reads)]
        write_table(judged.found, self.folder / JUDGED)
        manifest = {
            "fingerprint": self.fingerprint,
            "segments": [vars(s) for s in segments],
            "registers": sorted(judged.registers),
            "reads": {
                name: {
                    "status": read.status,
                    "reason": read.reason,
                    "kind": read.kind,
                    "dialect": read.dialect,
                    "encoding": read.encoding,
                    "rows_read": read.rows_read,
                    "tolerated": read.tolerated,
                    "declared": {
                        str(t): [p[0].isoformat(), p[1].isoformat(), source]
                        for t, (p, source) in read.declared.items()
                    },
                    "tables": [
                        {"kind": t.kind, "sheet": t.sheet, "duplicates": t.duplicates}
                        for t in read.tables
                    ],
                }
                for name, read in reads.items()
            },
        }
        write_text(self.folder / MANIFEST, json.dumps(manifest, sort_keys=True))
        kept = {path for s in segments for path in s.files(self.folder)} | {self.folder / JUDGED}
        for path in self.folder.glob("*.parquet"):
            if path not in kept:
                path.unlink()
        self.segments, self.stored, self.judged = segments, set(reads), judged

    def _write(self, number: int, names: list[str], reads: dict[str, Read]) -> Segment:
        """A segment of these entries' frames."""
        frames: dict[str, list[pl.DataFrame]] = {}
        for name in names:
            for t, table in enumerate(reads[name].tables):
                for frame in FRAMES:
                    frames.setdefault(f"{frame}_{table.kind}", []).append(
                        getattr(table, frame).with_columns(
                            entry=pl.lit(name), table=pl.lit(t, pl.Int64)
                        )
                    )
        rows = 0
        for stem, parts in frames.items():
            whole = pl.concat(parts, how="diagonal_relaxed")
            write_table(whole, self.folder / f"{number:06d}-{stem}.parquet")
            rows += whole.height
        return Segment(number, names, rows)
