"""Who is calling: bearer tokens, OAuth scopes, and API rate limits.

Every authenticated endpoint declares the scope it needs with `@require_scope`;
a missing or revoked token is 401, a token without the scope 403, an app-only
token where a user is needed 422 (as Mastodon answers).
"""

from __future__ import annotations

import functools
import ipaddress
import math
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, ParamSpec, TypeVar
from urllib.parse import urlencode

from quart import Response, current_app, g, redirect, request

from ..services.tokens import TokenInfo, resolve_pending_token, resolve_token, scope_allows
from .context import runtime, wants_activitypub
from .errors import ApiError
from .proxy import parse_address

P = ParamSpec("P")
R = TypeVar("R")

INVALID_TOKEN = "The access token is invalid"
OUTSIDE_SCOPES = "This action is outside the authorized scopes"
NEEDS_USER = "This method requires an authenticated user"


def bearer_token() -> str | None:
    """The token from `Authorization: Bearer`, else the `access_token` query parameter."""
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return request.args.get("access_token") or None


async def current_auth() -> TokenInfo | None:
    """The caller's token, resolved once per request; None when none was sent.

    A token that was sent but is invalid or revoked is a 401, even on endpoints that
    also answer anonymous callers (as Mastodon does).
    """
    if "auth" in g:
        return g.auth  # type: ignore[no-any-return]
    token = bearer_token()
    info = None
    if token is not None:
        info = await resolve_token(runtime(), token)
        if info is None:
            raise ApiError(401, INVALID_TOKEN)
    g.auth = info
    return info


async def pending_user_auth() -> TokenInfo:
    """A user's token that may be used before the address is confirmed or the sign-up
    approved (only the e-mail confirmation endpoints take one): 401 without it."""
    token = bearer_token()
    info = None if token is None else await resolve_pending_token(runtime(), token)
    if info is None:
        raise ApiError(401, INVALID_TOKEN)
    if info.account_id is None:
        raise ApiError(422, NEEDS_USER)
    return info


