"""The OAuth 2 authorization server: the consent page, token, revoke, and its metadata."""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import urlencode

from quart import Blueprint, Response, request

from ...services import oauth
from ...services.tokens import KNOWN_SCOPES
from ..auth import LOGIN_LIMIT_ACCOUNT, LOGIN_LIMIT_IP, check_client_limit, check_limit
from ..browser import SIGNED_IN, FormPost, forced_login, form_post, page, redirect, signed_in
from ..context import json_response, runtime
from ..params import read_params

blueprint = Blueprint("oauth", __name__)
FEATURES = frozenset({"pkce"})

SCOPE_TEXT = {
    "read": "read all your account's data",
    "write": "modify all your account's data",
    "follow": "modify account relationships",
    "push": "receive your push notifications",
    "profile": "read only your account's profile information",
    "admin:read": "read all data on the server",
    "admin:write": "modify all data on the server",
}


def _oauth_error(exc: oauth.OAuthError) -> Response:
    return json_response({"error": exc.error, "error_description": exc.description}, exc.status)


# Authorization ------------------------------------------------------------------------------


def _authorize_args(source: Any) -> dict[str, str]:
    keys = (
        "client_id",
        "redirect_uri",
        "response_type",
        "scope",
        "state",
        "code_challenge",
        "code_challenge_method",
        "lang",
    )
    return {k: str(source.get(k)) for k in keys if source.get(k) not in (None, "")}


def _redirect_with(uri: str, **values: str | None) -> Response:
    query = urlencode({k: v for k, v in values.items() if v is not None})
    separator = "&" if "?" in uri else "?"
    return redirect(f"{uri}{separator}{query}")


@blueprint.route("/oauth/authorize", methods=["GET"])
async def authorize_page() -> Response:
    rt = runtime()
    args = _authorize_args(request.args)
    try:
        req = await oauth.check_authorization_request(rt, args)
    except oauth.OAuthError as exc:
        # The redirect URI is not trusted yet: show the error instead of redirecting.
        return await page(
            "message.html", 400, heading="Authorization failed", message=exc.description
        )
    account = await signed_in()
    if account is None or forced_login(request.args):
        # A link signs nobody out: the sign-in form switches accounts only once submitted.
        query = {"next": _authorize_page(args)}
        if account is not None:
            query["force_login"] = "true"
        return redirect("/auth/sign_in?" + urlencode(query))
    scopes = [
        (s, SCOPE_TEXT.get(s.split(":")[0] if s.count(":") == 1 else s, s)) for s in req.scopes
    ]
    return await page(
        "authorize.html",
        app_name=req.app.name,
        username=account["username"],
        scopes=scopes,
        params=sorted(args.items()),
    )


def _authorize_page(source: Any) -> str:
    """The consent page of an authorization request (its parameters kept)."""
    return "/oauth/authorize?" + urlencode(_authorize_args(source))


@blueprint.route("/oauth/authorize", methods=["POST"])
@form_post(SIGNED_IN, back=_authorize_page)
async def authorize_decision(post: FormPost) -> Response:
    rt = runtime()
    form, account = post.form, post.account
    args = _authorize_args(form)
    try:
        req = await oauth.check_authorization_request(rt, args)
    except oauth.OAuthError as exc:
        return await page(
            "message.html", 400, heading="Authorization failed", message=exc.description
        )
    if form.get("decision") != "approve":
        if req.redirect_uri == oauth.OOB:
            return await page(
                "message.html",
                heading="Authorization denied",
                message="You denied the application access.",
            )
        return _redirect_with(
            req.redirect_uri,
            error="access_denied",
            error_description="The user denied access",
            state=req.state,
        )
    code = await oauth.create_grant(rt, req, account["account_id"])
    if req.redirect_uri == oauth.OOB:
        return await page("oob.html", app_name=req.app.name, code=code)
    return _redirect_with(req.redirect_uri, code=code, state=req.state)


# Tokens -------------------------------------------------------------------------------------


def _client_credentials_from(params: Any) -> tuple[str | None, str | None]:
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("basic "):
        try:
            decoded = base64.b64decode(header[6:].strip()).decode()
        except (ValueError, UnicodeDecodeError):
            return None, None
        client_id, _, secret = decoded.partition(":")
        return client_id, secret
    return params.text("client_id", max_length=200), params.text("client_secret", max_length=200)


@blueprint.route("/oauth/token", methods=["POST"])
async def token() -> Response:
    rt = runtime()
    params = await read_params()
    grant_type = params.text("grant_type", max_length=100)
    try:
        client_id, secret = _client_credentials_from(params)
        app_row = await oauth.authenticate_client(rt, client_id, secret)
        scope = params.text("scope", max_length=2000)
        if grant_type == "authorization_code":
            code = params.text("code", max_length=200)
            if not code:
                raise oauth.OAuthError("invalid_request", "code is required")
            issued = await oauth.exchange_code(
                rt,
                app_row,
                code=code,
                redirect_uri=params.text("redirect_uri", max_length=2000),
                code_verifier=params.text("code_verifier", max_length=200),
                scope=scope,
            )
        elif grant_type == "client_credentials":
            issued = await oauth.client_credentials(rt, app_row, scope)
        elif grant_type == "password":
            username = params.text("username", "", max_length=320) or ""
            check_client_limit("login", LOGIN_LIMIT_IP)
            check_limit(f"login:account:{username.lower()}", LOGIN_LIMIT_ACCOUNT)
            issued = await oauth.password_grant(
                rt,
                app_row,
                username=username,
                password=params.text("password", "", max_length=1000) or "",
                scope=scope,
            )
        else:
            raise oauth.OAuthError("unsupported_grant_type", "The grant type is not supported")
    except oauth.OAuthError as exc:
        return _oauth_error(exc)
    response = json_response(issued.entity())
    response.headers["Cache-Control"] = "no-store"
    return response


@blueprint.route("/oauth/revoke", methods=["POST"])
async def revoke() -> Response:
    rt = runtime()
    params = await read_params()
    try:
        client_id, secret = _client_credentials_from(params)
        app_row = await oauth.authenticate_client(rt, client_id, secret)
        token_value = params.text("token", max_length=600)
        if not token_value:
            raise oauth.OAuthError("invalid_request", "token is required")
        await oauth.revoke(rt, app_row, token_value)
    except oauth.OAuthError as exc:
        return _oauth_error(exc)
    return json_response({})


@blueprint.route("/.well-known/oauth-authorization-server")
async def metadata() -> Response:
    base = runtime().config.base_url
    grants = ["authorization_code", "client_credentials"]
    if runtime().config.oauth_password_grant:
        grants.append("password")
    response = json_response(
        {
            "issuer": f"{base}/",
            "service_documentation": "https://docs.joinmastodon.org/",
            "authorization_endpoint": f"{base}/oauth/authorize",
            "token_endpoint": f"{base}/oauth/token",
            "revocation_endpoint": f"{base}/oauth/revoke",
            "userinfo_endpoint": f"{base}/oauth/userinfo",
            "app_registration_endpoint": f"{base}/api/v1/apps",
            "scopes_supported": sorted(KNOWN_SCOPES),
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": grants,
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "code_challenge_methods_supported": ["S256"],
        }
    )
    response.headers["Cache-Control"] = "max-age=900, public"
    return response
