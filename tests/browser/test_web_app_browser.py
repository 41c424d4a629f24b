"""A day in the web app, in a real browser (Debian's Chromium through Playwright).

With JavaScript on: sign in, read home, open a thread, favourite and boost it in place,
reply with an image and its alt text, edit and delete the reply, keep a draft, follow a
remote account on a second live instance through search and see its post arrive live
("1 new post"), see a favourite raise the unread count in the title, read notifications.
With JavaScript off: read, post, reply, favourite and follow through the plain forms.
Every page visited is checked at phone and desktop widths and with axe-core.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from tests.browser.conftest import Browser
from tests.browser.test_browser_flows import check_page, submit
from tests.fakes.peers import Instance, peer_config
from tests.social import PASSWORD, User, get, make_user, post
from wildebeest_trio.runtime import Runtime

pytest_plugins = ("tests.fakes.fixtures",)

WAIT_MS = 30_000


@pytest.fixture
def config(tmp_path: Path, database_url: str) -> Any:
    return peer_config(tmp_path, database_url)


def _sign_in(page: Any, base: str, name: str) -> None:
    page.goto("/auth/sign_in")
    page.fill("#email", f"{name}@example.org")
    page.fill("#password", PASSWORD)
    page.click("form.card button[type=submit]")
    page.wait_for_url(f"{base}/")


@contextmanager
def signed_in_page(browser: Any, base: str, name: str) -> Iterator[Any]:
    """A fresh browser context with a page signed in as `name`; closed after."""
    context = browser.new_context(base_url=base)
    context.set_default_timeout(WAIT_MS)
    page = context.new_page()
    try:
        _sign_in(page, base, name)
        yield page
    finally:
        context.close()


def _photo(folder: Path) -> Path:
    path = folder / "meadow.jpg"
    Image.new("RGB", (320, 200), (60, 140, 70)).save(path, "JPEG")
    return path


def scripted_day(browser: Any, env: dict[str, Any]) -> dict[str, Any]:
    base, shots, axe = env["base"], env["shots"], env["axe"]
    seen: dict[str, Any] = {}
    with signed_in_page(browser, base, "alice") as page:
        page.goto("/home")
        page.wait_for_selector("body[data-live=open]", timeout=WAIT_MS)
        check_page(page, "app-home", shots, axe)
        # A thread: favourite and boost update the post in place (no navigation).
        page.goto(env["thread"])
        check_page(page, "app-thread", shots, axe)
        card = f"#s-{env['root_id']}"
        url = page.url
        page.click(f"{card} button:has-text('Favourite 0')")
        page.wait_for_selector(f"{card} button:has-text('Unfavourite 1')", timeout=WAIT_MS)
        page.click(f"{card} button:has-text('Boost 0')")
        page.wait_for_selector(f"{card} button:has-text('Unboost 1')", timeout=WAIT_MS)
        seen["stayed"] = page.url == url
        seen["focused"] = page.evaluate("document.activeElement.textContent")
        # Reply with an image and its alt text; the count follows the typing.
        with page.expect_navigation():
            page.click(f"{card} a:has-text('Reply')")
        check_page(page, "app-reply", shots, axe)
        page.fill("#status", "@carol Meadows are lovely")
        seen["count"] = page.inner_text("#status-count")
        page.click("summary:has-text('Attach media')")
        page.set_input_files("#media", str(env["photo"]))
        page.fill("#alt_0", "A green meadow")
        submit(page, "form.compose button[type=submit]")
        seen["reply_url"] = page.url
        seen["reply_alt"] = page.get_attribute(
            "main article.status.main .media img:not(.blur)", "alt"
        )
        # Edit the reply, then delete it (in place).
        reply = page.locator("main article.status.main")
        reply.locator("summary:has-text('More')").click()
        with page.expect_navigation():
            reply.locator("a:has-text('Edit')").click()
        check_page(page, "app-edit", shots, axe)
        page.fill("#status", "@carol Meadows are wonderful")
        submit(page, "form.compose button[type=submit]")
        seen["edited"] = page.inner_text("main article.status.main .content")
        reply = page.locator("main article.status.main")
        reply.locator("summary:has-text('More')").click()
        reply.locator("button:has-text('Delete')").click()
        page.wait_for_selector("main article.status.main", state="detached", timeout=WAIT_MS)
        # A draft survives leaving the page.
        page.goto("/home")
        page.fill("#status", "an unsent thought")
        page.reload()
        seen["draft"] = page.input_value("#status")
        # Follow bob on the other server, found through search.
        page.goto(f"/search?q=@bob@{env['b_host']}")
        check_page(page, "app-search", shots, axe)
        with page.expect_navigation():
            page.click(f"main a[href='/@bob@{env['b_host']}']")
        page.click("button:has-text('Follow')")
        page.wait_for_selector(
            "button:has-text('Cancel follow request'), button:has-text('Unfollow')",
            timeout=WAIT_MS,
        )
        check_page(page, "app-remote-profile", shots, axe)
        for _ in range(120):
            page.reload()
            if page.locator("button:has-text('Unfollow')").count():
                break
            page.wait_for_timeout(250)
        # His next post arrives while home is open: offered, not pushed into the page.
        page.goto("/home")
        page.wait_for_selector("body[data-live=open]", timeout=WAIT_MS)
        httpx.post(
            f"{env['b_base']}/api/v1/statuses",
            headers=env["bob_headers"],
            json={"status": "Hello from the other server"},
        ).raise_for_status()
        page.wait_for_selector("#new-posts:has-text('1 new post')", timeout=WAIT_MS)
        page.click("#new-posts")
        page.wait_for_selector("text=Hello from the other server", timeout=WAIT_MS)
        # A favourite of her post counts in the title at once.
        httpx.post(
            f"{base}/api/v1/statuses/{env['alice_post']}/favourite",
            headers=env["carol_headers"],
        ).raise_for_status()
        # Polled from here: a string predicate would be eval'd in the page, which its CSP refuses.
        for _ in range(WAIT_MS // 100):
            if page.title().startswith("("):
                break
            page.wait_for_timeout(100)
        seen["title"] = page.title()
        page.goto("/notifications")
        check_page(page, "app-notifications", shots, axe)
        seen["notifications"] = page.inner_text("main")
        seen["title_after"] = page.title()
    return seen


async def test_a_day_in_the_web_app(
    a: Instance, b: Instance, browser: Browser, axe: str, tmp_path: Path
) -> None:
    alice = await make_user(a.rt, a.client, "alice")
    carol = await make_user(a.rt, a.client, "carol")
    bob = await make_user(b.rt, b.client, "bob")
    root = await post(a.client, carol, "Who likes #meadows?")
    mine = await post(a.client, alice, "My own post")
    shots = tmp_path / "screenshots"
    shots.mkdir()
    env = {
        "base": a.rt.config.base_url,
        "b_base": b.rt.config.base_url,
        "b_host": b.host,
        "shots": shots,
        "axe": axe,
        "thread": f"/@carol/{root['id']}",
        "root_id": root["id"],
        "photo": _photo(tmp_path),
        "bob_headers": bob.headers,
        "carol_headers": carol.headers,
        "alice_post": mine["id"],
    }
    seen = await browser.run(scripted_day, env)
    assert seen["stayed"]
    assert seen["focused"].strip() == "Unboost 1"
    assert seen["count"] == "475 characters left"
    assert seen["reply_alt"] == "A green meadow"
    assert "wonderful" in seen["edited"]
    assert seen["draft"] == "an unsent thought"
    assert seen["title"].startswith("(1) ")
    assert "favourited your post" in seen["notifications"]
    assert not seen["title_after"].startswith("(")
    _, root_now = await get(a.client, alice, f"/api/v1/statuses/{root['id']}")
    assert root_now["favourited"] and root_now["reblogged"]
    reply_id = seen["reply_url"].rsplit("/", 1)[1]
    assert (await get(a.client, alice, f"/api/v1/statuses/{reply_id}"))[0] == 404


def scriptless_day(browser: Any, env: dict[str, Any]) -> dict[str, Any]:
    # No axe check here: it is a script, which this context cannot run (the same pages
    # are checked with the script on).
    base = env["base"]
    seen: dict[str, Any] = {}
    context = browser.new_context(base_url=base, java_script_enabled=False)
    context.set_default_timeout(WAIT_MS)
    page = context.new_page()
    try:
        _sign_in(page, base, "alice")
        page.goto("/home")
        seen["home"] = page.inner_text("main")
        page.fill("#status", "Posted without any script")
        submit(page, "form.compose button[type=submit]")
        seen["posted"] = page.inner_text("main")
        page.goto(env["thread"])
        card = f"#s-{env['root_id']}"
        submit(page, f"{card} button:has-text('Favourite 0')")
        seen["favourited"] = page.inner_text(card)
        with page.expect_navigation():
            page.click(f"{card} a:has-text('Reply')")
        page.fill("#status", "@carol A scriptless reply")
        submit(page, "form.compose button[type=submit]")
        page.goto(env["thread"])
        seen["thread"] = page.inner_text("main")
        page.goto("/@carol")
        submit(page, "button:has-text('Follow')")
        seen["profile"] = page.inner_text("main")
    finally:
        context.close()
    return seen


async def test_the_core_without_javascript(
    rt: Runtime, client: Any, live_server: str, browser: Browser
) -> None:
    alice: User = await make_user(rt, client, "alice")
    carol = await make_user(rt, client, "carol")
    root = await post(client, carol, "Anyone without scripts here?")
    env = {
        "base": live_server,
        "thread": f"/@carol/{root['id']}",
        "root_id": root["id"],
    }
    seen = await browser.run(scriptless_day, env)
    assert "Your post was published." in seen["posted"]
    assert "Posted without any script" in seen["posted"]
    assert "Unfavourite 1" in seen["favourited"]
    assert "A scriptless reply" in seen["thread"]
    assert "Unfollow" in seen["profile"]
    _, rel = await get(client, alice, f"/api/v1/accounts/relationships?id[]={carol.id}")
    assert rel[0]["following"]
