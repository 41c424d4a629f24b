"""Polls in the Mastodon API: read one, vote."""

from __future__ import annotations

from quart import Blueprint, Response

from ...ids import parse_id
from ...serializers.polls import poll_entity
from ...services import polls
from ..auth import auth, require_scope
from ..context import json_response, runtime
from ..errors import ApiError
from ..paging import service_errors, viewer
from ..params import read_params

blueprint = Blueprint("polls", __name__)
FEATURES = frozenset({"polls"})


def _entity(view: polls.PollView) -> Response:
    return json_response(poll_entity(view.poll, view.viewer_id, view.own_votes))


@blueprint.route("/api/v1/polls/<id:poll_id>")
async def show(poll_id: int) -> Response:
    """`GET /api/v1/polls/:id` (404 unless the viewer may see its status)."""
    account_id = await viewer("read:statuses")
    with service_errors():
        view = await polls.show(runtime(), poll_id, account_id)
    return _entity(view)


@blueprint.route("/api/v1/polls/<id:poll_id>/votes", methods=["POST"])
@require_scope("write:statuses")
async def vote(poll_id: int) -> Response:
    """`POST /api/v1/polls/:id/votes` with `choices[]` (option indices)."""
    params = await read_params()
    raw = params.get_list("choices")
    if len(raw) > polls.MAX_OPTIONS:
        raise ApiError(422, "Validation failed: The chosen vote option does not exist")
    choices: list[int] = []
    for value in raw:
        choice = parse_id(value.strip() if isinstance(value, str) else value)
        if choice is None:
            raise ApiError(422, "Validation failed: The chosen vote option does not exist")
        choices.append(choice)
    with service_errors():
        view = await polls.vote(runtime(), auth().account_id or 0, poll_id, choices)
    return _entity(view)
