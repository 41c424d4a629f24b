"""Issuing and resolving OAuth access tokens."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from ..ids import now_ms
from ..runtime import Runtime
from ..store import Connection, daily_counters
from ..store import accounts as account_rows
from ..store import activity as activity_rows
from ..store import oauth as oauth_rows

CLI_APP_NAME = "wildebeest-trio command line"
DEFAULT_SCOPES = "read write follow push"
# Mastodon's scopes: top-level ones and their granular children.
TOP_SCOPES = ("read", "write", "follow", "push", "profile", "admin:read", "admin:write")
GRANULAR_READ = (
    "accounts",
    "blocks",
    "bookmarks",
    "collections",
    "favourites",
    "filters",
    "follows",
    "lists",
    "mutes",
    "notifications",
    "search",
    "statuses",
)
GRANULAR_WRITE = (
    "accounts",
    "blocks",
    "bookmarks",
    "collections",
    "conversations",
    "favourites",
    "filters",
    "follows",
    "lists",
    "media",
    "mutes",
    "notifications",
    "reports",
    "statuses",
)
GRANULAR_ADMIN = (
    "accounts",
    "reports",
    "domain_allows",
    "domain_blocks",
    "ip_blocks",
    "email_domain_blocks",
    "canonical_email_blocks",
)
KNOWN_SCOPES = frozenset(
    TOP_SCOPES
    + tuple(f"read:{s}" for s in GRANULAR_READ)
    + tuple(f"write:{s}" for s in GRANULAR_WRITE)
    + tuple(f"admin:read:{s}" for s in GRANULAR_ADMIN)
    + tuple(f"admin:write:{s}" for s in GRANULAR_ADMIN)
)


class TokenError(ValueError):
    """A token cannot be issued as asked."""


def hash_token(token: str) -> str:
    """How a bearer token is stored: its SHA-256, hex."""
    return hashlib.sha256(token.encode()).hexdigest()


def parse_scopes(text: str) -> list[str]:
    """Scopes from a space-separated string, validated and de-duplicated in order."""
    scopes: list[str] = []
    for scope in text.split():
        if scope not in KNOWN_SCOPES:
            raise TokenError(f"unknown scope {scope!r}")
        if scope not in scopes:
            scopes.append(scope)
    if not scopes:
        raise TokenError("at least one scope is required")
    return scopes


@dataclass(frozen=True)
class IssuedToken:
    token: str
    scopes: list[str]
    account_id: int


async def _issue_cli_token(
    conn: Connection, rt: Runtime, username: str, scopes: str, token_hash: str
) -> int:
    account = await account_rows.local_account_by_username(conn, username)
    if account is None:
        raise TokenError(f"no local account named {username!r}")
    now = now_ms()
    app = await oauth_rows.application_by_name_for_owner(conn, CLI_APP_NAME, account["id"])
    if app is None:
        app_id = rt.ids.next_id()
        await oauth_rows.insert_application(
            conn,
            app_id=app_id,
            name=CLI_APP_NAME,
            website=None,
            redirect_uris="urn:ietf:wg:oauth:2.0:oob",
            scopes=" ".join(sorted(KNOWN_SCOPES)),
            client_id=secrets.token_urlsafe(32),
            client_secret=secrets.token_urlsafe(32),
            owner_account_id=account["id"],
            now=now,
        )
    else:
        app_id = app["id"]
    await oauth_rows.insert_token(
        conn,
        token_id=rt.ids.next_id(),
        application_id=app_id,
        account_id=account["id"],
        token_hash=token_hash,
        scopes=scopes,
        now=now,
    )
    return account["id"]


async def issue_cli_token(rt: Runtime, username: str, scopes: str = DEFAULT_SCOPES) -> IssuedToken:
    """A token for a local account through the command-line application (bots, scripts)."""
    scope_list = parse_scopes(scopes)
    token = secrets.token_urlsafe(32)
    account_id = await rt.store.write(
        _issue_cli_token, rt, username, " ".join(scope_list), hash_token(token)
    )
    return IssuedToken(token, scope_list, account_id)


# Scopes -------------------------------------------------------------------------------------

# `follow` is Mastodon's deprecated alias for these.
FOLLOW_ALIAS = frozenset(
    {"read:follows", "write:follows", "read:blocks", "write:blocks", "read:mutes", "write:mutes"}
)


def scope_allows(granted: frozenset[str], required: str) -> bool:
    """Whether granted scopes cover a required one (`read` covers `read:statuses`...)."""
    if required in granted:
        return True
    if ":" in required and required.rsplit(":", 1)[0] in granted:
        return True  # read:statuses under read, admin:read:accounts under admin:read
    return "follow" in granted and required in FOLLOW_ALIAS


@dataclass(frozen=True)
class TokenInfo:
    """A live access token and whom it speaks for."""

    token_id: int
    application_id: int | None
    account_id: int | None
    scopes: frozenset[str]
    role: str | None
    created_at: int


HOUR_MS = 3600 * 1000
# Longer bearer strings name no token; not hashed nor looked up.
MAX_TOKEN_CHARS = 512


async def _resolve(
    conn: Connection, token_hash: str, now: int, *, pending: bool = False
) -> tuple[TokenInfo, bool] | None:
    row = await oauth_rows.token_with_user(conn, token_hash)
    if row is None:
        return None
    # A user still waiting for confirmation or approval may use a token only where
    # `pending` says so (resending the confirmation e-mail).
    if row["account_id"] is not None and not (
        row["user_id"] is not None
        and (pending or (row["approved"] and row["confirmed_at"] is not None))
        and not row["disabled"]
        and row["suspended_at"] is None
    ):
        return None
    info = TokenInfo(
        token_id=row["id"],
        application_id=row["application_id"],
        account_id=row["account_id"],
        scopes=frozenset(row["scopes"].split()),
        role=row["role"],
        created_at=row["created_at"],
    )
    return info, row["last_used_at"] is None or row["last_used_at"] < now - HOUR_MS


async def _touch(conn: Connection, info: TokenInfo, now: int) -> None:
    await oauth_rows.touch_token(conn, info.token_id, now)
    if info.account_id is not None:
        await daily_counters.mark_active(conn, info.account_id, now)
        # Using an app counts as signing in, for the instance's weekly activity.
        await activity_rows.record_login(conn, info.account_id, now)


async def resolve_token(rt: Runtime, token: str) -> TokenInfo | None:
    """The live token a bearer string names, or None (unknown, revoked, or user blocked)."""
    if len(token) > MAX_TOKEN_CHARS:
        return None
    now = now_ms()
    found = await rt.store.read(_resolve, hash_token(token), now)
    if found is None:
        return None
    info, stale = found
    if stale:
        # Recorded at most hourly: enough for "active users" counts, off the hot path.
        await rt.store.write(_touch, info, now)
    return info


async def resolve_pending_token(rt: Runtime, token: str) -> TokenInfo | None:
    """Like `resolve_token`, but a user whose address is not confirmed yet (or whose sign-up
    awaits approval) passes too: what `POST /api/v1/emails/confirmations` accepts."""
    if len(token) > MAX_TOKEN_CHARS:
        return None
    found = await rt.store.read(_resolve, hash_token(token), now_ms(), pending=True)
    return None if found is None else found[0]


# The caller resolved inside a unit ------------------------------------------------------------


class CallerRefused(Exception):
    """The caller's token does not allow the request: `status` is 401 (no valid token),
    403 (outside its scopes) or 422 (an app's token where a user is needed)."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


class Caller:
    """Who calls, by a bearer token that the request's first unit of work resolves.

    A read endpoint hands its service a `Caller` instead of an account id; the service's
    unit calls `account_id(conn)` before it reads anything the viewer changes, so the token
    and the page come in one store crossing (each crossing is a thread hop on SQLite and
    two thread wake-ups on PostgreSQL's bridge). `account_id` raises `CallerRefused` when
    the token does not allow the request, before the unit reads anything. A caller already
    resolved (no token sent, or resolved earlier in the request) costs no statement.

    The entry layer owns what comes after (rate-limit counting on the token, the hourly
    `last_used_at` write through `settle`, the error bodies): see `http.auth.token_in_unit`.
    """

    __slots__ = ("anonymous", "info", "now", "resolved", "scopes", "stale", "token", "user")

    def __init__(
        self,
        token: str | None,
        *,
        scopes: tuple[str, ...] = (),
        user: bool = True,
        anonymous: bool = False,
        info: TokenInfo | None = None,
        resolved: bool = False,
    ) -> None:
        self.token = token
        self.scopes = scopes
        self.user = user
        self.anonymous = anonymous
        self.now = now_ms()
        self.info = info
        # Nothing to look up without a token; a string too long names no token.
        self.resolved = resolved or token is None or len(token) > MAX_TOKEN_CHARS
        self.stale = False

    async def resolve(self, conn: Connection) -> None:
        """Look the token up (once), as `resolve_token` does; a unit of its own when the
        request's work did not resolve it."""
        if self.resolved:
            return
        assert self.token is not None
        found = await _resolve(conn, hash_token(self.token), self.now)
        if found is not None:
            self.info, self.stale = found
        self.resolved = True

    async def account_id(self, conn: Connection) -> int | None:
        """Inside a unit: the calling account (None for an anonymous caller or an app's
        token), or `CallerRefused`."""
        await self.resolve(conn)
        return self.check()

    def check(self) -> int | None:
        """The calling account once resolved, or `CallerRefused` (as `account_id`)."""
        info = self.info
        if info is None:
            if self.token is not None or not self.anonymous:
                raise CallerRefused(401)
            return None
        if self.scopes and not any(scope_allows(info.scopes, s) for s in self.scopes):
            raise CallerRefused(403)
        if self.user and info.account_id is None:
            raise CallerRefused(422)
        return info.account_id


async def settle(rt: Runtime, caller: Caller) -> None:
    """After a request resolved its caller: note the token's use (hourly at most, as
    `resolve_token`)."""
    if caller.stale and caller.info is not None:
        caller.stale = False
        await rt.store.write(_touch, caller.info, caller.now)


Viewer = Caller | int | None
"""Who reads: an account id, nobody (None), or a `Caller` the reading unit resolves."""


async def viewer_id(conn: Connection, viewer: Viewer) -> int | None:
    """Inside a unit: the reading account of a `Viewer` (see `Caller.account_id`)."""
    if isinstance(viewer, Caller):
        return await viewer.account_id(conn)
    return viewer
