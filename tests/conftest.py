"""Shared fixtures: the scale-1 demo with defects, generated and ingested once per session,
its publication, and the system Chromium for the browser tests (tests/browser.py)."""

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from browser import CHROMIUM, WatchedPage, launch_chromium, open_page
from playwright.sync_api import Browser, sync_playwright

from pipelines import contract, reference
from pipelines.demo.generate import generate, manifest_path
from pipelines.ingest import stage_partitions
from pipelines.publish import Prepared, prepare
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


@pytest.fixture(scope="session")
def prepared(demo_warehouse, ingested) -> Prepared:
    """The demo's published tables, suppressed and proved by attack."""
    return prepare(demo_warehouse, ingested)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """The system Chromium, headless, shared by a test module (Playwright keeps an event loop
    running in the thread while it lives, which Dagster's own asyncio.run cannot share); the
    test skips when it is not installed (`make browser` installs it)."""
    if not CHROMIUM.exists():
        pytest.skip(f"browser tests need Debian's chromium at {CHROMIUM}: run `make browser`")
    with sync_playwright() as playwright:
        chromium = launch_chromium(playwright)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def offline_page(browser: Browser) -> Iterator[WatchedPage]:
    """A fresh offline page for file:// pages: `.page` to drive, `.errors` for the console
    errors and uncaught exceptions it reported."""
    with open_page(browser) as watched:
        yield watched
