"""The door of the warehouse: one school's (or the municipality's) landing files to staging.

For a partition: archive every file by SHA-256, read and check each file on its own (only
the files the ingest cache has not seen: `pipelines.ingest.cache`), check every file against
the others (the registers), resolve supersession (the latest delivery for a school, kind and
period wins), resolve justification, and write Parquet staging, quarantine and a delivery
log. Running it twice over the same landing gives identical staging, with or without the
cache: everything is derived from the files and their delivery times, nothing from the clock.
"""

import multiprocessing
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from functools import cached_property, partial
from pathlib import Path

import polars as pl

from pipelines.feedback import SILENT, Progress
from pipelines.ingest import justification
from pipelines.ingest.cache import IngestCache, Judged, Read, Table, entry_name
from pipelines.ingest.contract import (
    KINDS,
    MUNICIPALITY_FOLDER,
    Kind,
    kinds_from,
    partition_source,
)
from pipelines.ingest.landing import (
    archive_file,
    landing_files,
    received_at,
    sha256_of,
    stray_files,
)
from pipelines.ingest.prepare import Context, Partition, tolerated_forms
from pipelines.ingest.readers import RawTable, RejectedFile, period_in_name, read_delivery
from pipelines.ingest.staging import (
    guard_key,
    read_table,
    record_key,
    remove_staged,
    stage,
    staging_file,
    verify_key,
    write_staged,
    write_table,
)
from pipelines.ingest.validation import (
    GROWING_REGISTER_KINDS,
    QUARANTINE_SCHEMA,
    check,
    check_partition,
)
from pipelines.privacy.pseudonym import PseudonymKey
from pipelines.privacy.scan import identifier_findings
from pipelines.reference import tables as reference
from pipelines.reference.calendar import SchoolCalendar, school_calendar
from pipelines.reference.rules import max_drop_share

Period = tuple[date, date]
AS_OF_DELIVERY = "delivery day (snapshot)"
# The raw rows read before their own checks run, a batch per kind: few enough that a full
# refresh of a large school does not hold every file's raw, prepared and checked frames at
# once (each file is checked on its own, so the batches change no result), many enough that
# a night's files are one batch (about 58 ms of pandera per call).
CHECK_BATCH_ROWS = 1_000_000
LOG_SCHEMA = {
    "school_id": pl.String,
    "file": pl.String,
    "original_name": pl.String,
    "sha256": pl.String,
    "received_at": pl.Datetime("us", "UTC"),
    "kind": pl.String,
    "dialect": pl.String,
    "encoding": pl.String,
    "period_start": pl.Date,
    "period_end": pl.Date,
    "period_source": pl.String,
    "rows_read": pl.Int64,
    "rows_loaded": pl.Int64,
    "rows_quarantined": pl.Int64,
    "rows_duplicate": pl.Int64,
    "rows_superseded": pl.Int64,
    "status": pl.String,
    "reason": pl.String,
    "superseded_by": pl.String,
    "tolerated": pl.String,
}


def unreconciled(log: pl.DataFrame) -> pl.DataFrame:
    """Delivery-log rows of files read whose rows do not add up: read = loaded + quarantined +
    duplicate. Empty when nothing was lost."""
    accounted = pl.col("rows_loaded") + pl.col("rows_quarantined") + pl.col("rows_duplicate")
    return log.filter((pl.col("status") != "rejected") & (pl.col("rows_read") != accounted))


def unapplied(log: pl.DataFrame) -> pl.DataFrame:
    """Delivery-log rows of files read but not applied: held by the drop guard, or with no
    row loaded."""
    return log.filter(pl.col("status").is_in(["held", "nothing_loaded"]))


