"""Accounts in the Mastodon API: sign-up, credentials, profile edits, lookups, preferences."""

from __future__ import annotations

from typing import Any

from quart import Blueprint, Response, request

from ...ids import parse_id
from ...media.images import ImageError
from ...serializers.accounts import account_entity, credential_account_entity
from ...services import profiles
from ...services.accounts import AccountError
from ...services.custom_emoji import with_emojis
from ...services.profile_images import store_avatar, store_header
from ...services.registrations import RegistrationClosed, sign_up
from ...services.search import resolve_remote_acct
from ..auth import (
    SIGN_UP_LIMIT_IP,
    auth,
    check_client_limit,
    client_ip,
    current_auth,
    require_scope,
)
from ..context import json_response, runtime
from ..errors import ApiError, not_found
from ..params import Params, read_params

blueprint = Blueprint("accounts", __name__)

ERROR_CODES = {
    "taken": "ERR_TAKEN",
    "blank": "ERR_BLANK",
    "accepted": "ERR_ACCEPTED",
    "too long": "ERR_TOO_LONG",
    "too short": "ERR_TOO_SHORT",
    "reserved": "ERR_RESERVED",
    "invalid": "ERR_INVALID",
}


def _validation_error(field: str, message: str) -> ApiError:
    """Mastodon's 422: a sentence, and `details` per field with an error code."""
    description = message.removeprefix(f"{field} ").strip()
    code = next((c for k, c in ERROR_CODES.items() if k in description), "ERR_INVALID")
    label = field.replace("_", " ").capitalize()
    return ApiError(
        422,
        f"Validation failed: {label} {description}",
        details={field: [{"error": code, "description": description}]},
    )


@blueprint.route("/api/v1/accounts", methods=["POST"])
@require_scope("write:accounts", user=False)
async def register() -> Response:
    info = auth()
    if info.account_id is not None:
        raise ApiError(403, "This action is not allowed")
    check_client_limit("sign_up", SIGN_UP_LIMIT_IP)
    params = await read_params()
    try:
        issued = await sign_up(
            runtime(),
            username=params.text("username", "", max_length=200) or "",
            email=params.text("email", "", max_length=320) or "",
            password=params.text("password", "", max_length=1000) or "",
            agreement=bool(params.flag("agreement", False)),
            reason=params.text("reason", "", max_length=2000) or "",
            locale=params.text("locale", "en", max_length=10) or "en",
            application_id=info.application_id,
            scopes=sorted(info.scopes),
            ip=client_ip(),
        )
    except RegistrationClosed as exc:
        raise ApiError(403, str(exc)) from None
    except AccountError as exc:
        raise _validation_error(exc.field, str(exc)) from None
    assert issued is not None
    return json_response(issued.entity())


@blueprint.route("/api/v1/accounts/verify_credentials")
@require_scope(("read:accounts", "profile"))
async def verify_credentials() -> Response:
    rt = runtime()
    creds = await profiles.credentials(rt, auth().account_id or 0)
    if creds is None:
        raise ApiError(401, "The access token is invalid")
    (account,) = await with_emojis(rt, [creds.account])
    return json_response(
        credential_account_entity(
            rt.config, account, creds.user, creds.preferences, creds.follow_requests_count
        )
    )


def _fields(params: Params) -> list[tuple[str, str]] | None:
    """`fields_attributes[0][name]` / `[value]` (form) or a JSON list or object."""
    found: dict[int, dict[str, str]] = {}
    for key in params.names():
        if not key.startswith("fields_attributes["):
            continue
        inner = key[len("fields_attributes[") :]
        index_text, _, rest = inner.partition("]")
        part = rest.strip("[]")
        if index_text == "":  # JSON arrays flatten to fields_attributes[][name]
            continue
        index = parse_id(index_text)
        if index is None or part not in ("name", "value"):
            continue
        found.setdefault(index, {})[part] = str(params.get(key) or "")
    # A JSON array flattens to fields_attributes[][name], fields_attributes[][value].
    names = params.raw_list("fields_attributes[][name]")
    values = params.raw_list("fields_attributes[][value]")
    for i, (name, value) in enumerate(zip(names, values, strict=False)):
        found[i] = {"name": str(name), "value": str(value)}
    if not found:
        return None
    if len(found) > 50:
        raise ApiError(422, "Validation failed: too many fields")
    return [(found[i].get("name", ""), found[i].get("value", "")) for i in sorted(found)]


def _attribution_domains(params: Any) -> list[str] | None:
    """`attribution_domains[]` (Mastodon 4.3), lower-cased; None when not sent."""
    if (
        "attribution_domains" not in params.names()
        and "attribution_domains[]" not in params.names()
    ):
        return None
    values = params.get_list("attribution_domains")[:100]
    if not all(isinstance(v, str) for v in values):
        raise ApiError(422, "attribution_domains must be a list of domain names")
    return [v.strip().lower() for v in values if v.strip()]


