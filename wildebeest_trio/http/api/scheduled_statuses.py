"""Scheduled statuses in the Mastodon API: list, read, reschedule, cancel."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from quart import Blueprint, Response

from ...serializers.scheduled import scheduled_status_entity
from ...services import scheduled
from ..auth import auth, require_scope
from ..context import json_response, runtime
from ..errors import ApiError, not_found
from ..paging import page_from, service_errors, set_link_header
from ..params import read_params

blueprint = Blueprint("scheduled_statuses", __name__)
FEATURES = frozenset({"scheduled_statuses"})
READ = "read:statuses"
WRITE = "write:statuses"


@contextmanager
def _errors() -> Iterator[None]:
    with service_errors():
        try:
            yield
        except scheduled.ScheduledNotFound:
            raise not_found() from None


def entity(view: scheduled.ScheduledView) -> dict:
    """A service's view as the API answers it."""
    return scheduled_status_entity(runtime().config, view.row, view.media)


@blueprint.route("/api/v1/scheduled_statuses")
@require_scope(READ)
async def index() -> Response:
    """`GET /api/v1/scheduled_statuses` (paginated by id)."""
    page = page_from(await read_params())
    views = await scheduled.page(runtime(), auth().account_id or 0, page)
    response = json_response([entity(v) for v in views])
    return set_link_header(response, [v.row["id"] for v in views], page)


@blueprint.route("/api/v1/scheduled_statuses/<id:scheduled_id>")
@require_scope(READ)
async def show(scheduled_id: int) -> Response:
    """`GET /api/v1/scheduled_statuses/:id`."""
    with _errors():
        view = await scheduled.show(runtime(), auth().account_id or 0, scheduled_id)
    return json_response(entity(view))


@blueprint.route("/api/v1/scheduled_statuses/<id:scheduled_id>", methods=["PUT"])
@require_scope(WRITE)
async def update(scheduled_id: int) -> Response:
    """`PUT /api/v1/scheduled_statuses/:id` (`scheduled_at`)."""
    params = await read_params()
    text = params.text("scheduled_at", max_length=100)
    if not text:
        raise ApiError(422, "Validation failed: Scheduled at can't be blank")
    with _errors():
        view = await scheduled.reschedule(
            runtime(), auth().account_id or 0, scheduled_id, scheduled.parse_time(text)
        )
    return json_response(entity(view))


@blueprint.route("/api/v1/scheduled_statuses/<id:scheduled_id>", methods=["DELETE"])
@require_scope(WRITE)
async def delete(scheduled_id: int) -> Response:
    """`DELETE /api/v1/scheduled_statuses/:id`."""
    with _errors():
        await scheduled.cancel(runtime(), auth().account_id or 0, scheduled_id)
    return json_response({})
