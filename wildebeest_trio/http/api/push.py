"""`/api/v1/push/subscription`: the Web Push subscription of the calling access token."""

from __future__ import annotations

from quart import Blueprint, Response

from ...serializers.web_push import subscription_entity
from ...services import web_push
from ...services.instance import instance_facts
from ...services.types import Row
from ..auth import auth, require_scope
from ..context import json_response, runtime
from ..errors import ApiError, not_found
from ..params import Params, read_params

blueprint = Blueprint("push", __name__)
# RFC 8291/8292 push (`subscription[standard]`) is what API level 4 announces.
FEATURES = frozenset({"standard_web_push"})

PATH = "/api/v1/push/subscription"


def _alerts(params: Params) -> dict[str, bool | None]:
    return {kind: params.flag(f"data[alerts][{kind}]") for kind in web_push.ALERT_TYPES}


async def _entity(row: Row) -> Response:
    facts = await instance_facts(runtime())
    return json_response(subscription_entity(row, facts.vapid_public_key or ""))


def _policy(params: Params) -> str | None:
    # Mastodon reads `data[policy]`; Mastodon.py sends a top-level `policy`.
    value = params.text("data[policy]", max_length=20) or params.text("policy", max_length=20)
    return str(value) if value else None


def _required(params: Params, name: str) -> str:
    value = params.text(name, max_length=web_push.MAX_ENDPOINT_LENGTH)
    if not value:
        raise ApiError(422, f"Validation failed: {name} can't be blank")
    return str(value)


@blueprint.route(PATH, methods=["POST"])
@require_scope("push")
async def create() -> Response:
    """Subscribe the token (replacing its subscription), after a trial encryption."""
    params = await read_params()
    info = auth()
    assert info.account_id is not None  # require_scope demands a user
    try:
        row = await web_push.subscribe(
            runtime(),
            token_id=info.token_id,
            account_id=info.account_id,
            endpoint=_required(params, "subscription[endpoint]"),
            p256dh=_required(params, "subscription[keys][p256dh]"),
            auth=_required(params, "subscription[keys][auth]"),
            standard=bool(params.flag("subscription[standard]", False)),
            alerts=_alerts(params),
            policy=_policy(params),
        )
    except web_push.InvalidSubscription as exc:
        raise ApiError(422, f"Validation failed: {exc}") from None
    return await _entity(row)


@blueprint.route(PATH, methods=["GET"])
@require_scope("push")
async def show() -> Response:
    """The token's subscription; 404 without one."""
    row = await web_push.subscription(runtime(), auth().token_id)
    if row is None:
        raise not_found()
    return await _entity(row)


@blueprint.route(PATH, methods=["PUT"])
@require_scope("push")
async def update() -> Response:
    """Change the alerts and policy only; 404 without a subscription."""
    params = await read_params()
    try:
        row = await web_push.update(
            runtime(),
            auth().token_id,
            alerts=_alerts(params),
            policy=_policy(params),
        )
    except web_push.InvalidSubscription as exc:
        raise ApiError(422, f"Validation failed: {exc}") from None
    if row is None:
        raise not_found()
    return await _entity(row)


@blueprint.route(PATH, methods=["DELETE"])
@require_scope("push")
async def destroy() -> Response:
    """Unsubscribe; `{}` whether or not there was a subscription (as Mastodon)."""
    await web_push.unsubscribe(runtime(), auth().token_id)
    return json_response({})
