"""Real clients against a live server: Mastodon.py and toot log in, look, and edit."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
import trio

from tests.oauth_flow import csrf_from, pkce_pair
from wildebeest_trio.runtime import Runtime
from wildebeest_trio.services.accounts import create_local_account

PASSWORD = "correct horse battery"


def _complete_login_in_browser(url: str, email: str) -> str:
    """Follow an authorize URL like a person: log in, approve, read the OOB code."""
    with httpx.Client(follow_redirects=True, timeout=30) as browser:
        page = browser.get(url)
        assert "/auth/sign_in" in str(page.url)
        page = browser.post(
            str(page.url.copy_with(query=None)),
            data={
                "email": email,
                "password": PASSWORD,
                "csrf_token": csrf_from(page.text),
                "next": page.url.params["next"],
            },
        )
        assert "Authorize" in page.text, page.text
        form = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', page.text))
        form["decision"] = "approve"
        done = browser.post(str(page.url.copy_with(query=None)), data=form)
        match = re.search(r'id="code" class="code" readonly value="([^"]+)"', done.text)
        assert match, done.text
        return match.group(1)


def _mastodon_py_session(base: str, email: str, avatar: bytes | None) -> dict[str, Any]:
    from mastodon import Mastodon

    client_id, client_secret = Mastodon.create_app(
        "pytest-mastodon.py", api_base_url=base, scopes=["read", "write", "follow", "push"]
    )
    api = Mastodon(
        client_id=client_id,
        client_secret=client_secret,
        api_base_url=base,
        version_check_mode="none",
    )
    url = api.auth_request_url(scopes=["read", "write", "follow", "push"], allow_http=True)
    code = _complete_login_in_browser(url, email)
    api.log_in(code=code, scopes=["read", "write", "follow", "push"], allow_http=True)
    me = api.account_verify_credentials()
    # Mastodon.py has no PKCE of its own: add the challenge to the URL it builds and
    # exchange the code with the verifier, then hand Mastodon.py the token.
    verifier, challenge = pkce_pair()
    url = api.auth_request_url(scopes=["read", "write"], allow_http=True)
    url += "&" + urlencode({"code_challenge": challenge, "code_challenge_method": "S256"})
    code = _complete_login_in_browser(url, email)
    exchanged = httpx.post(
        f"{base}/oauth/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "client_id": client_id,
            "client_secret": client_secret,
            "redirect_uri": "urn:ietf:wg:oauth:2.0:oob",
            "code_verifier": verifier,
        },
    ).json()
    pkce_api = Mastodon(
        access_token=exchanged["access_token"], api_base_url=base, version_check_mode="none"
    )
    assert pkce_api.account_verify_credentials()["id"] == me["id"]
    updated = api.account_update_credentials(
        display_name="Py Thon",
        note="Written by Mastodon.py",
        fields=[("Lang", "Python")],
        avatar=avatar,
        avatar_mime_type="image/png" if avatar else None,
    )
    instance = api.instance()
    again = api.account(me["id"])
    return {
        "me": me,
        "updated": updated,
        "instance": instance,
        "again": again,
        "version": api.retrieve_mastodon_version(),
    }


async def test_mastodon_py_logs_in_and_edits_profile(rt: Runtime, live_server: str) -> None:
    await create_local_account(rt, "pyuser", "py@example.org", password=PASSWORD)
    import io

    from PIL import Image

    png = io.BytesIO()
    Image.new("RGB", (640, 480), (10, 120, 200)).save(png, "PNG")
    result = await trio.to_thread.run_sync(
        _mastodon_py_session, live_server, "py@example.org", png.getvalue()
    )
    assert result["me"]["username"] == "pyuser"
    assert result["updated"]["display_name"] == "Py Thon"
    assert result["updated"]["source"]["note"] == "Written by Mastodon.py"
    assert result["updated"]["fields"][0]["name"] == "Lang"
    assert result["again"]["display_name"] == "Py Thon"
    assert "/system/avatars/" in result["updated"]["avatar"]
    assert result["instance"].get("domain", result["instance"].get("uri")) == rt.config.domain
    assert result["version"] == "4.5.0"


async def test_toot_logs_in_and_whoami(rt: Runtime, live_server: str, tmp_path: Path) -> None:
    await create_local_account(rt, "tootuser", "toot@example.org", password=PASSWORD)
    env = {**os.environ, "XDG_CONFIG_HOME": str(tmp_path)}
    toot = [sys.executable, "-m", "toot"]
    login = await trio.run_process(
        [
            *toot,
            "login_cli",
            "--instance",
            live_server,
            "--email",
            "toot@example.org",
            "--password",
            PASSWORD,
        ],
        env=env,
        capture_stdout=True,
        capture_stderr=True,
        check=False,
    )
    assert login.returncode == 0, login.stderr.decode() + login.stdout.decode()
    whoami = await trio.run_process(
        [*toot, "whoami"], env=env, capture_stdout=True, capture_stderr=True, check=False
    )
    assert whoami.returncode == 0, whoami.stderr.decode()
    assert "@tootuser" in whoami.stdout.decode()


@pytest.mark.parametrize("body", ["json", "form"])
async def test_elk_style_json_registration(live_server: str, body: str) -> None:
    payload = {
        "client_name": "Elk",
        "scopes": "read write follow push",
        "redirect_uris": "https://elk.zone/api/oauth/callback",
        "website": "https://elk.zone",
    }
    async with httpx.AsyncClient(base_url=live_server) as client:
        kwargs: dict[str, Any] = {"json": payload} if body == "json" else {"data": payload}
        response = await client.post(
            "/api/v1/apps", **kwargs, headers={"Origin": "https://elk.zone"}
        )
        assert response.status_code == 200
        assert response.headers["access-control-allow-origin"] == "*"
        app = response.json()
        assert app["client_id"] and app["client_secret"] and app["vapid_key"]