@dataclass
class Delivery:
    """One delivered file and what became of it."""

    school_id: str
    file: str
    sha256: str
    received_at: datetime
    tables: list[Table] = field(default_factory=list)
    kind: str | None = None
    dialect: str | None = None
    encoding: str | None = None
    period: tuple[date, date] | None = None
    period_source: str | None = None
    periods: dict[int, tuple[Period, str]] = field(default_factory=dict)  # per table
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    rows_duplicate: int = 0
    rows_superseded: int = 0
    status: str = "loaded"
    reason: str | None = None
    superseded_by: str | None = None
    tolerated: Counter[str] = field(default_factory=Counter)  # variation -> rows
    held: dict[str, str] = field(default_factory=dict)  # kind held back -> why
    held_replaced_by: dict[str, str] = field(default_factory=dict)  # kind -> the later file

    def reject(self, reason: str) -> None:
        self.status, self.reason, self.tables = "rejected", reason, []
        self.rows_read, self.tolerated = 0, Counter()

    def take(self, read: Read) -> None:
        """What the file gave on its own (its tables filled in once checked)."""
        self.kind, self.dialect, self.encoding = read.kind, read.dialect, read.encoding
        if read.status == "rejected":
            self.reject(read.reason)
            return
        self.rows_read, self.tolerated = read.rows_read, Counter(read.tolerated)
        self.periods, self.tables = dict(read.declared), read.tables

    def settle(self) -> None:
        """The status once every kind is applied: what the log says became of the file."""
        if self.status != "loaded":
            return
        self.period = _union([period for period, _ in self.periods.values()])
        self.period_source = ", ".join(dict.fromkeys(s for _, s in self.periods.values())) or None
        if self.rows_loaded == 0:
            self.status = "nothing_loaded"
            self.reason = (
                f"no row loaded ({self.rows_quarantined} quarantined, {self.rows_duplicate} "
                "duplicates): it replaces nothing"
            )
        elif self.held and self.held.keys() == self.held_replaced_by.keys():
            replaced = ", ".join(sorted(set(self.held_replaced_by.values())))
            self.status = "superseded"
            self.reason = f"held ({'; '.join(self.held.values())}), then replaced by {replaced}"
        elif self.held:
            waiting = [why for kind, why in self.held.items() if kind not in self.held_replaced_by]
            self.status = "held"
            self.reason = (
                f"{'; '.join(waiting)}: the rows in force stay until an operator runs "
                f"`pmp release {self.sha256} --reason ...` or a later delivery replaces them"
            )
        elif self.rows_superseded == self.rows_loaded:
            self.status = "superseded"
            self.reason = f"every row replaced by {self.superseded_by}"


@dataclass
class Staged:
    """A partition's staging output: frames by staging kind, quarantine and delivery log."""

    frames: dict[str, pl.DataFrame]
    quarantine: pl.DataFrame
    log: pl.DataFrame


def _declared_period(delivery: Delivery, table: RawTable) -> tuple[Period, str] | None:
    """The period a table declares: its title row, else a `_YYYYMMDD-YYYYMMDD` name part."""
    if table.title_period:
        return table.title_period, "title row"
    named = period_in_name(Path(delivery.file).name)
    return (named, "file name") if named else None


def _found_period(kind: str, valid: pl.DataFrame, received: date) -> tuple[Period, str] | None:
    """Without a declared period: the first and last date among the loaded rows of a kind
    whose rows carry a date (none when no row loaded), or the delivery day for a snapshot."""
    column = KINDS[kind].row_date
    if column is None:
        return (received, received), AS_OF_DELIVERY
    dates = valid[column].drop_nulls()
    return ((dates.min(), dates.max()), "data") if dates.len() else None


