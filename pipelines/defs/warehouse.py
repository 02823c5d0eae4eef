"""The warehouse: one Dagster asset per SQL model in `models/`, built by one DuckDB writer.

The models run together in one step (one transaction, in dependency order) in the `duckdb`
pool, so the warehouse file only ever has one writer: `warehouse_build`, after every ingest,
runs every model but the analysis ones (`-- @analysis`), and `warehouse_analysis` rebuilds
those weekly (`pipelines/defs/policies.py`, `ON_WEEKLY_TICK`), or after the build in a
`warehouse_job` run. The checks in `models/checks/` run afterwards on a read-only
connection, in the same pool so that they never meet a writer.
"""

from collections.abc import Iterator

import dagster as dg
import polars as pl

from pipelines.defs.metadata import markdown_table
from pipelines.defs.policies import (
    IO_RETRY,
    NIGHTLY_FRESHNESS,
    ON_UPSTREAM_CHANGE,
    ON_WEEKLY_TICK,
    WEEKLY_FRESHNESS,
)
from pipelines.paths import PROJECT_ROOT, staging_dir, warehouse_file
from pipelines.warehouse.build import (
    ModelRun,
    Scope,
    build,
    connect_read_only,
    head,
    run_check,
)
from pipelines.warehouse.models import REFERENCE_TABLES, Model, discover_checks, discover_models

OWNERS = ["team:education-analytics"]
POOL = "duckdb"
GROUPS = {
    "staging": "staging",
    "core": "warehouse",
    "indicators": "indicators",
    "programme": "indicators",
    "publication": "publication",
}
# Columns that identify a pupil (the key, and ids hashed from it): never kept in run history.
PUPIL_COLUMNS = ("pupil_key", "spell_id", "previous_spell_id", "support_id")
# Small tables worth seeing whole in the UI after each build; the others show their head.
SHOWN_WHOLE = ("indicators.backtest", "programme.support_effect")
# Staged tables written by an asset outside the `staging/` prefix.
STAGED_KEYS = {"delivery_log": dg.AssetKey(["ingest", "delivery_log"])}
_MODELS = tuple(discover_models())
_CHECKS = tuple(discover_checks())


def model_key(relation: str) -> dg.AssetKey:
    return dg.AssetKey(["warehouse", *relation.split(".")])


def _deps(model: Model) -> list[dg.AssetKey]:
    models = {m.relation for m in _MODELS}
    keys = [model_key(d) for d in model.depends_on if d in models]
    keys += [STAGED_KEYS.get(table, dg.AssetKey(["staging", table])) for table in model.staged]
    keys += [
        dg.AssetKey(REFERENCE_TABLES[d.split(".")[1]][0])
        for d in model.depends_on
        if d.startswith("reference.")
    ]
    return sorted(set(keys), key=lambda k: k.to_user_string())


def _spec(model: Model) -> dg.AssetSpec:
    return dg.AssetSpec(
        key=model_key(model.relation),
        description=model.description,
        group_name=GROUPS[model.schema],
        owners=OWNERS,
        kinds={"duckdb", "sql"},
        deps=_deps(model),
        automation_condition=ON_WEEKLY_TICK if model.analysis else ON_UPSTREAM_CHANGE,
        freshness_policy=WEEKLY_FRESHNESS if model.analysis else NIGHTLY_FRESHNESS,
        metadata={
            "model_file": dg.MetadataValue.path(str(model.path.relative_to(PROJECT_ROOT))),
            "materialized": model.materialized,
        },
    )


_CHECK_SPECS = tuple(
    dg.AssetCheckSpec(
        check.name,
        asset=model_key(check.relation),
        description=check.description,
        blocking=check.severity == "error",
    )
    for check in _CHECKS
)


class WarehouseConfig(dg.Config):
    full_refresh: bool = False
    """Rebuild every table from scratch instead of only the semesters new deliveries touched."""
    rebuild_from: str | None = None
    """A semester id (e.g. 2025/26-S1): rebuild the incremental tables from it (a backfill)."""


