"""One Chromium for the whole session, driven through Playwright from one thread.

Playwright's sync API keeps its own event loop in the thread that started it, so every
call goes through a one-thread executor; the tests (on Trio) wait for it in a worker
thread while the live server keeps serving. The browser is Debian's Chromium: nothing is
ever downloaded. axe-core comes from npm into a cache folder outside the repository.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest
import trio

CHROMIUM = os.environ.get("WB_CHROMIUM", "/usr/bin/chromium")
AXE_DIR = Path(
    os.environ.get("WB_AXE_DIR", Path.home() / ".cache" / "wildebeest-trio" / "axe-core")
)
AXE_VERSION = "4"

T = TypeVar("T")


@dataclass
class Browser:
    """The session's browser and the thread that owns it."""

    executor: ThreadPoolExecutor
    browser: Any
    axe_source: str | None

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """Run `fn(browser, *args)` on the browser's thread; its result."""
        future = self.executor.submit(fn, self.browser, *args)
        return await trio.to_thread.run_sync(future.result)


def _axe_source() -> str | None:
    """axe-core's script, installed from npm into the cache folder when missing."""
    script = AXE_DIR / "node_modules" / "axe-core" / "axe.min.js"
    if not script.exists():
        npm = shutil.which("npm")
        if npm is None:
            return None
        AXE_DIR.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [npm, "install", "--no-audit", "--no-fund", "--silent", f"axe-core@{AXE_VERSION}"],
            cwd=AXE_DIR,
            check=True,
            timeout=300,
            capture_output=True,
        )
    return script.read_text()


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"Chromium not found at {CHROMIUM} (scripts/test installs Debian's chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("playwright is not installed (pip install -e '.[test]')")
    executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="chromium")

    def start() -> tuple[Any, Any]:
        playwright = sync_playwright().start()
        # --no-sandbox: CI runs as root, where Chromium's sandbox cannot start.
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-dev-shm-usage"]
        )
        return playwright, launched

    playwright, launched = executor.submit(start).result(timeout=120)
    try:
        yield Browser(executor, launched, _axe_source())
    finally:

        def stop() -> None:
            launched.close()
            playwright.stop()

        executor.submit(stop).result(timeout=60)
        executor.shutdown()


@pytest.fixture
def axe(browser: Browser) -> str:
    if browser.axe_source is None:
        pytest.skip("npm is not installed, so axe-core cannot be fetched")
    return browser.axe_source
