"""The settings page follows a running import in a real browser (Debian's Chromium through
Playwright): its counts change and the failed rows appear without the page reloading."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import Browser
from tests.browser.test_browser_flows import submit
from tests.browser.test_web_app_browser import WAIT_MS, _sign_in
from tests.conftest import free_port
from tests.fakes.peers import Instance, peer_config
from tests.social import make_user
from wildebeest_trio.services import imports

pytest_plugins = ("tests.fakes.fixtures",)


@pytest.fixture
def config(tmp_path: Path, database_url: str) -> Any:
    return peer_config(tmp_path, database_url)


def watch_an_import(browser: Any, env: dict[str, Any]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    context = browser.new_context(base_url=env["base"])
    context.set_default_timeout(WAIT_MS)
    page = context.new_page()
    try:
        _sign_in(page, env["base"], "alice")
        page.goto("/settings/export")
        page.select_option("#type", "following")
        page.set_input_files("#file", str(env["csv"]))
        submit(page, "form[action='/settings/import'] button[type=submit]")
        seen["started"] = page.inner_text("table.imports tbody tr")
        # Marked on this page: a reload would lose it.
        page.evaluate("document.body.dataset.stayed = 'yes'")
        page.wait_for_selector("table.imports td.state:text-is('finished')", timeout=WAIT_MS)
        seen["stayed"] = page.get_attribute("body", "data-stayed")
        page.wait_for_selector("table.imports summary:has-text('What failed')", timeout=WAIT_MS)
        seen["finished"] = page.text_content("table.imports")  # the details are closed
        seen["polled"] = page.get_attribute("body", "data-import-polled")
    finally:
        context.close()
    return seen


async def test_import_progress_updates_in_place(
    a: Instance, browser: Browser, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The gone server's row is tried again a few seconds later, then fails: the import
    # runs while the page is open.
    monkeypatch.setattr(imports, "RETRY_DELAYS", (4.0,))
    await make_user(a.rt, a.client, "alice")
    await make_user(a.rt, a.client, "carol")
    gone = f"127.0.0.1:{free_port()}"
    csv = tmp_path / "follows.csv"
    csv.write_text(f"carol@{a.host}\nsomeone@{gone}\n")
    env = {"base": a.rt.config.base_url, "csv": csv}
    seen = await browser.run(watch_an_import, env)
    assert "running" in seen["started"], seen["started"]
    assert seen["stayed"] == "yes"
    assert int(seen["polled"]) >= 1
    assert f"someone@{gone}" in seen["finished"] and "Server unreachable" in seen["finished"]