@dataclass
class Part:
    """One delivered table's loaded rows, as applied in arrival order."""

    spec: Kind
    delivery: Delivery
    period: Period
    source: str
    rows: pl.DataFrame
    calendar: SchoolCalendar

    @property
    def as_of(self) -> bool:
        """A snapshot that declared no period: what was true on its delivery day."""
        return self.source == AS_OF_DELIVERY

    def covers(self, earlier: "Part") -> bool:
        """Whether this part replaces all of an earlier one. Row dates: its period holds the
        earlier period. The support register: always (the latest full list is in force). Other
        snapshots: its period holds the earlier one's, or it is as of its delivery day and the
        earlier one lies in the same school year up to that day (the latest is in force)."""
        if earlier.delivery is self.delivery:
            return False
        inside = self.period[0] <= earlier.period[0] and earlier.period[1] <= self.period[1]
        if inside or self.spec.full_snapshot:
            return True
        if self.spec.row_date or not self.as_of:
            return False
        year_start = _school_year_start(self.calendar, self.period[1])
        return year_start is not None and year_start <= earlier.period[0]

    def replaces(self, earlier: "Part") -> pl.DataFrame | None:
        """The rows in force of an earlier part that this one replaces: the rows dated in its
        period, and the rows with the same key as one of its rows dated outside its declared
        period (that row corrects that lesson, not its whole day); or all of a snapshot it
        covers. Never its own delivery's other tables. None when it replaces nothing for sure
        without looking at a row: every night's part meets every part of the history here."""
        if earlier.delivery is self.delivery:
            return None
        if not self.spec.row_date:
            return earlier.rows if self.covers(earlier) else None
        first, last = earlier.dated
        if first is None:
            return None  # no row of it has a day: none is in its period or has its keys
        if self.reach and (last < self.reach[0] or self.reach[1] < first):
            return None  # no row of it on a day it can replace
        dated = pl.col(self.spec.row_date).is_between(*self.period)
        if self.keys_outside is None:
            return earlier.rows.filter(dated)
        key = pl.struct(self.spec.staged_key)
        return earlier.rows.filter(dated | key.is_in(self.keys_outside.implode()))

    @cached_property
    def dated(self) -> tuple[date | None, date | None]:
        """The first and last day its rows are dated (None, None without rows)."""
        days = self.rows[self.spec.row_date]
        return days.min(), days.max()  # type: ignore[return-value]

    @cached_property
    def keys_outside(self) -> pl.Series | None:
        """The keys of its rows dated outside its period (computed once per part; None when
        its first and last days lie inside it)."""
        first, last = self.dated
        if first is None or (self.period[0] <= first and last <= self.period[1]):
            return None
        key = self.spec.staged_key
        outside = self.rows.filter(~pl.col(self.spec.row_date).is_between(*self.period))
        return outside.select(key).unique().select(pl.struct(key)).to_series()

    @cached_property
    def reach(self) -> Period | None:
        """The first and last day of an earlier row it can replace: its period, widened to
        its own rows' days when their keys hold the day (None: any day, the key has none)."""
        if self.keys_outside is None:
            return self.period
        if self.spec.row_date not in self.spec.staged_key:
            return None
        first, last = self.dated
        return min(first, self.period[0]), max(last, self.period[1])  # type: ignore[type-var]

    def kept_of(self, replaced: pl.DataFrame) -> int:
        """How many of its rows stand where the replaced ones stood: for dated rows, those on
        the days the replaced rows were on (new days do not make up for emptied ones)."""
        if not self.spec.row_date or replaced.is_empty():
            return self.rows.height
        days = replaced[self.spec.row_date].unique().implode()
        return self.rows.filter(pl.col(self.spec.row_date).is_in(days)).height

    def without(self, gone: pl.DataFrame | None, by: Delivery) -> "Part":
        """This part less the rows a later delivery replaced, counted as superseded."""
        if gone is None or gone.is_empty():
            return self
        self.delivery.rows_superseded += gone.height
        self.delivery.superseded_by = by.file
        rows = self.rows.join(gone.select("source_row"), on="source_row", how="anti")
        return replace(self, rows=rows)


def _school_year_start(calendar: SchoolCalendar, day: date) -> date | None:
    """The first day of the school year a day belongs to: the latest begun on or before it."""
    begun = [year.span.start for year in calendar.years if year.span.start <= day]
    return max(begun) if begun else None


def _union(periods: list[Period]) -> Period | None:
    return (min(p[0] for p in periods), max(p[1] for p in periods)) if periods else None


@dataclass
class Validated:
    """A table's rows after every check: loaded in staging shape, quarantined, duplicates."""

    valid: pl.DataFrame
    quarantine: pl.DataFrame
    duplicates: int


