"""Where the project keeps its data. `PMP_DATA_DIR` moves everything but the reference data."""

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
REFERENCE_DIR = PROJECT_ROOT / "data" / "reference"


def data_dir() -> Path:
    """The generated-data root: `$PMP_DATA_DIR`, or `data/` in the project."""
    return Path(os.environ.get("PMP_DATA_DIR", PROJECT_ROOT / "data"))


def landing_dir() -> Path:
    return data_dir() / "landing"


def archive_dir() -> Path:
    return data_dir() / "archive"


def staging_dir() -> Path:
    return data_dir() / "staging"


def dagster_home() -> Path:
    return Path(os.environ.get("DAGSTER_HOME", PROJECT_ROOT / ".dagster_home"))


def demo_key_file() -> Path:
    """The demo pseudonym key, used only when PMP_PSEUDONYM_KEY is not set."""
    return dagster_home() / "pseudonym-demo.key"


def warehouse_file() -> Path:
    return data_dir() / "warehouse.duckdb"


def publication_dir() -> Path:
    """The published (suppressed) tables as Parquet: what the gate, extracts and dashboard read."""
    return data_dir() / "publication"


def quality_dir() -> Path:
    return data_dir() / "quality"


def exports_dir() -> Path:
    return data_dir() / "exports"


def reports_dir() -> Path:
    """What analysts open: the dashboard and the notebooks' HTML exports."""
    return data_dir() / "reports"


def alerts_file() -> Path:
    """The operator alert log: one JSON object per line (see `pipelines.operations.alerts`)."""
    return data_dir() / "alerts" / "alerts.jsonl"


def release_log_file() -> Path:
    """The audit log of held deliveries released by an operator (`pmp release`)."""
    return data_dir() / "audit" / "releases.jsonl"


def hold_override_file() -> Path:
    """The audit log of completeness holds an operator overrode (`pmp publish --override-hold`)."""
    return data_dir() / "audit" / "hold_overrides.jsonl"
