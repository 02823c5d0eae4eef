"""Reading stored releases: `data/publication/releases/<time>/`, the `current` link to the one
in force, the one before it, and the facts and tables of each. `publish.store` writes them;
`data/publication/ledger/` keeps the true values behind every revision sent.
"""

import json
from pathlib import Path

import polars as pl

RELEASE_FILE = "release.json"
RELEASES = "releases"
CURRENT = "current"
# Kept privately, never sent: the true values behind a release (for the extracts' ledger),
# and behind every revision sent (so the next release is protected jointly with it).
PRIVATE = "private"
VALUES_FILE = "values.parquet"
LEDGER = "ledger"


def current_release(folder: Path) -> Path:
    """The folder of the release in force; an error naming `folder` when none was stored."""
    link = folder / CURRENT
    if not link.exists():
        raise FileNotFoundError(f"nothing published yet in {folder}: run the publication")
    return link.resolve()


def previous_release(folder: Path) -> Path | None:
    """The complete release stored before the current one, if any."""
    current = current_release(folder)
    earlier = [p for p in sorted((folder / RELEASES).iterdir()) if p.name < current.name]
    complete = [p for p in earlier if not p.name.startswith(".")]
    return complete[-1] if complete else None


def release_facts(release: Path) -> dict:
    """What `store` recorded with the tables: min_count, narrowest, data_cutoff, published_at."""
    return json.loads((release / RELEASE_FILE).read_text(encoding="utf-8"))


def load(release: Path) -> dict[str, pl.DataFrame]:
    """The tables of one release folder."""
    return {path.stem: pl.read_parquet(path) for path in sorted(release.glob("*.parquet"))}
