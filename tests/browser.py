"""Browser tests drive Debian's Chromium (/usr/bin/chromium, installed by `make browser`) through
Playwright; they never use a downloaded browser. A page records the errors it reports and is
offline unless the test asks otherwise, so a file:// page that needs the network shows it."""

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from playwright.sync_api import Browser, ConsoleMessage, Error, Page, Playwright

CHROMIUM = Path("/usr/bin/chromium")
# Headless, without the sandbox and the GPU, and with none of Chromium's own traffic (QUIC,
# background requests, component updates, sync, first-run). Playwright adds a fresh profile.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1600, "height": 1000}


def launch_chromium(playwright: Playwright) -> Browser:
    """Start the system Chromium, headless."""
    return playwright.chromium.launch(
        executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
    )


@dataclass
class WatchedPage:
    """A page and the errors it reported: console errors and uncaught exceptions, in order."""

    page: Page
    errors: list[str] = field(default_factory=list)

    def record_console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.errors.append(f"console error: {message.text} ({message.location['url']})")

    def record_page_error(self, error: Error) -> None:
        self.errors.append(f"uncaught exception: {error.message}")


@contextmanager
def open_page(browser: Browser, *, offline: bool = True) -> Iterator[WatchedPage]:
    """A page in a fresh context (1600x1000, en-US, UTC), closed on exit. Offline, only file://
    and data: URLs load; every other request fails and shows up as a console error."""
    context = browser.new_context(
        offline=offline, viewport=VIEWPORT, locale="en-US", timezone_id="UTC"
    )
    try:
        watched = WatchedPage(context.new_page())
        watched.page.on("console", watched.record_console)
        watched.page.on("pageerror", watched.record_page_error)
        yield watched
    finally:
        context.close()
