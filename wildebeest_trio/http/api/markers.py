"""Read markers in the Mastodon API: `GET/POST /api/v1/markers`."""

from __future__ import annotations

from quart import Blueprint, Response

from ...ids import parse_id
from ...serializers.markers import marker_entities
from ...services import markers
from ..auth import auth, require_scope
from ..context import json_response, runtime
from ..errors import ApiError
from ..params import read_params

blueprint = Blueprint("markers", __name__)
FEATURES = frozenset({"markers"})


@blueprint.route("/api/v1/markers")
@require_scope("read:statuses")
async def show() -> Response:
    """`GET /api/v1/markers?timeline[]=home&timeline[]=notifications`."""
    params = await read_params()
    timelines = [str(t) for t in params.get_list("timeline")]
    found = await markers.get(runtime(), auth().account_id or 0, timelines)
    return json_response(marker_entities(found))


@blueprint.route("/api/v1/markers", methods=["POST"])
@require_scope("write:statuses")
async def save() -> Response:
    """`POST /api/v1/markers` with `home[last_read_id]` and/or `notifications[...]`."""
    params = await read_params()
    positions: dict[str, int] = {}
    for timeline in markers.TIMELINES:
        value = params.get(f"{timeline}[last_read_id]")
        if value is None:
            continue
        position = parse_id(value)
        if position is None:
            raise ApiError(422, f"Validation failed: {timeline} last_read_id is invalid")
        positions[timeline] = position
    if not positions:
        raise ApiError(400, "home[last_read_id] or notifications[last_read_id] is required")
    found = await markers.save(runtime(), auth().account_id or 0, positions)
    return json_response(marker_entities(found))
