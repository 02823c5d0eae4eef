"""Building the DuckDB warehouse: the models of `models/` run in dependency order by one writer.

Two markers in a model's leading comment change how it is materialised:

- `-- @incremental`: the relation has a `semester_id` column and is rebuilt only from the
  earliest semester that changed deliveries bear on (their period, the days of their rows:
  `DATED_ROWS`, their school year: `YEAR_WIDE_KINDS`), that changed staged rows bear on
  (`STAGED_REACH`), or whose rows moved with a table the build compares before and after
  rebuilding it (`WATCHED`: the as-of dates, the pupils' birth years); the SELECT may read
  the variable `rebuild_from`, '' on a full build, to skip older input;
- `-- @keeps-previous`: before the model is replaced, its rows are kept in
  `meta.<schema>_<name>_previous` for models that compare two runs (on the first build
  they are the build's own rows);
- `-- @view`: the relation is a view, computed when read (every staging model is one);
- `-- @analysis`: the relation is for analysis only (the evaluation, the backtest, the support
  effect: notebooks and `pmp train-score` read them, nothing published or drawn does), so the
  nightly build leaves it as it is and the analysis build (weekly, `Scope.ANALYSIS`) rebuilds
  it from what the last build left. No other model may read one.

Layers run in order: `staging` views over Parquet, `core` tables, `indicators`, `programme`,
`publication` (the aggregates publication suppresses).
The reference data and rule parameters are loaded first into the `reference` schema. The
nightly build is one transaction, and so is the analysis build: each commits whole or not at
all. A build of every model (`Scope.ALL`) runs the two in turn, the nightly one committed
before the analysis one begins, as a `warehouse_job` run does: DuckDB estimates a join's sides
from table statistics that a table written earlier in the same transaction does not have yet,
and on those estimates `indicators.evaluation_pupils` built its hash tables on its largest
inputs (more than the build's `memory_limit` at scale 30). When the analysis build fails, the
nightly models stay committed and the analysis models keep what the last analysis build left
(nothing before the first), and the error says so. Readers open the file read-only.
"""

import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from pathlib import Path

import duckdb
import polars as pl

from pipelines.feedback import OperatorError
from pipelines.reference.calendar import school_calendar
from pipelines.warehouse.models import (
    LAYERS,
    REFERENCE_TABLES,
    STAGED,
    Check,
    Model,
    ModelError,
    Parse,
    definition_digest,
    discover_models,
    parse_key,
)

FULL = ""

MEMORY_LIMIT_BYTES = 5 * 2**30
DUCKDB_DEFAULT_SHARE = 0.8  # of the machine's memory: DuckDB's own default limit


def memory_limit(physical: int) -> str:
    """The build's DuckDB `memory_limit` on a machine with `physical` bytes of memory: 5 GiB,
    or DuckDB's default share of a smaller machine's memory, so that the build spills to disk
    before the machine runs out."""
    return f"{min(MEMORY_LIMIT_BYTES, int(DUCKDB_DEFAULT_SHARE * physical)) // 2**20}MiB"


