"""Shared fixtures: the scale-1 demo with defects, generated, ingested, built and published once
per test run (the first xdist worker to need one builds it, the others reuse it), the quality
gate in the test's own process for the modules that are not about its worker, and the system
Chromium for the browser tests (tests/browser.py); and the order in which the workers take the
modules, the slowest first."""

import importlib
import json
import pickle
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from browser import CHROMIUM, WatchedPage, launch_chromium, open_page
from filelock import FileLock
from playwright.sync_api import Browser, sync_playwright

from pipelines.demo.generate import generate, manifest_path
from pipelines.ingest import contract
from pipelines.ingest.partition import stage_partitions
from pipelines.privacy.pseudonym import PseudonymKey
from pipelines.publication.gate import GateResult, run_gate
from pipelines.publication.publish import Prepared, prepare
from pipelines.reference import tables as reference
from pipelines.warehouse.build import build

TEST_KEY = PseudonymKey(b"test-key", "the test key")
# The module, not the function `pipelines.publication.publish` that the package exports.
publish_module = importlib.import_module("pipelines.publication.publish")
PARTITIONS = [s.school_id for s in reference.schools()] + [contract.MUNICIPALITY_FOLDER]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The modules marked `slow(seconds)` first, the slowest first, then the others in their
    order. `make test` runs `--dist loadscope --no-loadscope-reorder`: each module goes whole
    to one worker, in this order, so the long ones start at once and none is left for the end
    while the other worker idles (xdist's own order, most tests first, puts the 3-test nightly
    module among the last)."""

    def seconds(item: pytest.Item) -> float:
        slow = item.get_closest_marker("slow")
        return slow.args[0] if slow else 0

    items.sort(key=lambda item: -seconds(item))


@pytest.fixture(scope="session")
def shared(tmp_path_factory, worker_id) -> Path:
    """A folder that every xdist worker of this run sees: the run's base temporary folder."""
    base = tmp_path_factory.getbasetemp()
    return base if worker_id == "master" else base.parent


def built_once(folder: Path, build: Callable[[Path], object]) -> Path:
    """`folder`, built by `build` into a temporary sibling by the first worker to ask and
    renamed into place; the other workers wait for the lock and reuse it."""
    with FileLock(f"{folder}.lock"):
        if not folder.exists():
            partial = folder.with_name(f"{folder.name}.part")
            shutil.rmtree(partial, ignore_errors=True)
            partial.mkdir(parents=True)
            build(partial)
            partial.rename(folder)
    return folder


@pytest.fixture(scope="session")
def demo(shared) -> tuple[Path, dict]:
    """The default demo landing folder (scale 1, defect rate 0.002) and its manifest."""
    root = built_once(shared / "demo", lambda d: generate(d / "landing", defect_rate=0.002))
    landing = root / "landing"
    return landing, json.loads(manifest_path(landing).read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def ingested(demo, shared) -> Path:
    """The demo's staging folder, every partition ingested with a test key."""
    landing, _ = demo

    def ingest(root: Path) -> None:
        stage_partitions(
            PARTITIONS, landing, root / "archive", root / "staging", TEST_KEY, workers=2
        )

    return built_once(shared / "ingested", ingest) / "staging"


@pytest.fixture(scope="session")
def demo_warehouse(ingested, shared) -> Path:
    """The demo warehouse built from scratch from the ingested staging."""
    root = built_once(
        shared / "warehouse",
        lambda d: build(d / "warehouse.duckdb", ingested, full_refresh=True),
    )
    return root / "warehouse.duckdb"


@pytest.fixture(scope="session")
def prepared(demo_warehouse, ingested, shared) -> Prepared:
    """The demo's published tables, suppressed and proved by attack."""

    def publish(root: Path) -> None:
        (root / "prepared.pickle").write_bytes(pickle.dumps(prepare(demo_warehouse, ingested)))

    root = built_once(shared / "prepared", publish)
    return pickle.loads((root / "prepared.pickle").read_bytes())


class InProcessGate:
    """The gate's worker (`pipelines.publication.gate_worker.GateWorker`) for the tests that
    are not about the worker process: the same gate, `run_gate` on the same arguments, in the
    test's own process. Great Expectations is then imported once per test process instead of
    once per publication (a worker's import costs about 5 CPU seconds, and a worker started
    early but not needed has paid it too)."""

    def run(self, *arguments: object) -> list[GateResult]:
        """`run_gate` on the arguments `GateWorker.run` is given."""
        return run_gate(*arguments)

    def close(self) -> None:
        """Nothing to stop: no process was started."""


@pytest.fixture(scope="module")
def gate_in_process() -> Iterator[None]:
    """Every publication of the module gates in the test's own process (`InProcessGate`)."""
    with pytest.MonkeyPatch.context() as patched:
        patched.setattr(publish_module, "GateWorker", InProcessGate)
        yield


@pytest.fixture
def small_landing(demo, tmp_path) -> tuple[Path, Path, Path]:
    """One school and the municipality from the demo, ingested: landing, archive, staging."""
    landing, _ = demo
    root = tmp_path / "data"
    for partition in ("OVG", contract.MUNICIPALITY_FOLDER):
        shutil.copytree(landing / partition, root / "landing" / partition)
    partitions = [s.school_id for s in reference.schools()] + [contract.MUNICIPALITY_FOLDER]
    stage_partitions(
        partitions, root / "landing", root / "archive", root / "staging", TEST_KEY, workers=1
    )
    return root / "landing", root / "archive", root / "staging"


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
