"""Collections (Mastodon 4.6): `/api/v1/collections`, its items, and an account's
collections and the collections it is in."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from quart import Blueprint, Response

from ...serializers.accounts import account_entity
from ...serializers.collections import collection_entity, item_entity
from ...services import collections, profiles
from ...services.collections import CollectionFields, CollectionView
from ...services.custom_emoji import with_emojis
from ..auth import auth, require_scope
from ..context import json_response, runtime
from ..errors import ApiError, not_found
from ..paging import id_or_404, offset_page, service_errors, set_offset_links, viewer
from ..params import Params, read_params

blueprint = Blueprint("collections", __name__)
FEATURES = frozenset({"collections"})


@contextmanager
def _errors() -> Iterator[None]:
    try:
        with service_errors():
            yield
    except (collections.CollectionNotFound, collections.CollectionItemNotFound):
        raise not_found() from None
    except collections.CollectionForbidden as exc:
        raise ApiError(403, str(exc)) from None
    except collections.CollectionInvalid as exc:
        raise ApiError(422, str(exc)) from None


def _fields(params: Params) -> CollectionFields:
    return CollectionFields(
        name=params.text("name", None, max_length=1000),
        description=params.text("description", None, max_length=10_000),
        language=params.text("language", None, max_length=20),
        sensitive=params.flag("sensitive", None),
        discoverable=params.flag("discoverable", None),
        tag_name=params.text("tag_name", None, max_length=300),
    )


def _entity(view: CollectionView) -> dict[str, Any]:
    return collection_entity(runtime().config, view.row, view.items, view.tag, view.owner_uri)


def _me() -> int:
    return auth().account_id or 0


@blueprint.route("/api/v1/collections", methods=["POST"])
@require_scope("write:collections")
async def create() -> Response:
    """`POST /api/v1/collections` (`name`, `description`, `language`, `sensitive`,
    `discoverable`, `tag_name`, `account_ids[]`): `{"collection": Collection}`."""
    params = await read_params()
    account_ids = [id_or_404(i) for i in params.get_list("account_ids")]
    with _errors():
        view = await collections.create(runtime(), _me(), _fields(params), account_ids)
    return json_response({"collection": _entity(view)})


@blueprint.route("/api/v1/collections/<id:collection_id>")
async def show(collection_id: int) -> Response:
    """`GET /api/v1/collections/:id`: CollectionWithAccounts."""
    account_id = await viewer("read:collections")
    rt = runtime()
    with _errors():
        view = await collections.show(rt, collection_id, account_id)
    rows = await with_emojis(rt, await profiles.accounts_by_ids(rt, view.account_ids))
    return json_response(
        {"accounts": [account_entity(rt.config, r) for r in rows], "collection": _entity(view)}
    )


@blueprint.route("/api/v1/collections/<id:collection_id>", methods=["PATCH"])
@require_scope("write:collections")
async def update(collection_id: int) -> Response:
    """`PATCH /api/v1/collections/:id`: `{"collection": Collection}`."""
    params = await read_params()
    with _errors():
        view = await collections.update(runtime(), _me(), collection_id, _fields(params))
    return json_response({"collection": _entity(view)})


@blueprint.route("/api/v1/collections/<id:collection_id>", methods=["DELETE"])
@require_scope("write:collections")
async def delete(collection_id: int) -> Response:
    """`DELETE /api/v1/collections/:id`: an empty object."""
    with _errors():
        await collections.delete(runtime(), _me(), collection_id)
    return json_response({})


@blueprint.route("/api/v1/collections/<id:collection_id>/items", methods=["POST"])
@require_scope("write:collections")
async def add_item(collection_id: int) -> Response:
    """`POST /api/v1/collections/:id/items` (`account_id`): `{"collection_item": ...}`."""
    params = await read_params()
    raw = params.get("account_id")
    if raw is None or raw == "":
        raise ApiError(422, "`account_id` parameter is missing")
    with _errors():
        item = await collections.add_item(runtime(), _me(), collection_id, id_or_404(raw))
    return json_response({"collection_item": item_entity(item)})


@blueprint.route("/api/v1/collections/<id:collection_id>/items/<id:item_id>", methods=["DELETE"])
@require_scope("write:collections")
async def remove_item(collection_id: int, item_id: int) -> Response:
    """`DELETE /api/v1/collections/:id/items/:item_id`."""
    with _errors():
        await collections.remove_item(runtime(), _me(), collection_id, item_id)
    return json_response({})


@blueprint.route(
    "/api/v1/collections/<id:collection_id>/items/<id:item_id>/revoke", methods=["POST"]
)
@require_scope("write:collections")
async def revoke_item(collection_id: int, item_id: int) -> Response:
    """`POST /api/v1/collections/:id/items/:item_id/revoke`: the featured account leaves."""
    with _errors():
        await collections.revoke_item(runtime(), _me(), collection_id, item_id)
    return json_response({})


async def _listed(found: list[CollectionView], limit: int, offset: int) -> Response:
    response = json_response({"collections": [_entity(v) for v in found]})
    return set_offset_links(response, len(found), limit, offset)


@blueprint.route("/api/v1/accounts/<id:account_id>/collections")
async def of_account(account_id: int) -> Response:
    """`GET /api/v1/accounts/:id/collections` (`limit`, `offset`): `{"collections": [...]}`."""
    me = await viewer("read:collections")
    limit, offset = offset_page(await read_params(), collections.DEFAULT_LIMIT)
    with _errors():
        found = await collections.of_account(runtime(), account_id, me, limit=limit, offset=offset)
    return await _listed(found, limit, offset)


@blueprint.route("/api/v1/accounts/<id:account_id>/in_collections")
async def featuring(account_id: int) -> Response:
    """`GET /api/v1/accounts/:id/in_collections`: the collections featuring the account."""
    me = await viewer("read:collections")
    limit, offset = offset_page(await read_params(), collections.DEFAULT_LIMIT)
    with _errors():
        found = await collections.featuring(runtime(), account_id, me, limit=limit, offset=offset)
    return await _listed(found, limit, offset)