WRITER_SETTINGS = {
    "memory_limit": memory_limit(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")),
    "disabled_optimizers": "partial_aggregate_pushdown",
}
"""Settings of the build's connection. Without a `memory_limit` DuckDB takes up to 80% of the
machine's memory before it spills to disk (`<warehouse>.tmp/`), and the scale-30 full build
peaked at 10.2 GB; the full refresh may take 8 GB (`make bench`'s target), so the limit is
5 GiB, less on a machine with under 6.25 GiB (`memory_limit`; at scale 30 the build then
peaks at 5.7 GB of RSS and spills up to 2.4 GB; docs/scaling.md, "3. The warehouse").
DuckDB's partial aggregate pushdown groups the input of a sum over a join by the join key
before joining, on an estimate of how much that groups: for the 44 million bootstrap weights of
scale 30, already one row per pupil and replicate, it groups nothing, and builds a hash table
of the whole table (`indicators.evaluation` alone under a 5 GiB `memory_limit`: 165 s and
7.8 GB of spill with it, 59 s and 0.5 GB without)."""

DELIVERY_COLUMNS = ["sha256", "school_id", "kind", "period_start", "period_end"]

AS_OF_DATES = "indicators.as_of_dates"
"""The dates indicators are evaluated on: they follow the latest day any delivery covers, so a
night's deliveries of one semester can move an earlier semester's points (its semester point
reaches its last day and becomes complete), which its incremental rows must follow."""


@dataclass(frozen=True)
class Reach:
    """What of a staged row the models read (`columns`), and which of them holds the first day
    the row bears on (`day`)."""

    day: str
    columns: tuple[str, ...]


STAGED_REACH = {
    "notes": Reach(
        "from", ("school_id", "delivery_sha", "pupil_key", "from", "to", "reason", "submitted")
    ),
    "social_status": Reach("start", ("pupil_key", "status", "start", "end")),
}
"""Staged tables whose rows bear on days before their delivery's period: a note handed in
today justifies (or, handed in late, marks) the absences from its `from` day on, however long
ago, and when its delivery was received is when the absence was known justified; a social
status counts at every point from its `start`. The build compares their rows with the ones
the last build saw (`meta.staged_<table>`): rows added, removed or replaced, by whatever
delivery, rebuild from the semester of their earliest such day."""

DATED_ROWS = ("absences", "grades")
"""Staged tables whose rows a delivery may date before its period: a row dated outside a
file's declared period corrects that lesson or grade (`Part.replaces` in the ingest), so a
file of today can correct a day of the last semester."""

YEAR_WIDE_KINDS = {"skoleni", "slodze"}
"""Kinds whose delivery shapes its whole school year: the register snapshots of a year merge
into its enrolment spells (class, admission, leaving), and a timetable load counts from the
year's first day. A changed delivery of one touches the first semester of its school year."""


class Scope(StrEnum):
    """Which models a build runs."""

    ALL = "all"
    """Every model (a full refresh, a backfill, a key rotation): the nightly build, committed,
    then the analysis build."""
    NIGHTLY = "nightly"
    """Every model but the `@analysis` ones, which keep their rows (the nightly build)."""
    ANALYSIS = "analysis"
    """The `@analysis` models alone, over what the last build left (weekly)."""


@dataclass(frozen=True)
class ModelRun:
    relation: str
    materialized: str
    rebuilt_from: str | None
    rows: int | None  # None for views: counting would compute them
    seconds: float
    columns: tuple[tuple[str, str], ...]
    analysis: bool  # an `@analysis` model


def prepare(con: duckdb.DuckDBPyConnection, staging: Path) -> None:
    """Point the connection at the staging Parquet (views read it through `staged`)."""
    con.execute("SET VARIABLE staging_dir = ?", [str(staging.resolve())])
    con.execute("SET enable_progress_bar = false")


def connect_read_only(database: Path, staging: Path) -> duckdb.DuckDBPyConnection:
    """A reader's connection: analysts, checks and publication never write."""
    if not database.exists():
        raise OperatorError(
            f"no warehouse at {database}: build it first (make demo, or launch warehouse_job)"
        )
    con = duckdb.connect(str(database), read_only=True)
    prepare(con, staging)
    return con


def loaded_deliveries(staging: Path) -> pl.DataFrame:
    """The delivered files whose rows are in staging now, with the period each covers."""
    files = sorted((staging / "delivery_log").glob("*/data.parquet"))
    if not files:
        return pl.DataFrame(schema={c: pl.String for c in DELIVERY_COLUMNS[:3]}).with_columns(
            period_start=pl.lit(None, pl.Date), period_end=pl.lit(None, pl.Date)
        )
    log = pl.concat([pl.read_parquet(f) for f in files], how="diagonal_relaxed")
    return log.filter(pl.col("status") == "loaded").select(DELIVERY_COLUMNS).sort("sha256")


def with_first_days(
    con: duckdb.DuckDBPyConnection, deliveries: pl.DataFrame, known: pl.DataFrame | None
) -> pl.DataFrame:
    """The deliveries with `first_day`: the earliest of their period's first day and the days
    of their `DATED_ROWS`. Kept from the last build (`known`) for the deliveries it saw (a
    delivery's rows only lose days to later deliveries, which cover them), read from staging
    for the others."""
    if known is not None:
        kept = deliveries.join(known, on=DELIVERY_COLUMNS, how="inner", nulls_equal=True)
        new = deliveries.join(known, on=DELIVERY_COLUMNS, how="anti", nulls_equal=True)
    else:
        kept, new = deliveries.with_columns(first_day=pl.lit(None, pl.Date)).clear(), deliveries
    dated = " UNION ALL ".join(
        f"SELECT delivery_sha, date FROM {STAGED}('{t}')" for t in DATED_ROWS
    )
    shas = new.select("sha256")  # noqa: F841 - read by DuckDB below
    row_days = con.sql(
        f"SELECT delivery_sha AS sha256, min(date) AS row_day FROM ({dated}) "
        "WHERE delivery_sha IN (SELECT sha256 FROM shas) GROUP BY ALL"
    ).pl()
    found = new.join(row_days, on="sha256", how="left").select(
        *DELIVERY_COLUMNS, first_day=pl.min_horizontal("period_start", "row_day")
    )
    return pl.concat([kept, found]).sort("sha256")


def first_touched_semester(changed: pl.DataFrame) -> str | None:
    """The semester holding the earliest day the changed deliveries bear on (`first_day`),
    or for a kind of `YEAR_WIDE_KINDS` the first semester of its school year (None if none)."""
    starts = changed.filter(pl.col("first_day").is_not_null())
    if starts.is_empty():
        return None if changed.is_empty() else FULL
    return min(
        school_year_first(day) if year_wide(kind) else semester_reporting(day)
        for kind, day in starts.select("kind", "first_day").unique().iter_rows()
    )


def year_wide(kind: str | None) -> bool:
    """Whether a delivery of this kind holds a table of `YEAR_WIDE_KINDS` (a workbook's kind
    names each of its tables: `kavejumi+skoleni+vertejumi`)."""
    return not YEAR_WIDE_KINDS.isdisjoint((kind or "").split("+"))


def semester_reporting(day: date) -> str:
    """The semester a day reports to: the latest begun on or before it (or the first)."""
    semesters = school_calendar().semesters
    begun = [s for s in semesters if s.start <= day]
    return (begun[-1] if begun else semesters[0]).semester_id


def school_year_first(day: date) -> str:
    """The first semester of the school year a day reports to."""
    year = school_calendar().semester(semester_reporting(day)).school_year
    return min(s.semester_id for s in school_calendar().semesters if s.school_year == year)


def earliest(*points: str | None) -> str | None:
    """The earliest of some rebuild points (None when none asks for a rebuild)."""
    asked = [p for p in points if p is not None]
    return min(asked) if asked else None


def staged_reach(con: duckdb.DuckDBPyConnection, table: str) -> pl.DataFrame:
    """The distinct staged rows of a `STAGED_REACH` table, of the columns the models read,
    with `semester_id`: the semester of the first day each bears on (all of them, '', for a
    row without one)."""
    reach = STAGED_REACH[table]
    columns = ", ".join(f'"{c}"' for c in reach.columns)
    rows = con.sql(f"SELECT DISTINCT {columns} FROM {STAGED}('{table}')").pl()
    days = rows[reach.day]
    semesters = {day: semester_reporting(day) for day in days.drop_nulls().unique()}
    first = days.replace_strict(semesters, default=None, return_dtype=pl.String).fill_null(FULL)
    return rows.with_columns(semester_id=first)


def first_restaged_semester(
    con: duckdb.DuckDBPyConnection, restaged: dict[str, pl.DataFrame]
) -> str | None:
    """The earliest semester the staged rows that changed since the last build bear on, over
    the `STAGED_REACH` tables."""
    moved = [
        first_moved_semester(con.sql(f"FROM meta.staged_{t}").pl(), r) for t, r in restaged.items()
    ]
    return earliest(*moved)


def _table_type(con: duckdb.DuckDBPyConnection, relation: str) -> str | None:
    """'BASE TABLE', 'VIEW', or None when the relation does not exist."""
    schema, name = relation.split(".")
    found = con.execute(
        "SELECT table_type FROM information_schema.tables "
        "WHERE table_schema = ? AND table_name = ?",
        [schema, name],
    ).fetchall()
    return found[0][0] if found else None


def _exists(con: duckdb.DuckDBPyConnection, relation: str) -> bool:
    return _table_type(con, relation) is not None


def _drop_stale(con: duckdb.DuckDBPyConnection, models: list[Model]) -> None:
    """Drop relations of the model layers that no model defines any more."""
    current = {m.relation for m in models}
    found = con.execute(
        "SELECT table_schema || '.' || table_name, table_type FROM information_schema.tables "
        "WHERE list_contains(?, table_schema)",
        [list(LAYERS)],
    ).fetchall()
    for relation, table_type in found:
        if relation not in current:
            con.execute(f"DROP {'VIEW' if table_type == 'VIEW' else 'TABLE'} {relation}")


def _load_reference(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("CREATE SCHEMA IF NOT EXISTS reference")
    for name, (_, load) in REFERENCE_TABLES.items():
        frame = load()  # noqa: F841 - read by DuckDB's replacement scan below
        con.execute(f"CREATE OR REPLACE TABLE reference.{name} AS SELECT * FROM frame")


def kept_parses(database: Path) -> dict[str, Parse]:
    """The parses the last build kept in the warehouse, by `parse_key` (none before one)."""
    if not database.exists():
        return {}
    con = duckdb.connect(str(database), read_only=True)
    try:
        if not _exists(con, "meta.model_parses"):
            return {}
        rows = con.execute("SELECT key, depends_on, staged FROM meta.model_parses").fetchall()
    finally:
        con.close()
    return {key: (tuple(depends_on), tuple(staged)) for key, depends_on, staged in rows}


def _keep_parses(con: duckdb.DuckDBPyConnection, models: list[Model]) -> None:
    parses = pl.DataFrame(  # noqa: F841 - read by DuckDB below
        {
            "key": [parse_key(m.sql) for m in models],
            "depends_on": [list(m.depends_on) for m in models],
            "staged": [list(m.staged) for m in models],
        },
        schema={"key": pl.String, "depends_on": pl.List(pl.String), "staged": pl.List(pl.String)},
    )
    con.execute("CREATE OR REPLACE TABLE meta.model_parses AS SELECT * FROM parses")


def _previous_state(con: duckdb.DuckDBPyConnection) -> tuple[pl.DataFrame | None, dict[str, str]]:
    """The deliveries and model digests the last build kept (None for the deliveries when it
    kept less than this build compares: the build is then a full one)."""
    kept = ["meta.deliveries", "meta.models", *(f"meta.staged_{t}" for t in STAGED_REACH)]
    if not all(_exists(con, relation) for relation in kept):
        return None, {}
    deliveries = con.sql("SELECT * FROM meta.deliveries").pl()
    if "first_day" not in deliveries.columns:
        return None, {}
    digests = dict(con.execute("SELECT relation, digest FROM meta.models").fetchall())
    return deliveries, digests


def rebuild_points(
    models: list[Model],
    digests: dict[str, str],
    previous_digests: dict[str, str],
    touched: str | None,
    moved: dict[str, str] | None = None,
) -> dict[str, str | None]:
    """For each model, the semester to rebuild from ('' for all, None for nothing): the
    deliveries' earliest touched semester, all of it when its definition changed, the earliest
    semester whose rows `moved` says changed (by relation), and never later than anything it
    reads."""
    moved = moved or {}
    points: dict[str, str | None] = {}
    for model in models:
        own = FULL if previous_digests.get(model.relation) != digests[model.relation] else touched
        upstream = [points[d] for d in model.depends_on if d in points]
        candidates = [p for p in [own, moved.get(model.relation), *upstream] if p is not None]
        points[model.relation] = min(candidates) if candidates else None
    return points


def first_moved_semester(before: pl.DataFrame, after: pl.DataFrame) -> str | None:
    """The earliest semester whose rows differ between two versions of a relation with a
    `semester_id` column (None if they hold the same rows, all of them if its columns changed)."""
    if before.schema != after.schema:
        return FULL
    differing = pl.concat([before.join(after, on=before.columns, how="anti", nulls_equal=True),
                           after.join(before, on=after.columns, how="anti", nulls_equal=True)])  # fmt: skip
    return None if differing.is_empty() else differing["semester_id"].min()


def first_rebirthed_semester(before: pl.DataFrame, after: pl.DataFrame) -> str | None:
    """All semesters ('') when a pupil in both versions of `core.pupils` has another birth
    year now: every semester's over-age measure follows the latest register that gives one.
    None otherwise: a pupil new to the registers, or gone from them, comes or goes with the
    spells of a register's school year, which its delivery rebuilds (`YEAR_WIDE_KINDS`)."""
    both = before.join(after, on="pupil_key", suffix="_now")
    reborn = both.filter(pl.col("birth_year").ne_missing(pl.col("birth_year_now")))
    return None if reborn.is_empty() else FULL


WATCHED: dict[str, Callable[[pl.DataFrame, pl.DataFrame], str | None]] = {
    AS_OF_DATES: first_moved_semester,
    "core.pupils": first_rebirthed_semester,
}
"""Tables the build compares before and after it rebuilds them, with what gives the earliest
semester whose incremental rows the difference moves."""


def _missing_staging(staging: Path, models: list[Model]) -> list[str]:
    tables = {t for m in models for t in m.staged}
    return sorted(t for t in tables if not any((staging / t).glob("*/data*.parquet")))


def build(
    database: Path,
    staging: Path,
    full_refresh: bool = False,
    models: list[Model] | None = None,
    log: Callable[[str], None] = lambda _: None,
    rebuild_from: str | None = None,
    scope: Scope = Scope.ALL,
) -> list[ModelRun]:
    """Run the models of `scope` against the warehouse file, incrementally unless
    `full_refresh`; with `rebuild_from` (a semester id), the incremental tables are rebuilt
    from that semester at the latest, whatever the deliveries say (a backfill)."""
    if scope == Scope.ANALYSIS:
        return _build_analysis(database, staging, models, log)
    models = discover_models(parsed=kept_parses(database)) if models is None else models
    runs = _build_nightly(database, staging, full_refresh, models, log, rebuild_from)
    if scope == Scope.ALL:
        try:
            runs += _build_analysis(database, staging, models, log)
        except Exception as error:
            error.add_note(
                "The nightly models of this build are committed; the analysis models keep "
                "what the last analysis build left until the next one (the weekly "
                "warehouse_analysis, or make warehouse)."
            )
            raise
    return runs


def _build_nightly(
    database: Path,
    staging: Path,
    full_refresh: bool,
    models: list[Model],
    log: Callable[[str], None],
    rebuild_from: str | None,
) -> list[ModelRun]:
    """Every model but the `@analysis` ones, in one transaction (`build`)."""
    known = [s.semester_id for s in school_calendar().semesters]
    if rebuild_from is not None and rebuild_from not in known:
        raise ModelError(f"unknown semester {rebuild_from!r}: one of {', '.join(known)}")
    missing = _missing_staging(staging, models)
    if missing:
        raise OperatorError(
            f"no staging Parquet for {', '.join(missing)} under {staging}: run the ingest first"
        )
    database.parent.mkdir(parents=True, exist_ok=True)
    with _transaction(database, staging) as con:
        for schema in ("meta", *LAYERS):
            con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        con.execute(
            f"CREATE OR REPLACE MACRO {STAGED}(t) AS TABLE SELECT * FROM read_parquet("
            "getvariable('staging_dir') || '/' || t || '/*/data*.parquet', union_by_name = true)"
        )
        _load_reference(con)
        restaged = {table: staged_reach(con, table) for table in STAGED_REACH}
        previous, previous_digests = (None, {}) if full_refresh else _previous_state(con)
        deliveries = with_first_days(con, loaded_deliveries(staging), previous)
        digests = {m.relation: definition_digest(m) for m in models}
        if previous is None:
            touched = FULL
        else:
            changed = pl.concat(
                [deliveries.join(previous, on=DELIVERY_COLUMNS, how="anti"),
                 previous.join(deliveries, on=DELIVERY_COLUMNS, how="anti")]
            )  # fmt: skip
            touched = earliest(
                first_touched_semester(changed), first_restaged_semester(con, restaged)
            )
        touched = earliest(touched, rebuild_from)
        points = rebuild_points(models, digests, previous_digests, touched)
        before = {r: con.sql(f"FROM {r}").pl() for r in WATCHED if _exists(con, r)}
        moved: dict[str, str] = {}
        runs = []
        for model in models:
            if model.analysis:
                continue
            runs.append(_run_model(con, model, points[model.relation], log))
            if model.relation in before:
                after = con.sql(f"FROM {model.relation}").pl()
                point = WATCHED[model.relation](before[model.relation], after)
                if point is not None:
                    moved[model.relation] = point
                    points = rebuild_points(models, digests, previous_digests, touched, moved)
        _drop_stale(con, models)
        con.execute("CREATE OR REPLACE TABLE meta.deliveries AS SELECT * FROM deliveries")
        for table, rows in restaged.items():  # noqa: B007 - `rows` is read by DuckDB below
            con.execute(f"CREATE OR REPLACE TABLE meta.staged_{table} AS SELECT * FROM rows")
        model_digests = pl.DataFrame(  # noqa: F841 - read by DuckDB below
            {"relation": list(digests), "digest": list(digests.values())}
        )
        con.execute("CREATE OR REPLACE TABLE meta.models AS SELECT * FROM model_digests")
        _keep_parses(con, models)
    return runs


def _build_analysis(
    database: Path, staging: Path, models: list[Model] | None, log: Callable[[str], None]
) -> list[ModelRun]:
    """Rebuild the `@analysis` models in full over the warehouse as the last build left it:
    its reference data, its tables and its record of the deliveries stay as they are, so
    that the next nightly build still sees every delivery it has not built."""
    if not database.exists():
        raise OperatorError(
            f"no warehouse at {database}: build it first (make demo, or launch warehouse_job)"
        )
    models = discover_models(parsed=kept_parses(database)) if models is None else models
    with _transaction(database, staging) as con:
        return [_run_model(con, m, FULL, log) for m in models if m.analysis]


@contextmanager
def _transaction(database: Path, staging: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """The writer's connection, its work one transaction: committed when the block ends,
    rolled back on any error (an interrupted build leaves the warehouse as it was)."""
    con = duckdb.connect(str(database))
    try:
        for name, value in WRITER_SETTINGS.items():
            con.execute(f"SET {name} = ?", [value])
        prepare(con, staging)
        con.execute("BEGIN TRANSACTION")
        yield con
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    finally:
        con.close()


def _run_model(
    con: duckdb.DuckDBPyConnection,
    model: Model,
    rebuild_from: str | None,
    log: Callable[[str], None],
) -> ModelRun:
    started = time.perf_counter()
    relation = model.relation
    found = _table_type(con, relation)
    if found is not None and (found == "VIEW") != (model.materialized == "view"):
        con.execute(f"DROP {'VIEW' if found == 'VIEW' else 'TABLE'} {relation}")
        found = None
    exists = found is not None
    if model.keeps_previous and exists:
        con.execute(f"CREATE OR REPLACE TABLE {model.previous_relation} AS FROM {relation}")
    select = model.sql.strip().rstrip(";")
    if model.materialized == "view":
        con.execute(f"CREATE OR REPLACE VIEW {relation} AS {select}")
    elif model.materialized == "table" or not exists or rebuild_from == FULL:
        con.execute("SET VARIABLE rebuild_from = ''")
        con.execute(f"CREATE OR REPLACE TABLE {relation} AS {select}")
    elif rebuild_from is not None:
        con.execute("SET VARIABLE rebuild_from = ?", [rebuild_from])
        con.execute(f"DELETE FROM {relation} WHERE semester_id >= getvariable('rebuild_from')")
        con.execute(
            f"INSERT INTO {relation} BY NAME SELECT * FROM ({select}) "
            "WHERE semester_id >= getvariable('rebuild_from')"
        )
    if model.keeps_previous and not exists:  # a first build is its own previous run
        con.execute(f"CREATE TABLE {model.previous_relation} AS FROM {relation}")
    rows = (
        None
        if model.materialized == "view"
        else con.execute(f"SELECT count(*) FROM {relation}").fetchall()[0][0]
    )
    columns = tuple(
        (name, str(dtype)) for name, dtype, *_ in con.execute(f"DESCRIBE {relation}").fetchall()
    )
    seconds = time.perf_counter() - started
    done = rebuild_from if model.materialized == "incremental" else FULL
    counted = "a view" if rows is None else f"{rows} rows"
    log(f"{relation}: {counted} in {seconds:.2f} s" + (f" (from {done})" if done else ""))
    return ModelRun(relation, model.materialized, done, rows, seconds, columns, model.analysis)


@dataclass(frozen=True)
class CheckOutcome:
    check: Check
    violations: int
    sample: pl.DataFrame

    @property
    def passed(self) -> bool:
        return self.violations == 0


def head(con: duckdb.DuckDBPyConnection, relation: str, rows: int | None) -> pl.DataFrame:
    """The first `rows` rows of a relation, or all of it when `rows` is None."""
    return con.sql(f"FROM {relation}" + ("" if rows is None else f" LIMIT {rows}")).pl()


def run_check(con: duckdb.DuckDBPyConnection, check: Check, sample_rows: int = 10) -> CheckOutcome:
    violations = con.execute(f"SELECT count(*) FROM ({check.sql})").fetchall()[0][0]
    sample = con.sql(f"SELECT * FROM ({check.sql}) LIMIT {sample_rows}").pl()
    return CheckOutcome(check, violations, sample)


def table_checksums(
    con: duckdb.DuckDBPyConnection, schemas: tuple[str, ...] = ("core", "indicators", "programme")
) -> dict[str, tuple[int, int]]:
    """Rows and an order-independent checksum of every table in the schemas (doubles rounded
    to 9 decimals, so that summation order cannot tell two equal builds apart)."""
    tables = con.execute(
        "SELECT table_schema, table_name FROM information_schema.tables "
        "WHERE table_type = 'BASE TABLE' AND list_contains(?, table_schema) ORDER BY ALL",
        [list(schemas)],
    ).fetchall()
    sums = {}
    for schema, name in tables:
        columns = con.execute(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position",
            [schema, name],
        ).fetchall()
        select = ", ".join(
            f'round("{c}", 9) AS "{c}"' if t == "DOUBLE" else f'"{c}"' for c, t in columns
        )
        rows, checksum = con.execute(
            f"SELECT count(*), coalesce(sum(hash(r)::HUGEINT), 0) "
            f"FROM (SELECT {select} FROM {schema}.{name}) AS r"
        ).fetchall()[0]
        sums[f"{schema}.{name}"] = (rows, int(checksum))
    return sums
