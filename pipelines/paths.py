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