class PartitionIngest:
    """Ingest of one partition: a school or the municipality.

    A file's own checks (`Read`) come from the ingest cache when the same bytes, received at
    the same moment, were checked before under the same key, code and reference data; only the
    other files are read. The checks against other files (the register, every school's pupils)
    run on the cached facts, over every table of a kind at once; the register checks judge
    again only the rows they failed last time while the register has only grown
    (`pipelines.ingest.cache.Judged`).
    """

    def __init__(
        self,
        partition: str,
        landing: Path,
        archive: Path,
        calendar: SchoolCalendar,
        key: bytes,
        pupils: pl.DataFrame,
        released: frozenset[str] = frozenset(),
        cache: IngestCache | None = None,
    ):
        self.partition = partition
        self.released = released
        self.max_drop_share = max_drop_share()
        self.landing = landing
        self.archive = archive
        self.calendar = calendar
        self.key = key
        self.pupils = pupils
        self.cache = cache
        self.school = next((s for s in reference.schools() if s.school_id == partition), None)
        self.deliveries: list[Delivery] = []
        self.reads: dict[str, Read] = {}  # by `entry_name`, what each file read gave on its own
        self.files_read = 0  # read this run; the others came from the cache
        self.validated: dict[tuple[int, int], Validated] = {}
        self.judged: Judged | None = None  # what the register checks found, for the cache

    def collect(self) -> None:
        """Archive, deduplicate by content and read every file of the partition not read
        before (the cache's), checking the new tables a batch per kind every `CHECK_BATCH_ROWS`
        raw rows and at the end."""
        files = [(self.partition, p) for p in landing_files(self.landing / self.partition)]
        if self.partition == MUNICIPALITY_FOLDER:
            files += stray_files(self.landing)
        seen: dict[str, Delivery] = {}
        entries = []
        for folder, path in files:
            relative = path.relative_to(self.landing).as_posix()
            sha = sha256_of(path)
            archive_file(path, sha, self.archive)
            entries.append(Delivery(folder or "", relative, sha, received_at(path)))
        pending: list[tuple[Delivery, list[RawTable]]] = []
        pending_rows = 0
        for delivery in sorted(entries, key=lambda d: (d.received_at, d.file)):
            self.deliveries.append(delivery)
            if delivery.school_id != self.partition:
                where = f"folder {delivery.school_id}" if delivery.school_id else "the landing root"
                delivery.reject(
                    f"{where} is not a known school: files go in data/landing/<school_id>/"
                )
                continue
            if delivery.sha256 in seen:
                delivery.status = "duplicate"
                delivery.reason = f"the same bytes as {seen[delivery.sha256].file}: nothing changes"
                continue
            seen[delivery.sha256] = delivery
            name = entry_name(delivery.sha256, delivery.received_at.isoformat())
            cached = self.cache.reads.get(name) if self.cache else None
            if cached is None:
                cached, raws = self._read(delivery)
                pending.append((delivery, raws))
                pending_rows += sum(table.rows.height for table in raws)
                self.files_read += 1
            self.reads[name] = cached
            delivery.take(cached)
            if pending_rows >= CHECK_BATCH_ROWS:
                self._check(pending)
                pending, pending_rows = [], 0
        self._check(pending)

    def _read(self, delivery: Delivery) -> tuple[Read, list[RawTable]]:
        """A file read: rejected, or its raw tables (checked later, with the night's others)."""
        try:
            tables = read_delivery(self.landing / delivery.file)
        except RejectedFile as rejected:
            return Read("rejected", f"{rejected.reason}: {rejected}"), []
        allowed = kinds_from(partition_source(self.partition))
        wrong = [t.kind for t in tables if t.kind not in allowed]
        if wrong:
            where = "the municipality folder" if self.school is None else "a school folder"
            return Read(
                "rejected", f"wrong_folder: a {', '.join(wrong)} file does not belong in {where}"
            ), []
        tolerated: Counter[str] = Counter()
        for table in tables:
            tolerated.update(table.tolerated)
            tolerated.update(tolerated_forms(table.kind, table.rows))
        declared = {}
        for index, table in enumerate(tables):
            period = _declared_period(delivery, table)
            if period:
                declared[index] = period
        read = Read(
            "loaded", None, "+".join(t.kind for t in tables), tables[0].dialect,
            tables[0].encoding, sum(t.rows.height for t in tables), dict(tolerated), declared,
        )  # fmt: skip
        span = _union([period for period, _ in declared.values()])
        if span and self.school and not self._within_validity(span):
            school = self.school
            until = f"{school.valid_to:%d.%m.%Y}" if school.valid_to else "today"
            reason = (
                f"period_outside_school_validity: {span[0]:%d.%m.%Y}–"
                f"{span[1]:%d.%m.%Y} lies wholly outside the dates {school.name} "
                f"exists ({school.valid_from:%d.%m.%Y}–{until})"
            )
            return replace(read, status="rejected", reason=reason), []
        return read, tables

    def _within_validity(self, period: tuple[date, date]) -> bool:
        school = self.school
        ends = school.valid_to or date.max
        return not (period[1] < school.valid_from or period[0] > ends)

    def context(self, received: date) -> Context:
        school = self.school
        names = {s.school_id.lower(): s.school_id for s in reference.schools()}
        names |= {" ".join(s.name.split()).lower(): s.school_id for s in reference.schools()}
        return Context(
            received=received,
            calendar=self.calendar,
            school_grades=(school.grade_min, school.grade_max) if school else None,
            school_ids=names,
            key=self.key,
        )

    def facts(self, register: pl.DataFrame) -> Partition:
        """What the checks against other files need, with the school's register rows."""
        rules = reference.activities().filter(pl.col("unit") == "pupil")
        return Partition(
            register=register,
            pupils=self.pupils,
            activity_rules=rules.select(
                "activity", "grade_min", "grade_max", "min_age", "repeaters_only", "from_semester"
            ),
        )

    def _check(self, pending: list[tuple[Delivery, list[RawTable]]]) -> None:
        """The new tables' own checks, a batch per kind, into each delivery's `Read`."""
        done: dict[tuple[int, int], Table] = {}
        for kind in KINDS:
            batch = [
                (d, t, table)
                for d, (_, raws) in enumerate(pending)
                for t, table in enumerate(raws)
                if table.kind == kind
            ]
            if not batch:
                continue
            received = [pending[d][0].received_at.date() for d, _, _ in batch]
            checked = check(
                kind, [table.rows for _, _, table in batch], [self.context(r) for r in received]
            )
            shas = {b: pending[d][0].sha256 for b, (d, _, _) in enumerate(batch)}
            staged = stage(
                kind,
                checked.valid.with_columns(
                    delivery_sha=pl.col("table").replace_strict(shas, return_dtype=pl.String),
                    period_start=pl.lit(None, pl.Date),
                    period_end=pl.lit(None, pl.Date),
                ),
                self.partition,
            ).with_columns(table=checked.valid["table"])
            for b, (d, t, table) in enumerate(batch):
                done[(d, t)] = Table(
                    kind, table.sheet, checked.duplicates[b],
                    staged.filter(pl.col("table") == b).drop("table"),
                    checked.facts.filter(pl.col("table") == b).drop("table"),
                    checked.quarantine.filter(pl.col("table") == b).drop("table"),
                )  # fmt: skip
        for d, (delivery, raws) in enumerate(pending):
            delivery.tables.extend(done[(d, t)] for t in range(len(raws)))

    def validate_all(self) -> None:
        """The checks against other files, a kind at a time over all its tables: registers
        first (the other kinds are checked against them), then the rest. Against a register
        that has only grown since the last ingest, a table judged then has only the rows that
        failed then judged again (`Judged`; the checks of `GROWING_REGISTER_KINDS` pass more
        rows, never fewer, as the register grows)."""
        columns = {
            "pupil_key": pl.String,
            "admitted": pl.Date,
            "left": pl.Date,
            "class_label": pl.String,
        }
        registers = [
            table.staged.select(list(columns))
            for delivery in self.deliveries
            for table in delivery.tables
            if table.kind == "skoleni"
        ]
        register = pl.concat([pl.DataFrame(schema=columns), *registers])
        partition = self.facts(register)
        names = [entry_name(d.sha256, d.received_at.isoformat()) for d in self.deliveries]
        register_entries = {
            names[i]
            for i, d in enumerate(self.deliveries)
            if any(t.kind == "skoleni" for t in d.tables)
        }
        before = self.cache.judged_before(register_entries) if self.cache else None
        found_all = [
            pl.DataFrame(schema={**QUARANTINE_SCHEMA, "entry": pl.String, "table": pl.Int64})
        ]
        for kind in KINDS:
            tables = [
                (i, t, table)
                for i, delivery in enumerate(self.deliveries)
                for t, table in enumerate(delivery.tables)
                if table.kind == kind
            ]
            if not tables:
                continue
            judging = []
            for b, (i, t, table) in enumerate(tables):
                facts = table.facts
                if before and kind in GROWING_REGISTER_KINDS and names[i] in self.cache.stored:
                    failed = before.of(names[i], t)
                    if failed.is_empty():
                        continue
                    facts = facts.filter(pl.col("row").is_in(failed["row"].implode()))
                judging.append(facts.with_columns(table=pl.lit(b, pl.Int64)))
            failing = check_partition(
                kind,
                pl.concat(judging, how="diagonal_relaxed") if judging else pl.DataFrame(),
                partition,
            ).partition_by("table", as_dict=True, include_key=False)
            for b, (i, t, table) in enumerate(tables):
                found = failing.get((b,))
                if found is None:
                    valid, quarantine = table.staged, table.quarantine
                else:
                    found_all.append(
                        found.with_columns(entry=pl.lit(names[i]), table=pl.lit(t, pl.Int64))
                    )
                    quarantine = pl.concat([table.quarantine, found])
                    valid = table.staged.filter(~pl.col("source_row").is_in(found["row"].implode()))
                quarantine = quarantine.sort("row", "check", "column")
                self._settle_table(i, t, Validated(valid, quarantine, table.duplicates))
        self.judged = Judged(register_entries, pl.concat(found_all))

    def _settle_table(self, i: int, t: int, result: Validated) -> None:
        """Count a table's rows in its delivery, find its period, and set it on the rows."""
        delivery = self.deliveries[i]
        kind = delivery.tables[t].kind
        delivery.rows_loaded += result.valid.height
        delivery.rows_quarantined += result.quarantine["row"].n_unique()
        delivery.rows_duplicate += result.duplicates
        if result.duplicates:
            delivery.tolerated["identical duplicate rows"] += result.duplicates
        if t not in delivery.periods:
            found = _found_period(kind, result.valid, delivery.received_at.date())
            if found:
                delivery.periods[t] = found
        if "period_start" in result.valid.columns:
            period, _ = delivery.periods.get(t, ((None, None), None))
            result.valid = result.valid.with_columns(
                period_start=pl.lit(period[0], pl.Date), period_end=pl.lit(period[1], pl.Date)
            )
        self.validated[(i, t)] = result

    def _table(self, delivery_index: int, table_index: int) -> Table:
        return self.deliveries[delivery_index].tables[table_index]

    def supersede(self) -> dict[str, pl.DataFrame]:
        """The rows in force per kind, applying the deliveries in the order they came.

        A delivery replaces only what its rows prove (`Part.replaces`). A delivery that loaded
        no row replaces nothing. One that would keep fewer than `1 - max_drop_share` of the
        rows it replaces is held, its rows not applied, until an operator releases it (`pmp
        release`) or a later delivery replaces what it would have.
        """
        effective: dict[str, pl.DataFrame] = {}
        for kind, spec in KINDS.items():
            in_force: list[Part] = []
            holds: list[Part] = []
            for (i, t), result in self.validated.items():
                if self._table(i, t).kind != kind or result.valid.height == 0:
                    continue
                delivery = self.deliveries[i]
                period, source = delivery.periods[t]
                part = Part(spec, delivery, period, source, result.valid, self.calendar)
                replaced = [part.replaces(old) for old in in_force]
                gone = [r for r in replaced if r is not None]
                removed = sum(r.height for r in gone)
                kept = part.kept_of(pl.concat(gone)) if removed else part.rows.height
                if (
                    removed
                    and kept < (1 - self.max_drop_share) * removed
                    and (delivery.sha256 not in self.released)
                ):
                    delivery.held[kind] = (
                        f"{kind} {period[0]:%d.%m.%Y}–{period[1]:%d.%m.%Y}: would replace "
                        f"{removed} rows in force with {kept} on the same days "
                        f"({1 - kept / removed:.0%} fewer)"
                    )
                    holds.append(part)
                    continue
                for waiting in holds:
                    if part.covers(waiting):
                        waiting.delivery.held_replaced_by[kind] = delivery.file
                in_force = [
                    old.without(gone, delivery)
                    for old, gone in zip(in_force, replaced, strict=True)
                ]
                in_force.append(part)
            frames = [part.rows for part in in_force]
            effective[kind] = pl.concat(frames, how="diagonal_relaxed") if frames else None
        for delivery in self.deliveries:
            delivery.settle()
        return effective

    def run(self) -> Staged:
        """Stage the partition, then keep what each file gave in the cache."""
        self.collect()
        self.validate_all()
        effective = self.supersede()
        frames = {KINDS[k].table: frame for k, frame in effective.items()}
        if frames["absences"] is not None:
            notes = frames["notes"]
            if notes is None:
                notes = pl.DataFrame(
                    schema={
                        "pupil_key": pl.String,
                        "from": pl.Date,
                        "to": pl.Date,
                        "submitted": pl.Date,
                    }
                )
            window = self.school.note_deadline_school_days
            frames["absences"] = justify(frames["absences"], notes, self.calendar, window)
        staged = Staged(
            {k: v for k, v in frames.items() if v is not None},
            self.quarantine(),
            self.log(),
        )
        if self.cache:
            self.cache.save(self.reads, self.judged)
        return staged

    def quarantine(self) -> pl.DataFrame:
        parts = [
            v.quarantine.with_columns(
                school_id=pl.lit(self.deliveries[i].school_id),
                file=pl.lit(self.deliveries[i].file),
                sha256=pl.lit(self.deliveries[i].sha256),
                kind=pl.lit(self._table(i, t).kind),
                sheet=pl.lit(self._table(i, t).sheet, dtype=pl.String),
            )
            for (i, t), v in self.validated.items()
        ]
        columns = [
            "school_id",
            "file",
            "sha256",
            "kind",
            "sheet",
            "row",
            "column",
            "masked_value",
            "check",
            "reason_lv",
            "reason_en",
        ]
        if not parts:
            return pl.DataFrame(schema={c: pl.Int64 if c == "row" else pl.String for c in columns})
        return pl.concat(parts).select(columns)

    def log(self) -> pl.DataFrame:
        rows = []
        for d in self.deliveries:
            rows.append(
                {
                    "school_id": d.school_id,
                    "file": d.file,
                    "original_name": Path(d.file).name,
                    "sha256": d.sha256,
                    "received_at": d.received_at,
                    "kind": d.kind,
                    "dialect": d.dialect,
                    "encoding": d.encoding,
                    "period_start": d.period[0] if d.period else None,
                    "period_end": d.period[1] if d.period else None,
                    "period_source": d.period_source,
                    "rows_read": d.rows_read,
                    "rows_loaded": d.rows_loaded,
                    "rows_quarantined": d.rows_quarantined,
                    "rows_duplicate": d.rows_duplicate,
                    "rows_superseded": d.rows_superseded,
                    "status": d.status,
                    "reason": d.reason,
                    "superseded_by": d.superseded_by,
                    "tolerated": "; ".join(
                        f"{variation} ({rows} rows)"
                        for variation, rows in sorted(d.tolerated.items())
                    )
                    or None,
                }
            )
        return pl.DataFrame(rows, schema=LOG_SCHEMA)


