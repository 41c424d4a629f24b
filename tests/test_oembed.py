"""Discovery for other software: oEmbed for public posts (announced on their pages) and the
well-known URL password managers use to change a password."""

from __future__ import annotations

import html
import re
from typing import Any
from urllib.parse import quote

from tests.social import get, make_user, post
from tests.web_helpers import html_of
from wildebeest_trio.runtime import Runtime


async def test_oembed_of_a_public_post(rt: Runtime, client: Any) -> None:
    ann = await make_user(rt, client, "ann")
    hello = await post(client, ann, "Hello <embed> world")
    page = await html_of(client, f"/@ann/{hello['id']}")
    found = re.search(
        r'<link rel="alternate" type="application/json\+oembed" href="([^"]+)">', page
    )
    assert found, page[:2000]
    link = html.unescape(found.group(1))
    assert link.startswith(f"{rt.config.base_url}/api/oembed?url=")

    code, embed = await get(client, None, link.removeprefix(rt.config.base_url))
    assert code == 200
    assert embed["type"] == "rich" and embed["version"] == "1.0"
    assert embed["title"] == "New status by ann"
    assert embed["author_name"] == "ann" and embed["author_url"] == f"{rt.config.base_url}/@ann"
    assert embed["provider_name"] == rt.config.domain
    assert embed["provider_url"] == f"{rt.config.base_url}/"
    assert embed["cache_age"] == 86400 and embed["width"] == 400 and embed["height"] is None
    assert "Hello &lt;embed&gt; world" in embed["html"] and "<script" not in embed["html"]
    assert hello["url"] in embed["html"]

    # By its ActivityPub id too, with a width.
    code, embed = await get(client, None, f"/api/oembed?url={quote(hello['uri'])}&maxwidth=250")
    assert code == 200 and embed["width"] == 250

    secret = await post(client, ann, "followers only", visibility="private")
    for url in (
        secret["url"],
        f"{rt.config.base_url}/@ann/999",
        f"{rt.config.base_url}/@nobody/{hello['id']}",
        "https://elsewhere.example/@ann/1",
        "",
        "not a url",
    ):
        code, body = await get(client, None, f"/api/oembed?url={quote(url)}")
        assert code == 404 and "error" in body, url
    code, body = await get(client, None, "/api/oembed")
    assert code == 404


async def test_change_password_is_a_redirect(rt: Runtime, client: Any) -> None:
    response = await client.get("/.well-known/change-password")
    assert response.status_code == 301
    assert response.headers["Location"].endswith("/settings/account")


async def test_async_refreshes_are_never_pending(rt: Runtime, client: Any) -> None:
    ann = await make_user(rt, client, "ann")
    code, body = await get(client, ann, "/api/v1_alpha/async_refreshes/abc123")
    assert code == 404 and body == {"error": "Record not found"}
    assert (await client.get("/api/v1_alpha/async_refreshes/abc123")).status_code == 401
