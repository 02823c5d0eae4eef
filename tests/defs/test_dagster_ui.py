"""The Dagster UI in a browser: `dg dev` on loopback over a fresh instance that holds a run of
the reference data. The asset graph names the assets and the page of `schools` shows the
latest materialisation's metadata; screenshots of both go to .artifacts/screenshots/."""

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sysconfig
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import dagster as dg
import pytest
from browser import open_page
from playwright.sync_api import Browser, Locator, Page, expect

from pipelines.defs import reference
from pipelines.paths import PROJECT_ROOT
from pipelines.reference.tables import read_csv

DG = Path(sysconfig.get_path("scripts")) / "dg"
SCREENSHOTS = PROJECT_ROOT / ".artifacts" / "screenshots"
REFERENCE_ASSETS = [
    reference.schools,
    reference.school_calendar,
    reference.lesson_load,
    reference.subjects,
    reference.activities,
    reference.project_targets,
    reference.social_statuses,
    reference.indicator_rules,
    reference.score_model,
]
# The global lineage with the reference assets' groups open: the UI names a group
# `global@global:<group>` and opens the ones its `expanded` parameter lists.
GROUPS = sorted({asset.group_names_by_key[asset.key] for asset in REFERENCE_ASSETS})
REFERENCE_GRAPH = "/asset-groups?" + urllib.parse.urlencode(
    {"expanded": ",".join(f"global@global:{group}" for group in GROUPS)}
)
READY_SECONDS = 120
UI_TIMEOUT_MS = 60_000
# Tall enough for the asset page's status, columns and metadata in one screenshot
ASSET_PAGE_VIEWPORT = {"width": 1600, "height": 2000}
MIN_SCREENSHOT_BYTES = 20_000


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def log_tail(log: Path) -> str:
    return log.read_text(encoding="utf-8", errors="replace")[-4000:]


def wait_until_serving(server: subprocess.Popen[bytes], url: str, log: Path) -> float:
    """Seconds until the webserver answers, failing with the log if it exits or is too slow."""
    start = time.monotonic()
    while time.monotonic() - start < READY_SECONDS:
        if server.poll() is not None:
            raise RuntimeError(f"dg dev exited with {server.returncode}:\n{log_tail(log)}")
        try:
            with urllib.request.urlopen(f"{url}/server_info", timeout=5):
                return time.monotonic() - start
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.5)
    raise TimeoutError(f"dg dev did not serve {url} in {READY_SECONDS} s:\n{log_tail(log)}")


def group_gone(server: subprocess.Popen[bytes], seconds: float) -> bool:
    """Whether every process of the server's group has exited within the time."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        server.poll()  # reaps the leader, which would otherwise stay in the group as a zombie
        try:
            os.killpg(server.pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.2)
    return False


def stop_group(server: subprocess.Popen[bytes]) -> None:
    """Interrupt the whole process group as Ctrl-C would, then kill what is left."""
    for signal_number, grace in ((signal.SIGINT, 20), (signal.SIGKILL, 10)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, signal_number)
        if group_gone(server, grace):
            return
    raise RuntimeError(f"processes of group {server.pid} outlived SIGKILL")


def materialise_reference(home: Path) -> bool:
    """Run every reference asset into the instance at `home`; whether the run succeeded."""
    with dg.DagsterInstance.from_config(str(home)) as instance:
        return dg.materialize(REFERENCE_ASSETS, instance=instance).success


@pytest.fixture
def dagster_home(tmp_path: Path) -> Path:
    """A fresh instance from the project's dagster.yaml, holding one materialisation of every
    reference asset. The run is in this process, as a `dg launch` would load the project once
    more, but in a thread of its own: Playwright's event loop may be running in this one."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(PROJECT_ROOT / "dagster.yaml", home / "dagster.yaml")
    with ThreadPoolExecutor(max_workers=1) as thread:
        assert thread.submit(materialise_reference, home).result()
    return home


@pytest.fixture
def dagster_ui(dagster_home: Path, tmp_path: Path) -> Iterator[str]:
    """The base URL of `dg dev` on the instance, with an empty data folder so that the landing
    sensor finds nothing. Its process group is stopped afterwards, whatever the test did."""
    data = tmp_path / "data"
    data.mkdir()
    env = {**os.environ, "DAGSTER_HOME": str(dagster_home), "PMP_DATA_DIR": str(data)}
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp_path / "dg-dev.log"
    with log.open("wb") as output:
        server = subprocess.Popen(
            [DG, "dev", "--host", "127.0.0.1", "--port", str(port)],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        seconds = wait_until_serving(server, url, log)
        print(f"dg dev served {url} after {seconds:.1f} s")
        yield url
    finally:
        stop_group(server)


def screenshot(page: Page, name: str) -> Path:
    """A PNG of the viewport in .artifacts/screenshots/, checked to be a real image."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / name
    page.screenshot(path=path)
    content = path.read_bytes()
    assert content.startswith(b"\x89PNG\r\n\x1a\n")
    assert len(content) > MIN_SCREENSHOT_BYTES, f"{path} is nearly empty"
    print(f"screenshot: {path}")
    return path


def graph_node(page: Page, name: str) -> Locator:
    """The asset graph's node of that name (the sidebar lists names too)."""
    return page.locator("svg").get_by_text(name, exact=True).first


def expect_visible(locator: Locator) -> None:
    expect(locator).to_be_visible(timeout=UI_TIMEOUT_MS)


def test_asset_graph_and_asset_page(dagster_ui: str, browser: Browser) -> None:
    schools = read_csv("schools.csv")
    with open_page(browser, offline=False) as watched:
        page = watched.page
        page.set_default_timeout(UI_TIMEOUT_MS)  # expect() has a timeout of its own

        # dagster.yaml turns the community sign-up dialog off: nothing covers the pages.
        nux = page.request.post(f"{dagster_ui}/graphql", data={"query": "{ shouldShowNux }"})
        assert nux.json() == {"data": {"shouldShowNux": False}}
        page.goto(dagster_ui + REFERENCE_GRAPH)
        for asset in REFERENCE_ASSETS:
            expect_visible(graph_node(page, asset.key.to_user_string()))
        screenshot(page, "dagster-asset-graph.png")

        page.set_viewport_size(ASSET_PAGE_VIEWPORT)
        page.goto(f"{dagster_ui}/assets/schools")
        expect_visible(page.get_by_text("Latest materialization", exact=True))
        row_count = page.get_by_text("Row count", exact=True).locator("..")
        expect(row_count).to_have_text(
            re.compile(rf"^Row count\s*{schools.height:,}$"), timeout=UI_TIMEOUT_MS
        )
        # The metadata table: the preview's first school and the file it was read from
        first = schools.row(0, named=True)
        expect_visible(page.get_by_role("cell", name=first["school_id"], exact=True))
        expect_visible(page.get_by_role("cell", name=first["name"], exact=True))
        expect_visible(page.get_by_text("data/reference/schools.csv", exact=True))
        screenshot(page, "dagster-asset-page.png")

        assert watched.errors == []
