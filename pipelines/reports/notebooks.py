"""The analyst notebooks in `notebooks/`: marimo files, run headless and exported to HTML.

`marimo export html` runs every cell; when a cell raises it still writes the HTML (with the
error in the cell's output) but exits with status 1 and names the error on stderr. An export
that exits non-zero raises here, so a notebook that no longer runs cannot pass unnoticed.
"""

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import duckdb

from pipelines.paths import PROJECT_ROOT, staging_dir, warehouse_file
from pipelines.warehouse.build import connect_read_only

NOTEBOOKS_DIR = PROJECT_ROOT / "notebooks"
RISK_TRENDS = NOTEBOOKS_DIR / "risk_trends.py"
SCHOOL_DEEP_DIVE = NOTEBOOKS_DIR / "school_deep_dive.py"
INDICATOR_QUALITY = NOTEBOOKS_DIR / "indicator_quality.py"
NOTEBOOKS: tuple[Path, ...] = (RISK_TRENDS, SCHOOL_DEEP_DIVE, INDICATOR_QUALITY)


def open_warehouse(arguments: dict[str, str]) -> tuple[duckdb.DuckDBPyConnection, Path]:
    """A read-only connection to the warehouse a notebook was given (`--warehouse`, `--staging`;
    by default the project's), and its path."""
    warehouse = Path(arguments.get("warehouse") or warehouse_file())
    if not warehouse.is_file():
        raise FileNotFoundError(f"no warehouse at {warehouse}: run `make demo` or pass --warehouse")
    return connect_read_only(warehouse, Path(arguments.get("staging") or staging_dir())), warehouse


def percent(value: float | None) -> str:
    """A rate as a percentage with one decimal, a dash when there is none."""
    return "–" if value is None else f"{value:.1%}"


def cli_arguments(arguments: dict[str, str]) -> list[str]:
    """The `--key value` pairs a notebook reads with `mo.cli_args()`, after marimo's `--`."""
    pairs = [part for key, value in arguments.items() for part in (f"--{key}", value)]
    return ["--", *pairs] if pairs else []


def export_html(notebook: Path, output: Path, arguments: dict[str, str]) -> Path:
    """Run `notebook` headless with `arguments` and write it with its outputs to `output`.

    marimo keeps a session snapshot in a `__marimo__` folder beside the notebook (or under
    `PYTHONPYCACHEPREFIX` when set); the export points that at a temporary folder, so it
    leaves the notebooks folder as it was.
    """
    output.parent.mkdir(parents=True, exist_ok=True)
    command = [
        sys.executable,
        "-m",
        "marimo",
        "export",
        "html",
        str(notebook.resolve()),
        "--output",
        str(output),
        "--force",
        *cli_arguments(arguments),
    ]
    with tempfile.TemporaryDirectory(prefix="marimo-export-") as snapshots:
        result = subprocess.run(
            command,
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONPYCACHEPREFIX": snapshots},
            check=False,
        )
    if result.returncode != 0:
        raise RuntimeError(
            f"notebook {notebook.name} failed (marimo export exited with {result.returncode}):\n"
            f"{result.stderr.strip()}"
        )
    return output
