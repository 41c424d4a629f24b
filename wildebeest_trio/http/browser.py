"""Browser plumbing shared by the HTML pages: session cookie, CSRF, rendering."""

from __future__ import annotations

import hmac
import secrets
from typing import Any
from urllib.parse import urlsplit

from quart import Response, g, render_template, request

from ..services import instance as instance_service
from ..services import sessions
from ..services.types import Row
from .auth import client_ip
from .context import runtime
from .errors import ApiError
from .proxy import over_https

SESSION_COOKIE = "wb_session"
CSRF_COOKIE = "wb_csrf"
# No script source at all: the pages need no JavaScript. Media may come from remote servers.
CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self' https: data:; "
    "media-src 'self' https:; frame-ancestors 'none'; base-uri 'none'"
)


async def signed_in() -> Row | None:
    """The account whose browser session made this request, if any."""
    if "web_account" not in g:
        g.web_account = await sessions.session_account(
            runtime(), request.cookies.get(SESSION_COOKIE), client_ip()
        )
    return g.web_account  # type: ignore[no-any-return]


def csrf_token() -> str:
    """This browser's CSRF token (double submit: cookie and form field must match)."""
    if "csrf" not in g:
        g.csrf = request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(24)
    return g.csrf  # type: ignore[no-any-return]


def check_csrf(form: Any) -> None:
    """Refuse a form post whose token does not match the cookie (a cross-site forgery)."""
    cookie = request.cookies.get(CSRF_COOKIE, "")
    field = form.get("csrf_token", "")
    if not cookie or not field or not hmac.compare_digest(cookie, field):
        raise ApiError(403, "Invalid or missing CSRF token; reload the page and try again")


def forced_login(source: Any) -> bool:
    """`force_login=true`: the app asks for the sign-in form even when someone is signed in."""
    return str(source.get("force_login", "")).lower() in ("1", "true", "on", "yes")


def _secure() -> bool:
    """Whether cookies are marked Secure: the site is https, or this request came over TLS."""
    return runtime().config.scheme == "https" or over_https()


def finish(response: Response) -> Response:
    """Attach the CSRF cookie and the security headers every page carries."""
    if "csrf" in g and request.cookies.get(CSRF_COOKIE) != g.csrf:
        response.set_cookie(
            CSRF_COOKIE, g.csrf, httponly=True, samesite="Lax", secure=_secure(), path="/"
        )
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Cache-Control"] = "no-store"
    return response


async def page(template: str, status: int = 200, **context: Any) -> Response:
    if "viewer" not in context:
        context["viewer"] = await signed_in()
    site = await instance_service.site(runtime())
    html = await render_template(
        template, instance_title=site.title, csrf_token=csrf_token(), **context
    )
    return finish(Response(html, status=status, content_type="text/html; charset=utf-8"))


def set_session_cookie(response: Response, token: str) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        httponly=True,
        samesite="Lax",
        secure=_secure(),
        path="/",
        max_age=365 * 24 * 3600,
    )


async def start_browser_session(response: Response, account_id: int) -> Response:
    """Sign this browser in as `account_id`: a new session (ending the one the browser
    had, if any) and its cookie on `response`."""
    token = await sessions.start_session(
        runtime(),
        account_id,
        request.headers.get("User-Agent", ""),
        client_ip(),
        replacing=request.cookies.get(SESSION_COOKIE),
    )
    set_session_cookie(response, token)
    return response


def clear_session_cookie(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/")


def safe_next(target: str | None) -> str:
    """A post-login redirect target on this site only (no open redirect)."""
    if not target:
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return "/"
    if "\\" in target or any(ord(c) < 32 for c in target):
        return "/"
    return target


def redirect(location: str, status: int = 302) -> Response:
    response = Response("", status=status)
    response.headers["Location"] = location
    return finish(response)
