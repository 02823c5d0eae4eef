"""The DuckDB warehouse: the SQL models in `models/`, built by one writer, read read-only, and
indicators as of any day.
"""

from pipelines.warehouse.as_of import indicators_as_of
from pipelines.warehouse.build import (
    DELIVERY_COLUMNS,
    ModelRun,
    build,
    connect_read_only,
    head,
    loaded_deliveries,
    run_check,
)
from pipelines.warehouse.models import (
    REFERENCE_TABLES,
    Model,
    definition_digest,
    discover_checks,
    discover_models,
)

__all__ = [
    "DELIVERY_COLUMNS",
    "REFERENCE_TABLES",
    "Model",
    "ModelRun",
    "build",
    "connect_read_only",
    "definition_digest",
    "discover_checks",
    "discover_models",
    "head",
    "indicators_as_of",
    "loaded_deliveries",
    "run_check",
]
