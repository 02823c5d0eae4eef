"""The warehouse's SQL models and data checks, found in `models/`: what each model reads, how it
is materialised, and what its rows follow from besides the deliveries.

A model is one `.sql` file, `models/<schema>/<name>.sql`, holding one SELECT that becomes the
relation `<schema>.<name>`. Its dependencies are the relations the SELECT reads, found by
parsing it (sqlglot); `staged('<table>')` reads a staging Parquet table. The leading comment
is the model's description, and markers change how it is materialised (see `build`).
Parsing every model takes about a second, so a build keeps what each parse found in the
warehouse, keyed by `parse_key` (the SQL, this module and sqlglot's version), and parses only
a file it has not seen.
A check is `models/checks/<name>.sql`, selecting the rows that break it.
"""

import graphlib
import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from importlib.metadata import version
from pathlib import Path

import polars as pl

from pipelines.paths import PROJECT_ROOT, REFERENCE_DIR
from pipelines.reference import tables as reference
from pipelines.reference.calendar import calendar_table, school_calendar, semester_table
from pipelines.reference.rules import (
    RULES_FILE,
    parameter_table,
    promotion_band_table,
    rule_table,
    rules,
)
from pipelines.reference.score import (
    score_config,
    score_digest,
    score_feature_table,
    score_model_table,
)

MODELS_DIR = PROJECT_ROOT / "models"


LAYERS = ("staging", "core", "indicators", "programme", "publication")


STAGED = "staged"


INCREMENTAL = "@incremental"


KEEPS_PREVIOUS = "@keeps-previous"


VIEW = "@view"


ANALYSIS = "@analysis"


# What parsing a model found: the relations it reads and the staging tables.
Parse = tuple[tuple[str, ...], tuple[str, ...]]


# Reference tables loaded before the models, with the reference asset each comes from.
REFERENCE_TABLES: dict[str, tuple[str, Callable[[], pl.DataFrame]]] = {
    "schools": ("schools", lambda: reference.read_csv("schools.csv")),
    "calendar": ("school_calendar", lambda: calendar_table(school_calendar())),
    "semesters": ("school_calendar", lambda: semester_table(school_calendar())),
    "lesson_load": ("lesson_load", lambda: reference.read_csv("lesson_load.csv")),
    "subjects": ("subjects", reference.subjects),
    "activities": ("activities", reference.activities),
    "social_statuses": ("social_statuses", lambda: reference.read_csv("social_status.csv")),
    "rules": ("indicator_rules", lambda: rule_table(rules())),
    "promotion_bands": ("indicator_rules", lambda: promotion_band_table(rules())),
    "parameters": ("indicator_rules", lambda: parameter_table(rules())),
    "grade_bands": ("schools", reference.grade_band_table),
    "score_features": ("score_model", lambda: score_feature_table(score_config())),
    "score_model": ("score_model", lambda: score_model_table(score_config(), score_digest())),
}


class ModelError(ValueError):
    """A model file that cannot be run: names the file and the reason."""


@dataclass(frozen=True)
class Model:
    schema: str
    name: str
    path: Path
    sql: str
    description: str
    incremental: bool
    keeps_previous: bool
    view: bool
    analysis: bool
    depends_on: tuple[str, ...]
    staged: tuple[str, ...]

    @property
    def relation(self) -> str:
        return f"{self.schema}.{self.name}"

    @property
    def previous_relation(self) -> str:
        return f"meta.{self.schema}_{self.name}_previous"

    @property
    def materialized(self) -> str:
        if self.view or self.schema == "staging":
            return "view"
        return "incremental" if self.incremental else "table"


@cache
def _parser_digest() -> bytes:
    """This module's code and sqlglot's version: what a parse follows from besides the SQL."""
    return hashlib.sha256(Path(__file__).read_bytes() + version("sqlglot").encode()).digest()


def parse_key(sql: str) -> str:
    """The key of a model's parse: a change of its SQL, of this module or of sqlglot parses it
    again."""
    return hashlib.sha256(_parser_digest() + sql.encode()).hexdigest()


