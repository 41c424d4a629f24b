"""`/api/v1/announcements`: read, dismiss and react to the admins' announcements."""

from __future__ import annotations

from urllib.parse import unquote

from quart import Blueprint, Response

from ...serializers.announcements import announcement_entity
from ...services import announcements
from ..auth import auth, require_scope
from ..context import json_response, runtime
from ..errors import ApiError, not_found
from ..params import read_params

blueprint = Blueprint("announcements", __name__)
FEATURES = frozenset({"announcements"})


@blueprint.route("/api/v1/announcements")
@require_scope("read")
async def listing() -> Response:
    """`GET /api/v1/announcements` (`with_dismissed`)."""
    params = await read_params()
    rt = runtime()
    views = await announcements.for_viewer(
        rt, auth().account_id or 0, with_dismissed=bool(params.flag("with_dismissed", False))
    )
    return json_response([announcement_entity(rt.config, v) for v in views])


@blueprint.route("/api/v1/announcements/<id:announcement_id>/dismiss", methods=["POST"])
@require_scope("write:accounts")
async def dismiss(announcement_id: int) -> Response:
    """`POST /api/v1/announcements/:id/dismiss`."""
    try:
        await announcements.dismiss(runtime(), auth().account_id or 0, announcement_id)
    except announcements.AnnouncementNotFound:
        raise not_found() from None
    return json_response({})


async def _react(announcement_id: int, name: str, on: bool) -> Response:
    try:
        await announcements.react(
            runtime(), auth().account_id or 0, announcement_id, unquote(name), on=on
        )
    except announcements.AnnouncementNotFound:
        raise not_found() from None
    except announcements.AnnouncementError as exc:
        raise ApiError(422, str(exc)) from None
    return json_response({})


@blueprint.route("/api/v1/announcements/<id:announcement_id>/reactions/<name>", methods=["PUT"])
@require_scope("write:favourites")
async def add_reaction(announcement_id: int, name: str) -> Response:
    """`PUT /api/v1/announcements/:id/reactions/:name`."""
    return await _react(announcement_id, name, True)


@blueprint.route("/api/v1/announcements/<id:announcement_id>/reactions/<name>", methods=["DELETE"])
@require_scope("write:favourites")
async def remove_reaction(announcement_id: int, name: str) -> Response:
    """`DELETE /api/v1/announcements/:id/reactions/:name`."""
    return await _react(announcement_id, name, False)
