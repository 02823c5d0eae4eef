"""Incremental equals full: after a sequence of nights, the nightly path (ingest that reads only
the files it has not read, the incremental warehouse build, publication that reuses what
earlier nights decided) holds the same warehouse and publishes the same bytes as a full
refresh of the same deliveries.

The nightly warehouse builds leave the analysis models (`@analysis`) to the weekly analysis
build, which runs once after the last night, before the warehouses are compared.

The nightly path starts from the demo without its last nights and without the correction of
2025/26-S1's December absences at one school; the nights then land, in a seeded order, the last nights'
files and the correction (late, with its original delivery time), so a final semester's
numbers change, a new revision is due, and the reuse must not keep that semester's old
protection. After the last night the landing is the demo's, so the full refresh is the shared
demo staging and warehouse (built from scratch), published with no stored release and no
reuse, but from the same revisions sent: what the ministry already holds constrains any
release, nightly or full. It starts with the nightly path's quality folder: the gate keeps its
results by the release's content digest (its tables and true values), so Great Expectations
does not run again on the content the last night gated, and runs whenever the full refresh's
content differs from it. The gate runs in the test's own process (`gate_in_process`): this
module is about what is published, not about the worker process the gate runs in.
"""

import random
import shutil
from pathlib import Path

import pytest
from conftest import PARTITIONS, TEST_KEY
from warehouse_scenario import checksums

from pipelines.ingest.partition import stage_partitions
from pipelines.publication.publish import Publication, publish
from pipelines.publication.releases import LEDGER, current_release
from pipelines.warehouse.build import Scope, build

pytestmark = pytest.mark.slow(180)

NIGHTS = 2
CORRECTION = "OVG/kavejumi_20251201-20251219_labots.csv"  # 2025/26-S1, delivered 19.12.2025


def _land(source: Path, landing: Path, files: list[str]) -> None:
    for file in files:
        (landing / file).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source / file, landing / file)


def _publish(root: Path, staging: Path, database: Path) -> Publication:
    return publish(
        database, staging, root / "publication", root / "quality", root / "exports"
    )  # fmt: skip


def _published(root: Path) -> dict[str, bytes]:
    release = current_release(root / "publication")
    return {p.name: p.read_bytes() for p in sorted(release.glob("*.parquet"))}


@pytest.fixture(scope="module")
def nights(demo, ingested, demo_warehouse, gate_in_process, tmp_path_factory) -> dict:
    """What the nightly path and the full refresh published, and what each night did."""
    source, manifest = demo
    files = {f["file"]: f["delivered_at"][:10] for f in manifest["files"]}
    last = sorted(set(files.values()))[-NIGHTS:]
    later = {f for f, day in files.items() if day in last} | {CORRECTION}
    rng = random.Random(20261207)
    tonight = {f: rng.randrange(NIGHTS) for f in sorted(later)}

    root = tmp_path_factory.mktemp("nightly")
    landing, staging, database = root / "landing", root / "staging", root / "warehouse.duckdb"
    _land(source, landing, [f for f in files if f not in later])
    done = []
    for night in range(-1, NIGHTS):
        _land(source, landing, [f for f, n in tonight.items() if n == night])
        if night == NIGHTS - 1:
            full = tmp_path_factory.mktemp("full")
            shutil.copytree(root / "exports", full / "exports")
            shutil.copytree(root / "publication" / LEDGER, full / "publication" / LEDGER)
        reports = stage_partitions(PARTITIONS, landing, root / "archive", staging, TEST_KEY, 2)
        runs = build(database, staging, full_refresh=night < 0, scope=Scope.NIGHTLY)
        rebuilt = {
            r.rebuilt_from for r in runs if r.materialized == "incremental" and r.rebuilt_from
        }
        read = sum(r.files_read for r in reports)
        done.append((read, rebuilt, _publish(root, staging, database)))
    build(database, staging, scope=Scope.ANALYSIS)  # the weekly build of the analysis models
    shutil.copytree(root / "quality", full / "quality")
    return {
        "warehouse": (checksums(database, staging), checksums(demo_warehouse, ingested)),
        "nightly": _published(root),
        "full": (_publish(full, ingested, demo_warehouse), _published(full)),
        "nights": done,
    }


def test_the_nightly_path_publishes_the_same_bytes_as_a_full_refresh(nights):
    full, published = nights["full"]
    assert full.new_release
    assert len(published) == 4
    assert nights["nightly"] == published


def test_the_nightly_warehouse_holds_the_rows_of_a_full_build(nights):
    nightly, full = nights["warehouse"]
    assert len(nightly) > 20
    assert nightly == full


def test_each_night_read_its_files_rebuilt_its_semesters_and_revised_what_changed(nights):
    first, *later = nights["nights"]
    assert first[0] > 500 and all(0 < read < 150 for read, _, _ in later)
    # The night with the correction rebuilds from its semester, the other from the current one.
    assert sorted(min(rebuilt) for _, rebuilt, _ in later) == ["2025/26-S1", "2026/27-S1"]
    assert all(publication.new_release for _, _, publication in later)
    revised = {r.period for _, _, publication in later for r in publication.revisions}
    assert "2025/26-S1" in revised