@blueprint.route("/api/v1/accounts/update_credentials", methods=["PATCH", "PUT"])
@require_scope("write:accounts")
async def update_credentials() -> Response:
    rt = runtime()
    params = await read_params()
    changes = profiles.ProfileChanges(
        display_name=params.text("display_name", max_length=1000),
        note=params.text("note", max_length=5000),
        locked=params.flag("locked"),
        bot=params.flag("bot"),
        discoverable=params.flag("discoverable"),
        indexable=params.flag("indexable"),
        hide_collections=params.flag("hide_collections"),
        fields=_fields(params),
        privacy=params.text("source[privacy]", max_length=20),
        sensitive=params.flag("source[sensitive]"),
        language=params.text("source[language]", max_length=10),
        attribution_domains=_attribution_domains(params),
        quote_policy=params.text("source[quote_policy]", max_length=20),
    )
    for name in ("avatar", "header"):
        upload = params.files.get(name)
        if upload is not None:
            key = await _store_image(name, upload)
            setattr(changes, f"{name}_key", key)
    try:
        await profiles.update(rt, auth().account_id or 0, changes)
    except profiles.ProfileError as exc:
        raise _validation_error(exc.field, str(exc)) from None
    creds = await profiles.credentials(rt, auth().account_id or 0)
    assert creds is not None
    (account,) = await with_emojis(rt, [creds.account])
    return json_response(
        credential_account_entity(
            rt.config, account, creds.user, creds.preferences, creds.follow_requests_count
        )
    )


async def _store_image(kind: str, upload: Any) -> str:
    """Process and store an uploaded avatar or header; 422 on a bad image."""
    rt = runtime()
    data = upload.read(rt.config.media_max_image_bytes + 1)
    if len(data) > rt.config.media_max_image_bytes:
        raise ApiError(
            422,
            f"Validation failed: {kind.capitalize()} file size must be less "
            f"than {rt.config.media_max_image_bytes // (1024 * 1024)} MB",
        )
    store = store_avatar if kind == "avatar" else store_header
    try:
        return await store(rt, data)
    except ImageError as exc:
        raise ApiError(
            422,
            f"Validation failed: {kind.capitalize()} {exc}",
            details={kind: [{"error": "ERR_INVALID", "description": str(exc)}]},
        ) from None


@blueprint.route("/api/v1/accounts/lookup")
async def lookup() -> Response:
    await current_auth()
    acct = request.args.get("acct", "")
    if not acct.strip():
        raise ApiError(400, "acct is required")
    row = await profiles.lookup(runtime(), acct)
    if row is None:
        # An unknown `user@domain` is looked up through WebFinger, for signed-in callers.
        row = await resolve_remote_acct(runtime(), acct, await current_auth())
    if row is None or row["suspended_at"] is not None:
        raise not_found()
    (row,) = await with_emojis(runtime(), [row])
    return json_response(account_entity(runtime().config, row))


@blueprint.route("/api/v1/accounts/<id:account_id>")
async def show(account_id: int) -> Response:
    await current_auth()
    row = await profiles.account(runtime(), account_id)
    if row is None or row["suspended_at"] is not None:
        raise not_found()
    (row,) = await with_emojis(runtime(), [row])
    return json_response(account_entity(runtime().config, row))


@blueprint.route("/api/v1/preferences")
@require_scope("read:accounts")
async def preferences() -> Response:
    creds = await profiles.credentials(runtime(), auth().account_id or 0)
    assert creds is not None
    prefs = creds.preferences
    return json_response(
        {
            "posting:default:visibility": prefs.get("privacy", "public"),
            "posting:default:sensitive": bool(prefs.get("sensitive", False)),
            "posting:default:language": prefs.get("language"),
            "posting:default:quote_policy": prefs.get("quote_policy", "public"),
            "reading:expand:media": "default",
            "reading:expand:spoilers": False,
        }
    )


@blueprint.route("/oauth/userinfo", methods=["GET", "POST"])
@require_scope("profile")
async def userinfo() -> Response:
    rt = runtime()
    creds = await profiles.credentials(rt, auth().account_id or 0)
    assert creds is not None
    entity = account_entity(rt.config, creds.account)
    return json_response(
        {
            "iss": f"{rt.config.base_url}/",
            "sub": entity["uri"],
            "name": entity["display_name"],
            "preferred_username": entity["username"],
            "profile": entity["url"],
            "picture": entity["avatar"],
        }
    )
