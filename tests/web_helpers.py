"""Helpers for the web page tests: strict HTML parsing, signed-in browsers, form posts."""

from __future__ import annotations

from typing import Any

import html5lib

from tests.oauth_flow import csrf_from, sign_in
from tests.social import PASSWORD
from wildebeest_trio.runtime import Runtime
from wildebeest_trio.services.accounts import create_local_account
from wildebeest_trio.store import users as user_rows


def strict_parse(html: str) -> None:
    """Fail on any HTML5 parse error (html5lib's strict mode)."""
    html5lib.HTMLParser(strict=True).parse(html)


async def html_of(client: Any, path: str, status: int = 200, **kwargs: Any) -> str:
    """GET a page, check its status and security headers, parse it strictly; its HTML."""
    response = await client.get(path, **kwargs)
    body = await response.get_data(as_text=True)
    assert response.status_code == status, (path, response.status_code, body[:500])
    assert response.content_type.startswith("text/html")
    csp = response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
    # Scripts from this site only: no inline script, no other origin.
    assert "script-src 'self';" in csp and "unsafe-eval" not in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"]
    strict_parse(body)
    return body


async def local_user(rt: Runtime, name: str, role: str = "user") -> int:
    """A local account with the test password (and a role); its account id."""
    created = await create_local_account(rt, name, f"{name}@example.org", password=PASSWORD)
    if role != "user":
        from wildebeest_trio.ids import now_ms

        await rt.store.write(user_rows.set_standing, created.user_id, now=now_ms(), role=role)
    return created.account_id


async def log_in(client: Any, name: str) -> None:
    """Sign the test client's browser in as `name`."""
    client.cookie_jar.clear()
    response = await sign_in(client, f"{name}@example.org", PASSWORD)
    assert response.status_code == 302, await response.get_data(as_text=True)


async def submit(
    client: Any, page_path: str, action: str, form: dict[str, str], **kwargs: Any
) -> Any:
    """Load `page_path` for its CSRF token, then POST `form` to `action`."""
    html = await (await client.get(page_path)).get_data(as_text=True)
    return await client.post(action, form={"csrf_token": csrf_from(html), **form}, **kwargs)
