"""The web site in a real browser (Debian's Chromium through Playwright): a newcomer
signs up, logs in, authorizes an app, edits their profile, reads a thread and follows a
remote account; an admin approves a sign-up, resolves a report and blocks a domain.

Every page visited is also checked at phone and desktop widths (no horizontal overflow,
no broken image, a screenshot kept) and with axe-core (no serious or critical issue).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
from PIL import Image

from tests.browser.conftest import Browser
from tests.social import PASSWORD, make_user, post
from tests.web_helpers import local_user
from wildebeest_trio.ids import now_ms
from wildebeest_trio.runtime import Runtime
from wildebeest_trio.services.accounts import create_local_account
from wildebeest_trio.store import Connection
from wildebeest_trio.store import reports as report_rows

WIDTHS = (390, 1280)
AXE_RUN = """async () => {
  const result = await axe.run(document, {resultTypes: ["violations"]});
  return result.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 3).map(n => n.target.join(" ")),
  }));
}"""
IMAGES_LOADED = """async () => {
  await Promise.all(Array.from(document.images).map(img => {
    img.loading = "eager";
    return img.complete ? null : new Promise(done => { img.onload = img.onerror = done; });
  }));
  return Array.from(document.images).filter(img => img.naturalWidth === 0).map(img => img.src);
}"""


def check_page(page: Any, name: str, shots: Path, axe: str) -> None:
    """The page fits phone and desktop widths, shows every image, and passes axe-core."""
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        broken = page.evaluate(IMAGES_LOADED)
        assert broken == [], f"{name} at {width}px: broken images {broken}"
        overflow = page.evaluate("[document.scrollingElement.scrollWidth, window.innerWidth]")
        assert overflow[0] <= overflow[1], f"{name} at {width}px overflows: {overflow}"
        page.screenshot(path=str(shots / f"{name}-{width}.png"), full_page=True)
    page.evaluate(axe)
    for scheme in ("light", "dark"):
        # Both colour schemes: contrast is checked in each.
        page.emulate_media(color_scheme=scheme)
        violations = page.evaluate(AXE_RUN)
        serious = [v for v in violations if v["impact"] in ("serious", "critical")]
        assert serious == [], f"{name} ({scheme}): {json.dumps(serious, indent=1)}"
    page.emulate_media(color_scheme="light")


def _png_file(folder: Path) -> Path:
    path = folder / "avatar.png"
    Image.new("RGB", (200, 200), (220, 120, 40)).save(path, "PNG")
    return path


async def _remote_account(conn: Connection, account_id: int) -> None:
    now = now_ms()
    await conn.execute(
        "INSERT INTO accounts (id, username, domain, uri, url, inbox_url, display_name, note, "
        "created_at, updated_at) VALUES ($1, 'rita', 'remote.example', "
        "'https://remote.example/users/rita', 'https://remote.example/@rita', "
        "'https://remote.example/users/rita/inbox', 'Rita Remote', '<p>far away</p>', $2, $2)",
        account_id,
        now,
    )


def submit(page: Any, selector: str) -> None:
    """Click a form's button and wait until the page it leads to has loaded.

    Reading the page straight after a click races the navigation the click
    started: under load the old page is already gone and the new one empty.
    """
    with page.expect_navigation():
        page.click(selector)


def newcomer_flow(
    browser: Any, base: str, client_id: str, thread_path: str, shots: Path, axe: str, avatar: Path
) -> dict[str, Any]:
    context = browser.new_context(base_url=base)
    page = context.new_page()
    seen: dict[str, Any] = {}
    try:
        page.goto("/")
        check_page(page, "home", shots, axe)
        page.goto("/public/local")
        check_page(page, "local-timeline", shots, axe)
        # Sign up (registrations are open: the account is ready at once).
        page.goto("/auth/sign_up")
        check_page(page, "sign-up", shots, axe)
        page.fill("#username", "newbie")
        page.fill("#email", "newbie@example.org")
        page.fill("#password", "a long enough password")
        page.check("input[name=agreement]")
        submit(page, "button[type=submit] >> text=Sign up")
        assert "Your account is ready" in page.content()
        # Log in.
        page.goto("/auth/sign_in")
        check_page(page, "sign-in", shots, axe)
        page.fill("#email", "newbie@example.org")
        page.fill("#password", "a long enough password")
        page.click("form.card button[type=submit]")
        page.wait_for_url(f"{base}/")
        assert "Signed in as" in page.content()
        # Authorize an app (out-of-band redirect: the code is shown).
        page.goto(
            f"/oauth/authorize?client_id={client_id}&response_type=code&scope=read"
            "&redirect_uri=urn:ietf:wg:oauth:2.0:oob"
        )
        check_page(page, "authorize", shots, axe)
        submit(page, "button[value=approve]")
        seen["code"] = page.input_value("#code")
        # Edit the profile, with an avatar.
        page.goto("/settings/profile")
        check_page(page, "settings-profile", shots, axe)
        page.fill("#display_name", "New Bie")
        page.fill("#note", "Hello, I am new here")
        page.fill("#field-name-0", "Site")
        page.fill("#field-value-0", "https://newbie.example")
        page.set_input_files("#avatar", str(avatar))
        submit(page, "text=Save profile")
        assert "Your profile was saved" in page.content()
        page.goto("/@newbie")
        check_page(page, "profile", shots, axe)
        seen["avatar"] = page.get_attribute("img.avatar.big", "src")
        assert "New Bie" in page.content()
        # Read a thread.
        page.goto(thread_path)
        check_page(page, "thread", shots, axe)
        seen["thread"] = page.inner_text("main")
        # Follow a remote account from its profile page.
        page.goto("/@rita@remote.example")
        check_page(page, "remote-profile", shots, axe)
        # The page script sends the form in the background and updates the page in place.
        page.click("button >> text=Follow")
        page.wait_for_selector(
            "button:has-text('Cancel follow request'), button:has-text('Unfollow')"
        )
        seen["after_follow"] = page.inner_text("main")
        for path, name in (
            ("/settings/account", "settings-account"),
            ("/settings/export", "settings-export"),
        ):
            page.goto(path)
            check_page(page, name, shots, axe)
    finally:
        context.close()
    return seen


async def test_newcomer_in_a_browser(
    rt: Runtime, client: Any, live_server: str, browser: Browser, axe: str, tmp_path: Path
) -> None:
    alice = await make_user(rt, client, "alice")
    bob = await make_user(rt, client, "bob")
    root = await post(client, alice, "Who wants to talk about #meadows?")
    answer = await post(client, bob, "Me! Meadows are great", in_reply_to_id=root["id"])
    await post(
        client, alice, "Followers only, psst", in_reply_to_id=answer["id"], visibility="private"
    )
    await rt.store.write(_remote_account, rt.ids.next_id())
    async with httpx.AsyncClient(base_url=live_server) as http:
        app = (
            await http.post(
                "/api/v1/apps",
                data={
                    "client_name": "Browser test app",
                    "redirect_uris": "urn:ietf:wg:oauth:2.0:oob",
                    "scopes": "read",
                },
            )
        ).json()
    shots = tmp_path / "screenshots"
    shots.mkdir()
    seen = await browser.run(
        newcomer_flow,
        live_server,
        app["client_id"],
        f"/@bob/{answer['id']}",
        shots,
        axe,
        _png_file(tmp_path),
    )
    assert len(seen["code"]) > 20
    assert "/system/" in seen["avatar"]
    assert "Who wants to talk" in seen["thread"] and "Meadows are great" in seen["thread"]
    assert "Followers only" not in seen["thread"]
    assert "Cancel follow request" in seen["after_follow"] or "Unfollow" in seen["after_follow"]
    newbie = await rt.store.read(
        lambda conn: conn.fetchrow(
            "SELECT id, display_name, avatar_key FROM accounts WHERE username = 'newbie'"
        )
    )
    assert newbie["display_name"] == "New Bie" and newbie["avatar_key"]
    follows = await rt.store.read(
        lambda conn: conn.fetchval(
            "SELECT (SELECT COUNT(*) FROM follows WHERE account_id = $1) + "
            "(SELECT COUNT(*) FROM follow_requests WHERE account_id = $1)",
            newbie["id"],
        )
    )
    assert follows == 1
    assert len(list(shots.glob("*.png"))) == 2 * 11  # eleven pages, two widths each


def admin_flow(browser: Any, base: str, report_id: int, shots: Path, axe: str) -> dict[str, str]:
    context = browser.new_context(base_url=base)
    page = context.new_page()
    seen: dict[str, str] = {}
    try:
        page.goto("/auth/sign_in")
        page.fill("#email", "boss@example.org")
        page.fill("#password", PASSWORD)
        page.click("form.card button[type=submit]")
        page.wait_for_url(f"{base}/")
        page.goto("/admin")
        check_page(page, "admin", shots, axe)
        page.goto("/admin/sign_ups")
        check_page(page, "admin-sign-ups", shots, axe)
        submit(page, "text=Approve @waiting")
        seen["sign_ups"] = page.inner_text("main")
        page.goto("/admin/reports")
        check_page(page, "admin-reports", shots, axe)
        submit(page, f"text=Resolve report {report_id}")
        seen["reports"] = page.inner_text("main")
        page.goto("/admin/domain_blocks")
        check_page(page, "admin-domain-blocks", shots, axe)
        page.fill("#domain", "spam.example")
        page.select_option("#severity", "suspend")
        page.fill("#public_comment", "Spam source")
        submit(page, "text=Block domain")
        seen["blocks"] = page.inner_text("main")
        for path, name in (
            ("/admin/accounts", "admin-accounts"),
            ("/admin/settings", "admin-settings"),
            ("/admin/jobs", "admin-jobs"),
            ("/admin/announcements", "admin-announcements"),
            ("/admin/custom_emojis", "admin-emoji"),
            ("/admin/webhooks", "admin-webhooks"),
            ("/admin/relays", "admin-relays"),
        ):
            page.goto(path)
            check_page(page, name, shots, axe)
    finally:
        context.close()
    return seen


async def test_admin_in_a_browser(
    rt: Runtime, client: Any, live_server: str, browser: Browser, axe: str, tmp_path: Path
) -> None:
    await local_user(rt, "boss", role="admin")
    waiting = await create_local_account(
        rt,
        "waiting",
        "waiting@example.org",
        password=PASSWORD,
        approved=False,
        sign_up_reason="I would like to join",
    )
    alice = await make_user(rt, client, "alice")
    troll = await make_user(rt, client, "troll")
    status = await post(client, troll, "spam spam spam")
    report_id = rt.ids.next_id()
    await rt.store.write(
        report_rows.insert,
        {
            "id": report_id,
            "account_id": int(alice.id),
            "target_account_id": int(troll.id),
            "status_ids": [status["id"]],
            "comment": "This is spam",
            "category": "spam",
            "now": now_ms(),
        },
    )
    shots = tmp_path / "screenshots"
    shots.mkdir()
    seen = await browser.run(admin_flow, live_server, report_id, shots, axe)
    assert "The sign-up was approved" in seen["sign_ups"]
    assert "The report is resolved" in seen["reports"]
    assert "spam.example" in seen["blocks"]

    async def facts(conn: Connection) -> dict[str, Any]:
        return {
            "approved": await conn.fetchval(
                "SELECT approved FROM users WHERE id = $1", waiting.user_id
            ),
            "resolved": await conn.fetchval(
                "SELECT action_taken_at FROM reports WHERE id = $1", report_id
            ),
            "block": await conn.fetchval(
                "SELECT severity FROM domain_blocks WHERE domain = 'spam.example'"
            ),
        }

    found = await rt.store.read(facts)
    assert found["approved"] and found["resolved"] and found["block"] == "suspend"


def _bad_page_violations(browser: Any, axe: str) -> list[str]:
    page = browser.new_page()
    try:
        page.set_content(
            '<!DOCTYPE html><html lang="en"><title>t</title><body>'
            '<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=">'
            '<p style="color:#ccc;background:#fff">faint text</p></body></html>'
        )
        page.evaluate(axe)
        return [v["id"] for v in page.evaluate(AXE_RUN) if v["impact"] in ("serious", "critical")]
    finally:
        page.close()


async def test_the_accessibility_check_finds_problems(browser: Browser, axe: str) -> None:
    """A page with an unlabelled image and faint text fails: the check is really running."""
    found = await browser.run(_bad_page_violations, axe)
    assert "image-alt" in found and "color-contrast" in found