def require_scope(
    scope: str | tuple[str, ...] | None, *, user: bool = True
) -> Callable[[Callable[P, Awaitable[R]]], Callable[P, Awaitable[R]]]:
    """Decorate an endpoint: a valid token with `scope` (any one of a tuple), and a user
    unless `user=False`."""
    accepted = (scope,) if isinstance(scope, str) else scope

    def decorate(fn: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
        @functools.wraps(fn)
        async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            info = await current_auth()
            if info is None:
                raise ApiError(401, INVALID_TOKEN)
            if accepted and not any(scope_allows(info.scopes, s) for s in accepted):
                raise ApiError(403, OUTSIDE_SCOPES)
            if user and info.account_id is None:
                raise ApiError(422, NEEDS_USER)
            return await fn(*args, **kwargs)

        wrapper.required_scope = scope  # type: ignore[attr-defined]
        return wrapper

    return decorate


def auth() -> TokenInfo:
    """The resolved token of a `@require_scope` endpoint."""
    info: TokenInfo | None = g.get("auth")
    assert info is not None, "auth() outside @require_scope"
    return info


# Rate limits -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Limit:
    """At most `count` requests per `period` seconds for one key."""

    count: int
    period: float


class RateLimiter:
    """Fixed-window counters per key, bounded in memory (oldest keys forgotten first).

    Per process: several web processes each allow the limit, as a deliberate trade of
    precision for not writing to the database on every request.
    """

    def __init__(self, max_keys: int = 100_000) -> None:
        self._windows: OrderedDict[str, tuple[float, int]] = OrderedDict()
        self._max_keys = max_keys

    def hit(self, key: str, limit: Limit, now: float | None = None) -> tuple[bool, int, float]:
        """Count a request; (allowed, remaining, reset time as epoch seconds)."""
        now = time.time() if now is None else now
        start = math.floor(now / limit.period) * limit.period
        window_start, count = self._windows.get(key, (start, 0))
        if window_start != start:
            window_start, count = start, 0
        count += 1
        self._windows[key] = (window_start, count)
        self._windows.move_to_end(key)
        while len(self._windows) > self._max_keys:
            self._windows.popitem(last=False)
        reset = window_start + limit.period
        return count <= limit.count, max(0, limit.count - count), reset


# Mastodon's limits (its rack-attack rules): 300 API calls per 5 minutes per token and
# 1,500 per user, 300 per address for calls without a valid token; logins per address
# and per account, sign-ups and app registrations per address.
API_LIMIT = Limit(300, 300)
API_USER_LIMIT = Limit(1500, 300)
LOGIN_LIMIT_IP = Limit(25, 300)
LOGIN_LIMIT_ACCOUNT = Limit(10, 300)
SIGN_UP_LIMIT_IP = Limit(5, 1800)
APP_REGISTRATION_LIMIT = Limit(5, 600)
AUTH_LIMITER = "wildebeest.auth_limiter"


def client_ip() -> str:
    """The client's address: the TCP peer, or what trusted proxies say (see `http.proxy`)."""
    return request.remote_addr or "unknown"


# Remembered: every inbox delivery and API request asks, and parsing costs more than a lookup.
@functools.lru_cache(maxsize=4096)
def throttle_key(ip: str) -> str:
    """What one client is counted as: its IPv4 address, or its IPv6 /64 (as Mastodon)."""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return ip
    if address.version == 6:
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


def _exempt(ip: str) -> bool:
    config = runtime().config
    if not config.rate_limits:
        return True
    if config.rate_limit_exempt_loopback:
        address = parse_address(ip)
        return address is not None and address.is_loopback
    return False


def limiter(name: str = "wildebeest.limiter") -> RateLimiter:
    """The API's counters, or (`AUTH_LIMITER`) those of logins, sign-ups and the like."""
    return current_app.extensions[name]  # type: ignore[no-any-return]


def too_many(reset: float) -> ApiError:
    retry_after = max(1, math.ceil(reset - time.time()))
    return ApiError(429, "Too many requests", headers={"Retry-After": str(retry_after)})


def check_limit(key: str, limit: Limit) -> None:
    """Count one attempt of something rate-limited (login, sign-up); 429 past the limit."""
    if _exempt(client_ip()):
        return
    allowed, _, reset = limiter(AUTH_LIMITER).hit(key, limit)
    if not allowed:
        raise too_many(reset)


def check_client_limit(action: str, limit: Limit) -> None:
    """`check_limit` for one client address (an IPv6 /64 counts as one)."""
    check_limit(f"{action}:ip:{throttle_key(client_ip())}", limit)


async def api_rate_limit() -> Response | None:
    """Before an API request: count it against its token and user, or its client address.

    A bearer string that names no live token counts against the address, so a random
    string per request gets no fresh allowance.
    """
    ip = client_ip()
    if _exempt(ip):
        return None
    token = bearer_token()
    info = await resolve_token(runtime(), token) if token else None
    api = limiter()
    if info is None:
        allowed, remaining, reset = api.hit(f"api:ip:{throttle_key(ip)}", API_LIMIT)
    else:
        g.auth = info  # resolved once: `current_auth` reuses it
        allowed, remaining, reset = api.hit(f"api:token:{info.token_id}", API_LIMIT)
        if info.account_id is not None:
            user_allowed, _, user_reset = api.hit(f"api:user:{info.account_id}", API_USER_LIMIT)
            if not user_allowed:
                allowed, remaining, reset = False, 0, max(reset, user_reset)
    g.rate_limit = (API_LIMIT.count, remaining, reset)
    if not allowed:
        raise too_many(reset)
    return None


def rate_limit_headers(response: Response) -> None:
    """After an API request: `X-RateLimit-*` as Mastodon.py's ratelimit_method reads them."""
    state: Any = g.get("rate_limit")
    if state is None:
        return
    limit, remaining, reset = state
    response.headers["X-RateLimit-Limit"] = str(limit)
    response.headers["X-RateLimit-Remaining"] = str(remaining)
    response.headers["X-RateLimit-Reset"] = time.strftime(
        "%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(reset)
    )


# Limited federation --------------------------------------------------------------------------

# What Mastodon answers without a signed-in user in limited federation mode (its
# `disallow_unauthenticated_api_access?`): the instance, registering apps and signing up.
OPEN_API = ("/api/v1/instance", "/api/v2/instance", "/api/v1/apps", "/api/v1/custom_emojis")
NEEDS_SIGN_IN = "This API requires an authenticated user"


async def limited_federation_gate() -> Response | None:
    """Before a request in limited federation mode: the public API wants a user token and
    the public pages a signed-in visitor (ActivityPub documents answer signed requests of
    allowed domains only, checked where they are served)."""
    path = request.path
    if path.startswith("/api/"):
        if path.startswith(OPEN_API) or (path == "/api/v1/accounts" and request.method == "POST"):
            return None
        info = await current_auth()
        if info is None or info.account_id is None:
            raise ApiError(401, NEEDS_SIGN_IN)
        return None
    if request.blueprint == "site" and request.method == "GET" and not wants_activitypub():
        # A function-level import: the browser helpers import this module.
        from .browser import signed_in

        if await signed_in() is None:
            return redirect("/auth/sign_in?" + urlencode({"next": request.full_path}))
    return None
