"""OAuth 2 as Mastodon's apps use it: applications, authorization codes (with PKCE), tokens."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import trio

from ..ids import now_ms
from ..runtime import Runtime
from ..store import Connection, RowView
from ..store import oauth as oauth_rows
from ..store import users as user_rows
from ..store.rows import AuthorizedApplicationRow, OAuthApplicationRow, UserAccountRow
from ..views import Application
from . import totp
from .passwords import hash_password, verify_password
from .tokens import KNOWN_SCOPES, TokenError, hash_token, parse_scopes

OOB = "urn:ietf:wg:oauth:2.0:oob"
CODE_TTL_MS = 10 * 60 * 1000
FORBIDDEN_SCHEMES = {"data", "vbscript", "javascript"}
DEFAULT_SCOPE = "read"


class OAuthError(Exception):
    """An RFC 6749 error: `error` code, human description, HTTP status."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status


class AppValidationError(ValueError):
    """`POST /api/v1/apps` input that cannot be registered; `field` is at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class IssuedAccessToken:
    access_token: str
    scopes: list[str]
    created_at: int  # milliseconds

    def entity(self) -> dict[str, Any]:
        """Mastodon's Token entity (`created_at` in epoch seconds)."""
        return {
            "access_token": self.access_token,
            "token_type": "Bearer",
            "scope": " ".join(self.scopes),
            "created_at": self.created_at // 1000,
        }


def _hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def validate_redirect_uri(uri: str) -> str:
    """A registrable redirect URI: OOB, https/http, or a custom app scheme; never a script."""
    uri = uri.strip()
    if uri == OOB:
        return uri
    if not uri or len(uri) > 2000 or any(c.isspace() for c in uri):
        raise AppValidationError("redirect_uris", "must be an absolute URI")
    parts = urlsplit(uri)
    if not parts.scheme or parts.fragment:
        raise AppValidationError("redirect_uris", "must be an absolute URI without a fragment")
    if parts.scheme.lower() in FORBIDDEN_SCHEMES:
        raise AppValidationError("redirect_uris", f"the {parts.scheme} scheme is not allowed")
    if parts.scheme.lower() in ("http", "https") and not parts.netloc:
        raise AppValidationError("redirect_uris", "must be an absolute URI")
    return uri


async def register_application(
    rt: Runtime,
    *,
    name: str,
    redirect_uris: list[str],
    scopes: str | None,
    website: str | None,
) -> Application:
    """Register an application; the returned value carries its secret (shown only now)."""
    name = name.strip()
    if not name:
        raise AppValidationError("client_name", "can't be blank")
    if len(name) > 60:
        raise AppValidationError("client_name", "is too long (maximum is 60 characters)")
    if not redirect_uris:
        raise AppValidationError("redirect_uris", "can't be blank")
    uris = [validate_redirect_uri(u) for u in redirect_uris]
    try:
        scope_list = parse_scopes(scopes or DEFAULT_SCOPE)
    except TokenError as exc:
        raise AppValidationError("scopes", str(exc)) from None
    if website and (len(website) > 2000 or urlsplit(website).scheme not in ("http", "https")):
        raise AppValidationError("website", "must be an http or https URL")
    client_id = secrets.token_urlsafe(32)
    client_secret = secrets.token_urlsafe(32)
    app_id = rt.ids.next_id()
    await rt.store.write(
        oauth_rows.insert_application,
        app_id=app_id,
        name=name,
        website=website or None,
        redirect_uris="\n".join(uris),
        scopes=" ".join(scope_list),
        client_id=client_id,
        client_secret=_hash_secret(client_secret),
        owner_account_id=None,
        now=now_ms(),
    )
    return Application(app_id, name, website or None, uris, scope_list, client_id, client_secret)


async def application(rt: Runtime, client_id: str) -> Application | None:
    row = await rt.store.read(oauth_rows.application_by_client_id, client_id)
    return None if row is None else Application.from_row(row)


async def application_by_id(rt: Runtime, app_id: int) -> Application | None:
    row = await rt.store.read(oauth_rows.application_by_id, app_id)
    return None if row is None else Application.from_row(row)


async def authenticate_client(
    rt: Runtime, client_id: str | None, secret: str | None
) -> OAuthApplicationRow:
    """The application whose id and secret these are; `invalid_client` otherwise."""
    if not client_id or not secret:
        raise OAuthError("invalid_client", "Client authentication failed", 401)
    row = await rt.store.read(oauth_rows.application_by_client_id, client_id)
    if row is None or not hmac.compare_digest(row["client_secret"], _hash_secret(secret)):
        raise OAuthError("invalid_client", "Client authentication failed", 401)
    return row


