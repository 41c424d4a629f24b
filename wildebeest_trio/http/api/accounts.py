"""Accounts in the Mastodon API: sign-up, credentials, profile edits, lookups, preferences."""

from __future__ import annotations

from typing import Any

from quart import Blueprint, Response, request

from ...ids import parse_id
from ...media.images import ImageError
from ...serializers.accounts import account_entity, credential_account_entity, profile_entity
from ...services import account_settings, profiles
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
    pending_user_auth,
    require_scope,
)
from ..context import json_response, runtime
from ..errors import ApiError, not_found
from ..paging import offset_page, set_offset_links, viewer
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
    params = await read_params()
    changes = _own_profile_changes(params)
    changes.privacy = params.text("source[privacy]", max_length=20)
    changes.sensitive = params.flag("source[sensitive]")
    changes.language = params.text("source[language]", max_length=10)
    changes.quote_policy = params.text("source[quote_policy]", max_length=20)
    await _apply_profile_changes(params, changes)
    return await _credentials_response()


async def _apply_profile_changes(params: Params, changes: profiles.ProfileChanges) -> None:
    """Store uploaded pictures and apply the changes; 422 for what cannot be stored."""
    for name in ("avatar", "header"):
        upload = params.files.get(name)
        if upload is not None:
            key = await _store_image(name, upload)
            setattr(changes, f"{name}_key", key)
    try:
        await profiles.update(runtime(), auth().account_id or 0, changes)
    except profiles.ProfileError as exc:
        raise _validation_error(exc.field, str(exc)) from None


async def _credentials_response() -> Response:
    rt = runtime()
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


@blueprint.route("/api/v1/accounts")
async def show_many() -> Response:
    """`GET /api/v1/accounts?id[]=` (4.3): the accounts that exist, in the order asked."""
    await viewer("read:accounts")
    params = await read_params()
    if len(params.get_list("id")) > profiles.MAX_ACCOUNTS_AT_ONCE:
        raise ApiError(422, "Too many accounts requested")
    rt = runtime()
    rows = await with_emojis(rt, await profiles.accounts_by_ids(rt, params.ids("id")))
    return json_response([account_entity(rt.config, r) for r in rows])


@blueprint.route("/api/v1/accounts/<id:account_id>/identity_proofs")
async def identity_proofs(account_id: int) -> Response:
    """Keybase proofs are gone from Mastodon (3.5): an empty list for a known account."""
    await viewer("read:accounts")
    row = await profiles.account(runtime(), account_id)
    if row is None or row["suspended_at"] is not None:
        raise not_found()
    return json_response([])


DIRECTORY_LIMIT = 40


@blueprint.route("/api/v1/directory")
async def directory() -> Response:
    """The profile directory: accounts that chose to be discovered, local and known remote
    ones (`local=true`: local only), recently active (`order=active`) or new first."""
    viewer_id = await viewer("read:accounts")
    params = await read_params()
    limit, offset = offset_page(params, DIRECTORY_LIMIT)
    order = params.text("order", "active", max_length=20) or "active"
    rt = runtime()
    try:
        rows = await profiles.directory(
            rt,
            order=order,
            local_only=bool(params.flag("local", False)),
            viewer_id=viewer_id,
            offset=offset,
            limit=limit,
        )
    except ValueError as exc:
        raise ApiError(422, str(exc)) from None
    rows = await with_emojis(rt, rows)
    response = json_response([account_entity(rt.config, r) for r in rows])
    return set_offset_links(response, len(rows), limit, offset)


@blueprint.route("/api/v1/emails/confirmations", methods=["POST"])
async def resend_confirmation() -> Response:
    """Send the confirmation e-mail again (to `email`, which replaces the address, when
    given); only while the address awaits confirmation."""
    info = await pending_user_auth()
    params = await read_params()
    email = params.text("email", max_length=320)
    try:
        await account_settings.resend_confirmation(runtime(), info.account_id or 0, email)
    except account_settings.ResendRefused as exc:
        raise ApiError(exc.status, str(exc)) from None
    return json_response({})


@blueprint.route("/api/v1/emails/check_confirmation")
async def check_confirmation() -> Response:
    """Whether the caller's address is confirmed: `true` or `false` (4.4)."""
    info = await pending_user_auth()
    return json_response(await account_settings.is_confirmed(runtime(), info.account_id or 0))


def _own_profile_changes(params: Params) -> profiles.ProfileChanges:
    """The fields `update_credentials` and `PATCH /api/v1/profile` share."""
    return profiles.ProfileChanges(
        display_name=params.text("display_name", max_length=1000),
        note=params.text("note", max_length=5000),
        locked=params.flag("locked"),
        bot=params.flag("bot"),
        discoverable=params.flag("discoverable"),
        indexable=params.flag("indexable"),
        hide_collections=params.flag("hide_collections"),
        fields=_fields(params),
        attribution_domains=_attribution_domains(params),
    )


async def _profile_response(account_id: int) -> Response:
    rt = runtime()
    view = await profiles.profile(rt, account_id)
    if view is None:
        raise ApiError(401, "The access token is invalid")
    return json_response(profile_entity(rt.config, view.account, view.settings, view.featured_tags))


@blueprint.route("/api/v1/profile")
@require_scope(("read:accounts", "profile"))
async def show_profile() -> Response:
    """`GET /api/v1/profile` (4.6): the caller's profile with the source of each field."""
    return await _profile_response(auth().account_id or 0)


@blueprint.route("/api/v1/profile", methods=["PATCH"])
@require_scope("write:accounts")
async def update_profile() -> Response:
    """`PATCH /api/v1/profile` (4.6): edit the profile; the Profile entity."""
    params = await read_params()
    changes = _own_profile_changes(params)
    changes.avatar_description = params.text("avatar_description", max_length=5000)
    changes.header_description = params.text("header_description", max_length=5000)
    changes.show_featured = params.flag("show_featured")
    changes.show_media = params.flag("show_media")
    changes.show_media_replies = params.flag("show_media_replies")
    await _apply_profile_changes(params, changes)
    return await _profile_response(auth().account_id or 0)


@blueprint.route("/api/v1/profile/avatar", methods=["DELETE"], defaults={"image": "avatar"})
@blueprint.route("/api/v1/profile/header", methods=["DELETE"], defaults={"image": "header"})
@require_scope("write:accounts")
async def delete_profile_image(image: str) -> Response:
    """`DELETE /api/v1/profile/avatar` and `/header`: back to the default picture; the
    CredentialAccount."""
    changes = profiles.ProfileChanges()
    setattr(changes, f"{image}_key", "")
    try:
        await profiles.update(runtime(), auth().account_id or 0, changes)
    except profiles.ProfileError as exc:
        raise _validation_error(exc.field, str(exc)) from None
    return await _credentials_response()
