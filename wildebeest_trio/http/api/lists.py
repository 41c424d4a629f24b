"""Lists in the Mastodon API: CRUD, members, the accounts' lists, and list timelines."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from quart import Blueprint, Response

from ...serializers.accounts import account_entity
from ...serializers.lists import list_entity
from ...serializers.statuses import status_entity
from ...services import filters, lists
from ...services.lists import InvalidList, ListNotFound
from ...services.types import Page
from ..auth import auth, require_scope
from ..context import json_response, runtime
from ..errors import ApiError, not_found
from ..paging import ACCOUNT_LIMIT, id_or_404, page_from, set_link_header
from ..params import Params, read_params

blueprint = Blueprint("lists", __name__)
FEATURES = frozenset({"lists"})


@contextmanager
def _list_errors() -> Iterator[None]:
    try:
        yield
    except ListNotFound:
        raise not_found() from None
    except InvalidList as exc:
        raise ApiError(422, str(exc)) from None


def _member_ids(params: Params) -> list[int]:
    ids = [id_or_404(i) for i in params.get_list("account_ids")]
    if not ids:
        raise ApiError(422, "account_ids is required")
    return ids


def _me() -> int:
    return auth().account_id or 0


@blueprint.route("/api/v1/lists")
@require_scope("read:lists")
async def index() -> Response:
    """`GET /api/v1/lists`."""
    return json_response([list_entity(r) for r in await lists.all_lists(runtime(), _me())])


@blueprint.route("/api/v1/lists", methods=["POST"])
@require_scope("write:lists")
async def create() -> Response:
    """`POST /api/v1/lists` (`title`, `replies_policy`, `exclusive`)."""
    params = await read_params()
    with _list_errors():
        row = await lists.create(
            runtime(),
            _me(),
            params.text("title", "", max_length=1000) or "",
            params.text("replies_policy", "list", max_length=20) or "list",
            bool(params.flag("exclusive", False)),
        )
    return json_response(list_entity(row))


@blueprint.route("/api/v1/lists/<id:list_id>")
@require_scope("read:lists")
async def show(list_id: int) -> Response:
    """`GET /api/v1/lists/:id`."""
    with _list_errors():
        row = await lists.show(runtime(), _me(), list_id)
    return json_response(list_entity(row))


@blueprint.route("/api/v1/lists/<id:list_id>", methods=["PUT"])
@require_scope("write:lists")
async def update(list_id: int) -> Response:
    """`PUT /api/v1/lists/:id`."""
    params = await read_params()
    with _list_errors():
        row = await lists.update(
            runtime(),
            _me(),
            list_id,
            params.text("title", max_length=1000),
            params.text("replies_policy", max_length=20),
            params.flag("exclusive"),
        )
    return json_response(list_entity(row))


@blueprint.route("/api/v1/lists/<id:list_id>", methods=["DELETE"])
@require_scope("write:lists")
async def delete(list_id: int) -> Response:
    """`DELETE /api/v1/lists/:id`."""
    with _list_errors():
        await lists.delete(runtime(), _me(), list_id)
    return json_response({})


@blueprint.route("/api/v1/lists/<id:list_id>/accounts")
@require_scope("read:lists")
async def members(list_id: int) -> Response:
    """`GET /api/v1/lists/:id/accounts` (`limit=0` for all of them)."""
    params = await read_params()
    page = page_from(params, ACCOUNT_LIMIT)
    if params.integer("limit") == 0:
        page = Page(limit=10_000, max_id=page.max_id, since_id=page.since_id, min_id=page.min_id)
    with _list_errors():
        rows = await lists.members(runtime(), _me(), list_id, page)
    config = runtime().config
    response = json_response([account_entity(config, r) for r in rows])
    return set_link_header(
        response, [r["page_id"] for r in rows], page, more=len(rows) == page.limit
    )


@blueprint.route("/api/v1/lists/<id:list_id>/accounts", methods=["POST"])
@require_scope("write:lists")
async def add_members(list_id: int) -> Response:
    """`POST /api/v1/lists/:id/accounts` with `account_ids[]` (followed accounts only)."""
    params = await read_params()
    with _list_errors():
        await lists.add(runtime(), _me(), list_id, _member_ids(params))
    return json_response({})


@blueprint.route("/api/v1/lists/<id:list_id>/accounts", methods=["DELETE"])
@require_scope("write:lists")
async def remove_members(list_id: int) -> Response:
    """`DELETE /api/v1/lists/:id/accounts` with `account_ids[]`."""
    params = await read_params()
    with _list_errors():
        await lists.remove(runtime(), _me(), list_id, _member_ids(params))
    return json_response({})


@blueprint.route("/api/v1/accounts/<id:account_id>/lists")
@require_scope("read:lists")
async def account_lists(account_id: int) -> Response:
    """`GET /api/v1/accounts/:id/lists`: the caller's lists holding that account."""
    rows = await lists.containing(runtime(), _me(), account_id)
    return json_response([list_entity(r) for r in rows])


@blueprint.route("/api/v1/timelines/list/<id:list_id>")
@require_scope("read:lists")
async def timeline(list_id: int) -> Response:
    """`GET /api/v1/timelines/list/:id`."""
    page = page_from(await read_params())
    with _list_errors():
        bundle = await lists.timeline(runtime(), _me(), list_id, page)
    config = runtime().config
    shown = filters.visible_order(bundle, "home")  # Mastodon filters lists as home
    response = json_response([status_entity(config, bundle, i) for i in shown])
    return set_link_header(response, bundle.order, page)