def requested_scopes(app_scopes: list[str], requested: str | None) -> list[str]:
    """The scopes asked for, which must all have been registered with the application."""
    try:
        scopes = parse_scopes(requested or DEFAULT_SCOPE)
    except TokenError as exc:
        raise OAuthError("invalid_scope", str(exc)) from None
    allowed = set(app_scopes)
    for scope in scopes:
        if scope not in allowed and scope.rsplit(":", 1)[0] not in allowed:
            raise OAuthError(
                "invalid_scope", f"The requested scope {scope!r} was not registered by the app"
            )
    return scopes


@dataclass(frozen=True)
class AuthorizationRequest:
    """A validated `GET /oauth/authorize`."""

    app: Application
    redirect_uri: str
    scopes: list[str]
    state: str | None
    code_challenge: str | None


async def check_authorization_request(rt: Runtime, args: dict[str, str]) -> AuthorizationRequest:
    """Validate authorize parameters; errors before the redirect URI is trusted are shown."""
    client_id = args.get("client_id") or ""
    app = await application(rt, client_id)
    if app is None:
        raise OAuthError("invalid_client", "Unknown client_id", 400)
    redirect_uri = args.get("redirect_uri") or (
        app.redirect_uris[0] if len(app.redirect_uris) == 1 else ""
    )
    if redirect_uri not in app.redirect_uris:
        raise OAuthError("invalid_redirect_uri", "The redirect URI is not one the app registered")
    if args.get("response_type", "code") != "code":
        raise OAuthError("unsupported_response_type", "Only response_type=code is supported")
    scopes = requested_scopes(app.scopes, args.get("scope"))
    challenge = args.get("code_challenge") or None
    if challenge is not None:
        if args.get("code_challenge_method", "plain") != "S256":
            raise OAuthError("invalid_request", "Only the S256 code challenge method is supported")
        if not 43 <= len(challenge) <= 128:
            raise OAuthError("invalid_request", "The code challenge is malformed")
    return AuthorizationRequest(app, redirect_uri, scopes, args.get("state"), challenge)


async def create_grant(rt: Runtime, req: AuthorizationRequest, account_id: int) -> str:
    """A one-time, short-lived authorization code for an approved request."""
    code = secrets.token_urlsafe(32)
    now = now_ms()
    await rt.store.write(
        oauth_rows.insert_grant,
        grant_id=rt.ids.next_id(),
        application_id=req.app.id,
        account_id=account_id,
        code_hash=hash_token(code),
        redirect_uri=req.redirect_uri,
        scopes=" ".join(req.scopes),
        code_challenge=req.code_challenge,
        now=now,
        expires_at=now + CODE_TTL_MS,
    )
    return code


async def _insert_token(
    conn: Connection,
    rt: Runtime,
    app_id: int,
    account_id: int | None,
    scopes: list[str],
    token: str,
    now: int,
) -> None:
    await oauth_rows.insert_token(
        conn,
        token_id=rt.ids.next_id(),
        application_id=app_id,
        account_id=account_id,
        token_hash=hash_token(token),
        scopes=" ".join(scopes),
        now=now,
    )


def _pkce_matches(challenge: str, verifier: str) -> bool:
    digest = hashlib.sha256(verifier.encode("ascii", "replace")).digest()
    expected = base64.urlsafe_b64encode(digest).decode().rstrip("=")
    return hmac.compare_digest(expected, challenge)


async def exchange_code(
    rt: Runtime,
    app_row: RowView,
    *,
    code: str,
    redirect_uri: str | None,
    code_verifier: str | None,
    scope: str | None,
) -> IssuedAccessToken:
    """`grant_type=authorization_code`: one use, unexpired, same redirect URI, PKCE checked.

    The redirect URI must be sent, and be the one the code was issued for (RFC 6749
    4.1.3; Doorkeeper answers `invalid_request` when it is missing, `invalid_grant` when
    it differs). A refused exchange leaves the code usable.
    """
    if not redirect_uri:
        raise OAuthError("invalid_request", "Missing required parameter: redirect_uri.")
    now = now_ms()
    token = secrets.token_urlsafe(32)

    async def unit(conn: Connection) -> list[str] | None:
        grant = await oauth_rows.take_grant(conn, hash_token(code), now)
        if grant is None or grant["application_id"] != app_row["id"]:
            raise OAuthError("invalid_grant", "The authorization code is invalid")
        if grant.get("reused"):
            # A replayed code: revoke what the first exchange issued (RFC 6749 10.5).
            await oauth_rows.revoke_tokens_of_grant_account(
                conn, grant["application_id"], grant["account_id"], now
            )
            return None
        if grant["expires_at"] < now:
            raise OAuthError("invalid_grant", "The authorization code has expired")
        if redirect_uri != grant["redirect_uri"]:
            raise OAuthError("invalid_grant", "The redirect URI does not match the authorization")
        if grant["code_challenge"] is not None:
            if not code_verifier or not _pkce_matches(grant["code_challenge"], code_verifier):
                raise OAuthError("invalid_grant", "The code verifier does not match the challenge")
        scopes: list[str] = grant["scopes"].split()
        await _insert_token(conn, rt, app_row["id"], grant["account_id"], scopes, token, now)
        return scopes

    scopes = await rt.store.write(unit)
    if scopes is None:
        raise OAuthError("invalid_grant", "The authorization code was already used")
    _ = scope  # Mastodon ignores a scope sent with the code: the grant decides.
    return IssuedAccessToken(token, scopes, now)