@cache
def _parse(sql: str, path: Path, models_dir: Path) -> Parse:
    """The relations and staged tables the SQL reads. Kept for the process too: one that
    builds several new warehouses (the tests, the bench) parses each model's SQL once."""
    import sqlglot  # imported only when a model is parsed: most builds find every parse kept
    from sqlglot import exp

    try:
        tree = sqlglot.parse_one(sql, read="duckdb")
    except sqlglot.errors.ParseError as error:
        raise ModelError(f"{path.relative_to(models_dir)}: {error}") from error
    depends_on, staged = set(), set()
    for table in tree.find_all(exp.Table):
        if isinstance(table.this, exp.Anonymous) and table.this.name.lower() == STAGED:
            staged.add(table.this.expressions[0].name)
        elif table.db:  # a relation of a schema: never a CTE, though a CTE may share its name
            depends_on.add(f"{table.db}.{table.name}")
    return tuple(sorted(depends_on)), tuple(sorted(staged))


def parse_model(
    path: Path, models_dir: Path = MODELS_DIR, parsed: Mapping[str, Parse] = {}
) -> Model:
    """The model of a file; its dependencies from `parsed` (by `parse_key`) when there."""
    sql = path.read_text(encoding="utf-8")
    header = _header(sql)
    found = parsed.get(parse_key(sql))
    depends_on, staged = _parse(sql, path, models_dir) if found is None else found
    return Model(
        schema=path.parent.name,
        name=path.stem,
        path=path,
        sql=sql,
        description=" ".join(line for line in header if line and not line.startswith("@")),
        incremental=INCREMENTAL in header,
        keeps_previous=KEEPS_PREVIOUS in header,
        view=VIEW in header,
        analysis=ANALYSIS in header,
        depends_on=depends_on,
        staged=staged,
    )


def discover_models(models_dir: Path = MODELS_DIR, parsed: Mapping[str, Parse] = {}) -> list[Model]:
    """Every model of the layers, in an order that runs each after what it reads (`parsed`:
    parses kept by an earlier build, by `parse_key`)."""
    models = {
        m.relation: m
        for layer in LAYERS
        for m in (
            parse_model(p, models_dir, parsed) for p in sorted((models_dir / layer).glob("*.sql"))
        )
    }
    known = set(models) | {f"reference.{name}" for name in REFERENCE_TABLES}
    for model in models.values():
        unknown = [d for d in model.depends_on if d not in known and not d.startswith("meta.")]
        if unknown:
            raise ModelError(
                f"{model.path.relative_to(models_dir)} reads {', '.join(unknown)}, "
                "which is neither a model nor a reference table"
            )
        analysed = [d for d in model.depends_on if d in models and models[d].analysis]
        if analysed and not model.analysis:
            raise ModelError(
                f"{model.path.relative_to(models_dir)} reads {', '.join(analysed)}, which the "
                f"nightly build does not refresh: mark it {ANALYSIS} too, or read something else"
            )
    graph = {r: [d for d in m.depends_on if d in models] for r, m in models.items()}
    try:
        order = list(graphlib.TopologicalSorter(graph).static_order())
    except graphlib.CycleError as error:
        raise ModelError(f"models depend on each other in a cycle: {error.args[1]}") from error
    layer_rank = {layer: rank for rank, layer in enumerate(LAYERS)}
    return sorted(
        (models[r] for r in order), key=lambda m: (layer_rank[m.schema], order.index(m.relation))
    )


def definition_digest(model: Model) -> str:
    """What a model's rows follow from besides the deliveries: its SQL, the rules and the
    reference data. A change rebuilds it (and what reads it) in full."""
    digest = hashlib.sha256(model.sql.encode())
    for path in [RULES_FILE, *sorted(REFERENCE_DIR.glob("*.*"))]:
        digest.update(path.read_bytes())
    return digest.hexdigest()


@dataclass(frozen=True)
class Check:
    """A data check: `models/checks/<name>.sql` selects the rows that break it."""

    name: str
    relation: str
    description: str
    severity: str
    sql: str


def _header(sql: str) -> list[str]:
    lines = []
    for line in sql.splitlines():
        if not line.startswith("--"):
            break
        lines.append(line.removeprefix("--").strip())
    return lines


def discover_checks(models_dir: Path = MODELS_DIR) -> list[Check]:
    checks = []
    for path in sorted((models_dir / "checks").glob("*.sql")):
        sql = path.read_text(encoding="utf-8")
        settings = dict(
            line.split(": ", 1) for line in _header(sql) if line.startswith(("asset:", "severity:"))
        )
        if "asset" not in settings:
            raise ModelError(f"checks/{path.name} names no `-- asset:` it checks")
        checks.append(
            Check(
                name=path.stem,
                relation=settings["asset"],
                description=" ".join(
                    line for line in _header(sql) if not line.startswith(("asset:", "severity:"))
                ),
                severity=settings.get("severity", "error"),
                sql=sql.strip().rstrip(";"),
            )
        )
    return checks
