"""OAuth client registration: `POST /api/v1/apps` and `GET /api/v1/apps/verify_credentials`."""

from __future__ import annotations

from quart import Blueprint, Response

from ...serializers.apps import application_entity
from ...services import oauth
from ...services.instance import instance_facts
from ..auth import APP_REGISTRATION_LIMIT, auth, check_client_limit, require_scope
from ..context import json_response, runtime
from ..errors import ApiError
from ..params import read_params

blueprint = Blueprint("oauth_apps", __name__)


@blueprint.route("/api/v1/apps", methods=["POST"])
async def create_app() -> Response:
    check_client_limit("apps", APP_REGISTRATION_LIMIT)
    params = await read_params()
    uris = params.get_list("redirect_uris")
    if len(uris) == 1 and "\n" in str(uris[0]):
        uris = str(uris[0]).split("\n")  # Mastodon's own newline-joined form
    try:
        app = await oauth.register_application(
            runtime(),
            name=params.text("client_name", "", max_length=200) or "",
            redirect_uris=[str(u) for u in uris if str(u).strip()],
            scopes=params.text("scopes", max_length=2000),
            website=params.text("website", max_length=2000) or None,
        )
    except oauth.AppValidationError as exc:
        raise ApiError(
            422,
            f"Validation failed: {exc.field} {exc}",
            details={exc.field: [{"error": "ERR_INVALID", "description": str(exc)}]},
        ) from None
    return json_response(application_entity(app, await _vapid_key(), with_secret=True))


@blueprint.route("/api/v1/apps/verify_credentials")
@require_scope(None, user=False)
async def verify_app() -> Response:
    info = auth()
    app = await oauth.application_by_id(runtime(), info.application_id or 0)
    if app is None:
        raise ApiError(401, "The access token is invalid")
    return json_response(application_entity(app, await _vapid_key(), with_secret=False))


async def _vapid_key() -> str | None:
    facts = await instance_facts(runtime())
    return facts.vapid_public_key