async def client_credentials(rt: Runtime, app_row: RowView, scope: str | None) -> IssuedAccessToken:
    """`grant_type=client_credentials`: an app token with no user (for sign-up, public reads)."""
    scopes = requested_scopes(app_row["scopes"].split(), scope)
    return await issue_token(rt, app_row["id"], None, scopes)


async def issue_token(
    rt: Runtime, app_id: int, account_id: int | None, scopes: list[str]
) -> IssuedAccessToken:
    """A new access token of an application (for a user, or for the app alone)."""
    token = secrets.token_urlsafe(32)
    now = now_ms()
    await rt.store.write(_insert_token, rt, app_id, account_id, scopes, token, now)
    return IssuedAccessToken(token, scopes, now)


class LoginError(Exception):
    """Credentials that do not let a user in; the message is safe to show."""


async def check_login(rt: Runtime, login: str, password: str) -> UserAccountRow:
    """The user signing in with an e-mail address (or username) and password."""
    row = await rt.store.read(user_rows.user_by_login, login.strip())
    if row is None or not row["password_hash"]:
        # Spend about the time of a real check, so timing does not reveal accounts.
        await trio.to_thread.run_sync(hash_password, rt.config, password)
        raise LoginError("Invalid e-mail address or password.")
    ok = await trio.to_thread.run_sync(verify_password, rt.config, row["password_hash"], password)
    if not ok:
        raise LoginError("Invalid e-mail address or password.")
    if row["disabled"] or row["suspended_at"] is not None:
        raise LoginError("Your account is disabled.")
    if row["confirmed_at"] is None:
        raise LoginError("You have to confirm your e-mail address before continuing.")
    if not row["approved"]:
        raise LoginError("Your account is still waiting for approval.")
    return row


async def password_grant(
    rt: Runtime, app_row: RowView, *, username: str, password: str, scope: str | None
) -> IssuedAccessToken:
    """`grant_type=password` (toot's command-line login): e-mail address and password."""
    if not rt.config.oauth_password_grant:
        raise OAuthError("unsupported_grant_type", "The password grant is disabled")
    scopes = requested_scopes(app_row["scopes"].split(), scope)
    try:
        user = await check_login(rt, username, password)
    except LoginError as exc:
        raise OAuthError("invalid_grant", str(exc)) from None
    # A password alone is not enough once a second factor is on (as Mastodon refuses).
    if await totp.is_enabled(rt, user["user_id"]):
        raise OAuthError(
            "invalid_grant", "Two-factor authentication is on: sign in through the browser"
        )
    return await issue_token(rt, app_row["id"], user["account_id"], scopes)


async def revoke(rt: Runtime, app_row: RowView, token: str) -> None:
    """RFC 7009: revoke a token the application owns; unknown tokens are fine (idempotent)."""
    row = await rt.store.read(oauth_rows.token_by_hash_any, hash_token(token))
    if row is None:
        return
    if row["application_id"] != app_row["id"]:
        raise OAuthError("unauthorized_client", "You are not authorized to revoke this token", 403)
    await rt.store.write(oauth_rows.revoke_token, row["id"], now_ms())


async def revoke_application_for_account(rt: Runtime, app_id: int, account_id: int) -> int:
    """The user withdraws an application's access: all its tokens die."""
    return await rt.store.write(
        oauth_rows.revoke_tokens_of_grant_account, app_id, account_id, now_ms()
    )


async def authorized_applications(rt: Runtime, account_id: int) -> list[AuthorizedApplicationRow]:
    return await rt.store.read(oauth_rows.authorized_applications, account_id)


def scopes_supported() -> list[str]:
    return sorted(KNOWN_SCOPES)