def justify(
    absences: pl.DataFrame, notes: pl.DataFrame, calendar: SchoolCalendar, school_days: int
) -> pl.DataFrame:
    """Absences with the reason resolved: marks, and for `n` the notes register handed in
    within the school's window of `school_days`."""
    resolved = justification.resolve(
        absences.rename({"pupil_key": "pupil"}),
        notes.select(pupil="pupil_key", **{"from": "from"}, to="to", submitted="submitted"),
        calendar,
        school_days,
    )
    return resolved.rename({"pupil": "pupil_key"})


PUPIL_FACTS = {
    "pupil_key": pl.String,
    "grade": pl.Int64,
    "birth_year": pl.Int32,
    "birth_month": pl.Int8,
    "admitted": pl.Date,
    "left": pl.Date,
    "repeating": pl.Boolean,
    "period_start": pl.Date,
    "period_end": pl.Date,
}


def pupil_facts(partition: str, staging: Path) -> pl.DataFrame:
    """For the municipality: every school's staged register rows (for target groups)."""
    pupils = read_table(staging, "pupils") if partition == MUNICIPALITY_FOLDER else None
    return pl.DataFrame(schema=PUPIL_FACTS) if pupils is None else pupils.select(list(PUPIL_FACTS))


@dataclass
class PartitionReport:
    """What staging one partition produced, small enough to pass between processes."""

    partition: str
    rows: dict[str, int]
    findings: list[str]
    log: pl.DataFrame
    quarantine: pl.DataFrame
    files_read: int  # the rest of the log's files came from the ingest cache


