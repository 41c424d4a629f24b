"""The compose box's extras in a real browser: mentions and hashtags offered while typing
(by keyboard alone), a focal point that places the cropped preview, and the blurhash shown
while an image loads. Every page checked at both widths and with axe-core."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.browser.conftest import Browser
from tests.browser.test_browser_flows import check_page, submit
from tests.browser.test_web_app_browser import _photo, signed_in_page
from tests.social import make_user, post
from wildebeest_trio.runtime import Runtime

WAIT_MS = 30_000


def compose_flow(browser: Any, env: dict[str, Any]) -> dict[str, Any]:
    base, shots, axe = env["base"], env["shots"], env["axe"]
    seen: dict[str, Any] = {}
    with signed_in_page(browser, base, "alice") as page:
        page.goto("/home")
        box = page.locator("#status")
        box.click()
        page.keyboard.type("Hello @car")
        page.wait_for_selector("#status-suggestions [role=option]", timeout=WAIT_MS)
        seen["offered"] = page.inner_text("#status-suggestions")
        seen["expanded_controls"] = box.get_attribute("aria-controls")
        check_page(page, "compose-suggestions", shots, axe)
        box.focus()
        page.keyboard.press("ArrowDown")
        seen["active"] = box.get_attribute("aria-activedescendant")
        page.keyboard.press("Enter")
        page.wait_for_selector("#status-suggestions", state="hidden", timeout=WAIT_MS)
        page.keyboard.type("do you like #mead")
        page.wait_for_selector("#status-suggestions [role=option]", timeout=WAIT_MS)
        page.keyboard.press("ArrowDown")
        page.keyboard.press("Tab")
        page.wait_for_selector("#status-suggestions", state="hidden", timeout=WAIT_MS)
        page.keyboard.type("too?")
        seen["typed"] = box.input_value()
        # Escape closes the list and leaves the text as typed.
        page.keyboard.type(" @car")
        page.wait_for_selector("#status-suggestions [role=option]", timeout=WAIT_MS)
        page.keyboard.press("Escape")
        page.wait_for_selector("#status-suggestions", state="hidden", timeout=WAIT_MS)
        seen["escaped"] = box.input_value()
        page.keyboard.press("Backspace")
        page.keyboard.press("Backspace")
        page.keyboard.press("Backspace")
        page.keyboard.press("Backspace")
        page.keyboard.press("Backspace")
        # An image with its description and focal point (top left).
        page.click("summary:has-text('Attach media')")
        page.set_input_files("#media", str(env["photo"]))
        page.fill("#alt_0", "A green meadow")
        page.fill("#focus_0", "-1,1")
        submit(page, "form.compose button[type=submit]")
        check_page(page, "compose-posted", shots, axe)
        image = page.locator("main article.status .media img:not(.blur)").first
        seen["classes"] = image.get_attribute("class")
        seen["position"] = image.evaluate("(img) => getComputedStyle(img).objectPosition")
        seen["blur"] = page.locator("main article.status .media img.blur").first.get_attribute(
            "src"
        )
        seen["main"] = page.inner_text("main")
    return seen


async def test_compose_extras_in_chromium(
    rt: Runtime, client: Any, live_server: str, browser: Browser, axe: str, tmp_path: Path
) -> None:
    await make_user(rt, client, "alice")
    carol = await make_user(rt, client, "carol")
    await post(client, carol, "Who likes #meadows?")
    shots = tmp_path / "screenshots"
    shots.mkdir()
    env = {"base": live_server, "shots": shots, "axe": axe, "photo": _photo(tmp_path)}
    seen = await browser.run(compose_flow, env)
    assert "@carol" in seen["offered"]
    assert seen["expanded_controls"] == "status-suggestions"
    assert seen["active"] == "status-suggestions-0"
    assert seen["typed"] == "Hello @carol do you like #meadows too?"
    assert seen["escaped"] == "Hello @carol do you like #meadows too? @car"
    assert "fx-0" in seen["classes"] and "fy-0" in seen["classes"]
    assert seen["position"] == "0% 0%"
    assert seen["blur"].startswith("data:image/png;base64,")
    assert "Hello @carol do you like #meadows too?" in seen["main"]
