"""Driving the sign-in and consent pages like a browser would (test helper)."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_from(html: str) -> str:
    match = CSRF_RE.search(html)
    assert match, "page has no CSRF token"
    return match.group(1)


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    return verifier, challenge.decode().rstrip("=")


async def register_app(
    client: Any,
    redirect_uri: str = "urn:ietf:wg:oauth:2.0:oob",
    scopes: str = "read write follow push",
) -> dict[str, Any]:
    response = await client.post(
        "/api/v1/apps",
        form={
            "client_name": "Test client",
            "redirect_uris": redirect_uri,
            "scopes": scopes,
            "website": "https://client.example",
        },
    )
    assert response.status_code == 200, await response.get_data(as_text=True)
    return await response.get_json()


async def sign_in(client: Any, email: str, password: str, target: str = "/") -> Any:
    page = await client.get("/auth/sign_in")
    token = csrf_from(await page.get_data(as_text=True))
    return await client.post(
        "/auth/sign_in",
        form={"email": email, "password": password, "csrf_token": token, "next": target},
    )


async def authorize(
    client: Any,
    app: dict[str, Any],
    *,
    scope: str = "read write follow push",
    redirect_uri: str | None = None,
    challenge: str | None = None,
    state: str = "xyz",
    decision: str = "approve",
) -> Any:
    """GET the consent page as a signed-in browser and submit it; the final response."""
    args = {
        "client_id": app["client_id"],
        "redirect_uri": redirect_uri or app["redirect_uri"],
        "response_type": "code",
        "scope": scope,
        "state": state,
    }
    if challenge:
        args.update(code_challenge=challenge, code_challenge_method="S256")
    consent = await client.get("/oauth/authorize?" + urlencode(args))
    assert consent.status_code == 200, await consent.get_data(as_text=True)
    html = await consent.get_data(as_text=True)
    form = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', html))
    form["decision"] = decision
    return await client.post("/oauth/authorize", form=form)


def code_from_redirect(response: Any) -> tuple[str, dict[str, list[str]]]:
    location = response.headers["Location"]
    query = parse_qs(urlsplit(location).query)
    return query["code"][0], query


async def token_for(
    client: Any,
    app: dict[str, Any],
    email: str,
    password: str,
    scope: str = "read write follow push",
) -> str:
    """A user token through the full authorization-code flow with PKCE."""
    await sign_in(client, email, password)
    verifier, challenge = pkce_pair()
    response = await authorize(client, app, scope=scope, challenge=challenge)
    html = await response.get_data(as_text=True)
    code = re.search(r'id="code" class="code" readonly value="([^"]+)"', html).group(1)
    token = await client.post(
        "/oauth/token",
        form={
            "grant_type": "authorization_code",
            "code": code,
            "client_id": app["client_id"],
            "client_secret": app["client_secret"],
            "redirect_uri": app["redirect_uri"],
            "code_verifier": verifier,
        },
    )
    assert token.status_code == 200, await token.get_data(as_text=True)
    return (await token.get_json())["access_token"]


async def app_only_token(client: Any, scopes: str = "read write") -> str:
    """An app-only token (`client_credentials`): no user behind it."""
    app = await register_app(client, scopes=scopes)
    response = await client.post(
        "/oauth/token",
        form={
            "grant_type": "client_credentials",
            "client_id": app["client_id"],
            "client_secret": app["client_secret"],
            "scope": scopes,
        },
    )
    assert response.status_code == 200, await response.get_data(as_text=True)
    return str((await response.get_json())["access_token"])