def stage_partition(
    partition: str,
    landing: Path,
    archive: Path,
    staging: Path,
    key: bytes,
    released: frozenset[str] = frozenset(),
    reuse: bool = True,
) -> PartitionReport:
    """Ingest one partition and replace its Parquet: staging tables, delivery log, quarantine.

    A table with dated rows is written as a file per semester, and only the files whose rows
    changed are written (`staging.write_staged`): a night writes the semester it delivered,
    not the partition's history. A staging table the partition no longer has rows for is
    removed, so no stale file stays.
    `released` are the held deliveries (SHA-256) an operator released. With `reuse`, files
    read before come from the ingest cache (`pipelines.ingest.cache`); without, every file is
    read again and the cache rebuilt.
    """
    ingest = PartitionIngest(
        partition, landing, archive, school_calendar(), key, pupil_facts(partition, staging),
        released, IngestCache(staging, partition, key, reuse),
    )  # fmt: skip
    staged = ingest.run()
    kinds = kinds_from(partition_source(partition))
    rows, findings = {}, []
    for kind in KINDS.values():
        table = kind.table
        folder = staging / table / partition
        frame = staged.frames.get(table)
        if kind.name in kinds and frame is not None:
            write_staged(frame, folder, kind.row_date)
            rows[table] = frame.height
            findings += identifier_findings(frame, f"staging/{table}/{partition}")
        else:
            remove_staged(folder)
    write_table(staged.log, staging_file(staging, "delivery_log", partition))
    write_table(staged.quarantine, staging_file(staging, "quarantine", partition))
    findings += identifier_findings(staged.quarantine, f"staging/quarantine/{partition}")
    return PartitionReport(
        partition, rows, findings, staged.log, staged.quarantine, ingest.files_read
    )