@dg.multi_asset(
    specs=[_spec(m) for m in _MODELS if not m.analysis],
    name="warehouse_build",
    pool=POOL,
    retry_policy=IO_RETRY,
    description="Run the SQL models of models/ but the analysis ones against "
    "data/warehouse.duckdb in one transaction: staging views, core tables, indicators, "
    "programme and publication marts.",
)
def warehouse_build(context: dg.AssetExecutionContext, config: WarehouseConfig):
    runs = build(
        warehouse_file(), staging_dir(), full_refresh=config.full_refresh, models=list(_MODELS),
        log=context.log.info, rebuild_from=config.rebuild_from, scope=Scope.NIGHTLY,
    )  # fmt: skip
    yield from _materialized(runs)


@dg.multi_asset(
    specs=[_spec(m) for m in _MODELS if m.analysis],
    name="warehouse_analysis",
    pool=POOL,
    retry_policy=IO_RETRY,
    description="Rebuild the analysis models of models/ (the evaluation, the backtest, the "
    "support effect) over the warehouse as the last build left it, in one transaction.",
)
def warehouse_analysis(context: dg.AssetExecutionContext):
    runs = build(
        warehouse_file(), staging_dir(), models=list(_MODELS), log=context.log.info,
        scope=Scope.ANALYSIS,
    )  # fmt: skip
    yield from _materialized(runs)


def _materialized(runs: list[ModelRun]) -> Iterator[dg.MaterializeResult]:
    """Each model's materialisation: its columns, time, what was rebuilt and its first rows."""
    con = connect_read_only(warehouse_file(), staging_dir())
    try:
        shown = {
            run.relation: head(con, run.relation, None if run.relation in SHOWN_WHOLE else 5)
            for run in runs
        }
    finally:
        con.close()
    for run in runs:
        metadata = {
            "dagster/column_schema": dg.MetadataValue.table_schema(
                dg.TableSchema(columns=[dg.TableColumn(n, t) for n, t in run.columns])
            ),
            "seconds": dg.MetadataValue.float(round(run.seconds, 3)),
            "rebuilt_from": dg.MetadataValue.text(_rebuilt(run.materialized, run.rebuilt_from)),
            "table" if run.relation in SHOWN_WHOLE else "preview": dg.MetadataValue.md(
                markdown_table(_shown(shown[run.relation]))
            ),
        }
        if run.rows is not None:
            metadata["dagster/row_count"] = dg.MetadataValue.int(run.rows)
        yield dg.MaterializeResult(asset_key=model_key(run.relation), metadata=metadata)


def _rebuilt(materialized: str, rebuilt_from: str | None) -> str:
    if materialized != "incremental":
        return f"rebuilt in full ({materialized})"
    if rebuilt_from is None:
        return "unchanged: no delivery touched it"
    return f"semesters from {rebuilt_from}" if rebuilt_from else "all semesters"


def _shown(frame: pl.DataFrame) -> pl.DataFrame:
    """A frame as the UI may keep it: without pupil keys or the ids derived from them (run
    history outlives a key rotation and the retention purge), doubles rounded."""
    return frame.drop(PUPIL_COLUMNS, strict=False).with_columns(pl.col(pl.Float64).round(3))


@dg.multi_asset_check(specs=_CHECK_SPECS, name="warehouse_checks", pool=POOL)
def warehouse_checks(context: dg.AssetCheckExecutionContext):
    """Run each check of models/checks/ on a read-only connection: a check passes when its
    query finds no rows; the rows it found are shown (up to 10)."""
    con = connect_read_only(warehouse_file(), staging_dir())
    try:
        for check in _CHECKS:
            outcome = run_check(con, check)
            yield dg.AssetCheckResult(
                asset_key=model_key(check.relation),
                check_name=check.name,
                passed=outcome.passed,
                severity=dg.AssetCheckSeverity.WARN
                if check.severity == "warn"
                else dg.AssetCheckSeverity.ERROR,
                metadata={
                    "violations": dg.MetadataValue.int(outcome.violations),
                    "rows_found": dg.MetadataValue.md(markdown_table(_shown(outcome.sample))),
                },
            )
    finally:
        con.close()
