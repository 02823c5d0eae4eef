"""Shared fixtures: the scale-1 demo with defects, generated and ingested once per session."""

import json
from pathlib import Path

import pytest

from pipelines import contract, reference
from pipelines.demo.generate import generate, manifest_path
from pipelines.ingest import stage_partitions
from pipelines.warehouse import build

PARTITIONS = [s.school_id for s in reference.schools()] + [contract.MUNICIPALITY_FOLDER]


@pytest.fixture(scope="session")
def demo(tmp_path_factory) -> tuple[Path, dict]:
    """The default demo landing folder (scale 1, defect rate 0.002) and its manifest."""
    landing = tmp_path_factory.mktemp("demo") / "landing"
    generate(landing, defect_rate=0.002)
    return landing, json.loads(manifest_path(landing).read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def ingested(demo, tmp_path_factory) -> Path:
    """The demo's staging folder, every partition ingested with a test key."""
    landing, _ = demo
    root = tmp_path_factory.mktemp("ingested")
    stage_partitions(
        PARTITIONS, landing, root / "archive", root / "staging", b"test-key", workers=2
    )
    return root / "staging"


@pytest.fixture(scope="session")
def demo_warehouse(ingested, tmp_path_factory) -> Path:
    """The demo warehouse built from scratch from the ingested staging."""
    database = tmp_path_factory.mktemp("warehouse") / "warehouse.duckdb"
    build(database, ingested, full_refresh=True)
    return database