def stage_partitions(
    partitions: list[str],
    landing: Path,
    archive: Path,
    staging: Path,
    pseudonym_key: PseudonymKey,
    workers: int,
    released: frozenset[str] = frozenset(),
    reuse: bool = True,
    progress: Progress = SILENT,
) -> list[PartitionReport]:
    """Schools in parallel processes (each writes only its own files), then the municipality,
    always: its support register is judged against every school's register, so a school's
    new register re-judges it (from the cache: only files not read before are read). A key
    other than the one staging was written with stops it before anything is written; the key's
    fingerprint is recorded once it is known right. `reuse=False` reads every file again.
    `progress` counts the partitions staged."""
    key = pseudonym_key.secret
    schools = [p for p in partitions if p != MUNICIPALITY_FOLDER]
    if schools and MUNICIPALITY_FOLDER not in partitions:
        # The municipality's feeds are judged against every school's register: re-judge them.
        partitions = [*schools, MUNICIPALITY_FOLDER]
    if not guard_key(staging, pseudonym_key):
        _verify_unrecorded_key(landing, archive, staging, key)
        record_key(staging, key)
    progress.stage("ingest partitions", total=len(partitions))
    stage = partial(
        stage_partition, landing=landing, archive=archive, staging=staging, key=key,
        released=released, reuse=reuse,
    )  # fmt: skip
    staged: dict[str, PartitionReport] = {}
    if workers > 1 and len(schools) > 1:
        # `workers - 1` spawned processes take the schools from the front of the queue while
        # this one, its imports done, takes them from the back: no core waits for a worker's
        # start-up (the imports of Polars and pandera, about a second), which costs more
        # than a night's few files of a school.
        spawn = multiprocessing.get_context("spawn")  # forking a process running polars can hang
        with ProcessPoolExecutor(max_workers=workers - 1, mp_context=spawn) as pool:
            futures = {school: pool.submit(stage, school) for school in schools}
            for school in reversed(schools):
                if futures[school].cancel():
                    staged[school] = stage(school)
                    progress.advance(school)
            for school, future in futures.items():
                if school not in staged:
                    staged[school] = future.result()
                    progress.advance(school)
    else:
        for school in schools:
            staged[school] = stage(school)
            progress.advance(school)
    reports = [staged[school] for school in schools]
    if MUNICIPALITY_FOLDER in partitions:
        reports.append(
            stage_partition(MUNICIPALITY_FOLDER, landing, archive, staging, key, released, reuse)
        )
        progress.advance(MUNICIPALITY_FOLDER)
    return reports


