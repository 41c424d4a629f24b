"""Security keys in a real browser: Chromium's virtual authenticator (through the DevTools
protocol) stands in for a key. Add one, log out, log in with it, be refused without it,
remove it; every page checked at both widths and with axe-core.

WebAuthn refuses an IP address as the relying party, so this server is `localhost`.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pyotp
import pytest

from tests.browser.conftest import Browser
from tests.browser.test_browser_flows import check_page, submit
from tests.conftest import free_port, make_config
from tests.social import PASSWORD, make_user
from tests.test_webauthn import turn_on_totp
from wildebeest_trio.config import Config
from wildebeest_trio.runtime import Runtime

WAIT_MS = 30_000
VIRTUAL_KEY = {
    "protocol": "ctap2",
    "transport": "usb",
    "hasResidentKey": False,
    "hasUserVerification": True,
    "isUserVerified": True,
    "automaticPresenceSimulation": True,
}


@pytest.fixture
def config(tmp_path: Path, database_url: str) -> Config:
    port = free_port()
    return make_config(
        tmp_path,
        database_url,
        listen=f"127.0.0.1:{port}",
        domain=f"localhost:{port}",
        scheme="http",
    )


def _password_step(page: Any, code: str | None = None) -> None:
    page.goto("/auth/sign_in")
    page.fill("#email", "alice@example.org")
    page.fill("#password", PASSWORD)
    submit(page, "form.card button[type=submit]")
    assert "/auth/two_factor" in page.url
    if code is not None:
        page.fill("#code", code)
        submit(page, "button:has-text('Log in')")


def _log_out(page: Any) -> None:
    submit(page, "button:has-text('Log out')")


def key_flow(browser: Any, env: dict[str, Any]) -> dict[str, Any]:
    base, shots, axe = env["base"], env["shots"], env["axe"]
    seen: dict[str, Any] = {}
    context = browser.new_context(base_url=base)
    context.set_default_timeout(WAIT_MS)
    page = context.new_page()
    devtools = context.new_cdp_session(page)
    devtools.send("WebAuthn.enable", {"enableUI": False})
    authenticator = devtools.send("WebAuthn.addVirtualAuthenticator", {"options": VIRTUAL_KEY})[
        "authenticatorId"
    ]
    try:
        # The next step's code: the one of this step went to turning two-factor on.
        _password_step(page, pyotp.TOTP(env["secret"]).at(time.time() + 30))
        page.goto("/settings/security_keys")
        check_page(page, "keys-empty", shots, axe)
        page.fill("#nickname", "Virtual key")
        submit(page, "button:has-text('Add security key')")
        seen["added"] = page.inner_text("main")
        check_page(page, "keys-one", shots, axe)
        seen["on_key"] = len(
            devtools.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})[
                "credentials"
            ]
        )
        # Log out, then in with the key.
        _log_out(page)
        _password_step(page)
        check_page(page, "two-factor-key", shots, axe)
        submit(page, "button:has-text('Use security key')")
        seen["signed_in_at"] = page.url
        seen["signed_in"] = page.locator("button:has-text('Log out')").count()
        # Without the key (its credential gone from the authenticator): refused.
        _log_out(page)
        held = devtools.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})
        devtools.send("WebAuthn.clearCredentials", {"authenticatorId": authenticator})
        _password_step(page)
        page.click("button:has-text('Use security key')")
        page.wait_for_selector(".webauthn-status:has-text('did not answer')", timeout=WAIT_MS)
        seen["refused_status"] = page.inner_text(".webauthn-status")
        seen["still_at"] = page.url
        # With the key back, trying again works; then the key is removed.
        for credential in held["credentials"]:
            devtools.send(
                "WebAuthn.addCredential",
                {"authenticatorId": authenticator, "credential": credential},
            )
        submit(page, "button:has-text('Use security key')")
        page.goto("/settings/security_keys")
        submit(page, "button:has-text('Remove')")
        seen["removed"] = page.inner_text("main")
        check_page(page, "keys-removed", shots, axe)
        _log_out(page)
        _password_step(page)
        seen["offered_after_removal"] = page.locator("form[data-webauthn]").count()
    finally:
        context.close()
    return seen


async def test_security_keys_in_chromium(
    rt: Runtime, client: Any, live_server: str, browser: Browser, axe: str, tmp_path: Path
) -> None:
    alice = await make_user(rt, client, "alice")
    secret = await turn_on_totp(rt, int(alice.id))
    shots = tmp_path / "screenshots"
    shots.mkdir()
    env = {
        "base": live_server,
        "shots": shots,
        "axe": axe,
        "secret": secret,
    }
    seen = await browser.run(key_flow, env)
    assert "The security key was added." in seen["added"]
    assert "Virtual key" in seen["added"]
    assert seen["on_key"] == 1
    assert seen["signed_in_at"] == f"{live_server}/" and seen["signed_in"] >= 1
    assert "did not answer" in seen["refused_status"]
    assert "/auth/two_factor" in seen["still_at"]
    assert "The security key was removed." in seen["removed"]
    assert "Virtual key" not in seen["removed"]
    assert seen["offered_after_removal"] == 0
    assert re.match(r"http://localhost:\d+$", live_server)
