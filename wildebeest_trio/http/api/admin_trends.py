"""Mastodon's admin trends API: links, statuses and tags to review, approve or reject."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from quart import Blueprint, Response

from ... import roles
from ...serializers.preview_cards import trends_link_entity
from ...serializers.statuses import status_entities
from ...serializers.tags import tag_entity
from ...serializers.time import iso_ms
from ...services import trends
from ..auth import require_scope
from ..context import json_response, runtime
from ..errors import ApiError
from ..paging import offset_page, set_offset_links
from ..params import read_params
from .admin import admin_errors, staff

blueprint = Blueprint("admin_trends_api", __name__)


@blueprint.route("/api/v1/admin/trends/links")
@require_scope("admin:read")
async def links() -> Response:
    """`GET /api/v1/admin/trends/links`: links shared lately, reviewed or not."""
    limit, offset = offset_page(await read_params(), 10)
    with admin_errors():
        staff().require(roles.MANAGE_TAXONOMIES)
    found = (await trends.links_to_review(runtime(), limit + offset))[offset:]
    config = runtime().config
    entities = [
        {
            **trends_link_entity(config, r.card, None, []),
            "id": str(r.card["id"]),
            "requires_review": r.card["trendable"] is None,
        }
        for r in found
    ]
    return set_offset_links(json_response(entities), len(found), limit, offset)


def _publisher_entity(row: Mapping[str, Any]) -> dict[str, Any]:
    """Mastodon's Admin::Trends::Links::PreviewCardProvider."""
    return {
        "id": str(row["id"]),
        "domain": row["domain"],
        "trendable": bool(row["trendable"]),
        "reviewed_at": iso_ms(row["reviewed_at"]),
        "requested_review_at": iso_ms(row["requested_review_at"]),
        "requires_review": row["trendable"] is None,
    }


@blueprint.route("/api/v1/admin/trends/links/publishers")
@require_scope("admin:read")
async def publishers() -> Response:
    """`GET /api/v1/admin/trends/links/publishers`: the publishers of links."""
    limit, offset = offset_page(await read_params(), 40)
    with admin_errors():
        rows = await trends.publishers(runtime(), staff(), limit, offset)
    entities = [_publisher_entity(r) for r in rows]
    return set_offset_links(json_response(entities), len(entities), limit, offset)


@blueprint.route("/api/v1/admin/trends/links/publishers/<id:provider_id>/<verb>", methods=["POST"])
@require_scope("admin:write")
async def publisher_review(provider_id: int, verb: str) -> Response:
    """`POST /api/v1/admin/trends/links/publishers/:id/approve` (or `reject`)."""
    if verb not in ("approve", "reject"):
        raise ApiError(404, "Record not found")
    with admin_errors():
        row = await trends.review_publisher(runtime(), staff(), provider_id, verb == "approve")
    return json_response(_publisher_entity(row))


@blueprint.route("/api/v1/admin/trends/statuses")
@require_scope("admin:read")
async def statuses() -> Response:
    limit, offset = offset_page(await read_params(), 20)
    with admin_errors():
        bundle = await trends.statuses_to_review(runtime(), staff(), limit, offset)
    entities = status_entities(runtime().config, bundle)
    for entity in entities:
        row = bundle.statuses[int(entity["id"])]
        entity["requires_review"] = row["trendable"] is None
    return set_offset_links(json_response(entities), len(entities), limit, offset)


@blueprint.route("/api/v1/admin/trends/tags")
@require_scope("admin:read")
async def tags() -> Response:
    """`GET /api/v1/admin/trends/tags`: Admin::Tag entities."""
    limit, offset = offset_page(await read_params(), 10)
    with admin_errors():
        views = await trends.tags_to_review(runtime(), staff(), limit, offset)
    config = runtime().config
    entities = [
        {
            **tag_entity(config, v.tag, v.history, following=None),
            "trendable": v.tag["trendable"] is None or bool(v.tag["trendable"]),
            "usable": True,
            "listable": True,
            "requires_review": v.tag["trendable"] is None,
        }
        for v in views
    ]
    return set_offset_links(json_response(entities), len(entities), limit, offset)


def _review(kind: str, approved: bool) -> Callable[[int], Awaitable[Response]]:
    verb = "approve" if approved else "reject"

    async def endpoint(item_id: int) -> Response:
        with admin_errors():
            if kind == "links":
                try:
                    await trends.review_link(runtime(), staff(), item_id, approved)
                except trends.LinkNotFound:
                    raise ApiError(404, "Record not found") from None
            else:
                await trends.review(runtime(), staff(), kind[:-1], item_id, approved)
        return json_response({"id": str(item_id), "requires_review": False})

    endpoint.__name__ = f"{kind}_{verb}"
    endpoint.__doc__ = f"`POST /api/v1/admin/trends/{kind}/:id/{verb}`."
    wrapped = require_scope("admin:write")(endpoint)
    blueprint.route(f"/api/v1/admin/trends/{kind}/<id:item_id>/{verb}", methods=["POST"])(wrapped)
    return wrapped


for _kind in ("links", "statuses", "tags"):
    _review(_kind, True)
    _review(_kind, False)