def _verify_unrecorded_key(landing: Path, archive: Path, staging: Path, key: bytes) -> None:
    """Staging written before key fingerprints were kept: before anything is written, ingest
    in memory the first partition whose pupils are staged already (a school's register, else
    the municipality's support and statuses), and stop if none of them keeps its key."""
    schools = sorted(
        p.name for p in (staging / "pupils").glob("*/") if p.name != MUNICIPALITY_FOLDER
    )
    for partition in [*schools, MUNICIPALITY_FOLDER]:
        tables = ["pupils"] if partition != MUNICIPALITY_FOLDER else ["support", "social_status"]
        staged = _pupil_keys({t: read_table(staging, t, [partition]) for t in tables})
        if staged.is_empty():
            continue
        fresh = PartitionIngest(
            partition, landing, archive, school_calendar(), key, pupil_facts(partition, staging)
        ).run()
        if verify_key(staged, _pupil_keys(fresh.frames), partition):
            return


def _pupil_keys(frames: dict[str, pl.DataFrame | None]) -> pl.DataFrame:
    """The distinct pupil keys of the frames that have them."""
    keys = [
        f.select("pupil_key") for f in frames.values() if f is not None and "pupil_key" in f.columns
    ]
    return pl.concat(keys).unique() if keys else pl.DataFrame(schema={"pupil_key": pl.String})
