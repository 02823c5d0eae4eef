"""Reading stored releases: `data/publication/releases/<time>/`, the `current` link to the one
in force, the one before it, and the facts and tables of each; and their retention.
`publish.store` writes them; `data/publication/ledger/` keeps the true values behind every
revision sent.

Retention (docs/disclosure.md, "Releases and retention"): a release stays while it is in force,
while it is the one before that (the dashboard's change since the previous publication), and
for as long as an extract revision that came from it exists (its manifest names it). Every
other release is removed after a publication.
"""

import json
import shutil
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
# The key of a revision's manifest naming the release it came from.
MANIFEST_RELEASE = "release"


def current_release(folder: Path) -> Path:
    """The folder of the release in force; an error naming `folder` when none was stored."""
    link = folder / CURRENT
    if not link.exists():
        raise FileNotFoundError(f"nothing published yet in {folder}: run the publication")
    return link.resolve()


def stored_releases(folder: Path) -> list[Path]:
    """Every complete release in the publication folder, oldest first."""
    releases = folder / RELEASES
    if not releases.is_dir():
        return []
    return sorted(p for p in releases.iterdir() if not p.name.startswith("."))


def previous_release(folder: Path) -> Path | None:
    """The complete release stored before the current one, if any."""
    current = current_release(folder)
    earlier = [p for p in stored_releases(folder) if p.name < current.name]
    return earlier[-1] if earlier else None


def release_facts(release: Path) -> dict:
    """What `store` recorded with the tables: min_count, narrowest, data_cutoff, published_at,
    the protection report and the content digest."""
    return json.loads((release / RELEASE_FILE).read_text(encoding="utf-8"))


def load(release: Path) -> dict[str, pl.DataFrame]:
    """The tables of one release folder."""
    return {path.stem: pl.read_parquet(path) for path in sorted(release.glob("*.parquet"))}


def releases_sent(exports: Path) -> set[str]:
    """The releases that extract revisions came from, as their manifests name them."""
    names = set()
    for manifest in exports.glob("*/r*/manifest.json"):
        name = json.loads(manifest.read_text(encoding="utf-8")).get(MANIFEST_RELEASE)
        if name is not None:
            names.add(name)
    return names


def retained(folder: Path, exports: Path) -> set[str]:
    """The releases the retention policy keeps: the one in force, the one before it, and every
    one an extract revision came from."""
    current = current_release(folder)
    previous = previous_release(folder)
    return {current.name, *([previous.name] if previous else []), *releases_sent(exports)}


def prune_releases(folder: Path, exports: Path) -> list[str]:
    """Remove the releases the retention policy does not keep; their names."""
    keep = retained(folder, exports)
    removed = [p for p in stored_releases(folder) if p.name not in keep]
    for release in removed:
        shutil.rmtree(release)
    return [p.name for p in removed]
