"""`/api/v1/featured_tags` and `/api/v1/accounts/:id/featured_tags`."""

from __future__ import annotations

from quart import Blueprint, Response

from ...serializers.featured_tags import featured_tag_entity
from ...serializers.tags import tag_entity
from ...services import featured_tags
from ..auth import auth, require_scope
from ..context import json_response, runtime
from ..errors import ApiError, not_found
from ..paging import service_errors, viewer
from ..params import read_params

blueprint = Blueprint("featured_tags", __name__)
FEATURES = frozenset({"featured_tags"})


def _entities(found: list[featured_tags.FeaturedTag]) -> Response:
    config = runtime().config
    return json_response([featured_tag_entity(config, f.row, f.account) for f in found])


@blueprint.route("/api/v1/featured_tags")
@require_scope("read:accounts")
async def mine() -> Response:
    """`GET /api/v1/featured_tags`: the caller's featured tags."""
    return _entities(await featured_tags.featured(runtime(), auth().account_id or 0))


@blueprint.route("/api/v1/featured_tags", methods=["POST"])
@require_scope("write:accounts")
async def feature() -> Response:
    """`POST /api/v1/featured_tags` (`name`)."""
    params = await read_params()
    name = params.text("name", "", max_length=300) or ""
    if not name.strip():
        raise ApiError(422, "Validation failed: Tag can't be blank")
    try:
        found = await featured_tags.feature(runtime(), auth().account_id or 0, name)
    except featured_tags.FeaturedTagError as exc:
        raise ApiError(422, str(exc)) from None
    return json_response(featured_tag_entity(runtime().config, found.row, found.account))


@blueprint.route("/api/v1/featured_tags/<id:featured_id>", methods=["DELETE"])
@require_scope("write:accounts")
async def unfeature(featured_id: int) -> Response:
    """`DELETE /api/v1/featured_tags/:id`."""
    try:
        await featured_tags.unfeature(runtime(), auth().account_id or 0, featured_id)
    except featured_tags.FeaturedTagNotFound:
        raise not_found() from None
    return json_response({})


@blueprint.route("/api/v1/featured_tags/suggestions")
@require_scope("read:accounts")
async def suggestions() -> Response:
    """`GET /api/v1/featured_tags/suggestions`: the caller's most used tags (Tag entities)."""
    config = runtime().config
    views = await featured_tags.suggestions(runtime(), auth().account_id or 0)
    return json_response(
        [tag_entity(config, v.tag, v.history, following=v.following) for v in views]
    )


@blueprint.route("/api/v1/accounts/<id:account_id>/featured_tags")
async def of_account(account_id: int) -> Response:
    """`GET /api/v1/accounts/:id/featured_tags`."""
    await viewer("read:accounts")
    with service_errors():
        found = await featured_tags.featured(runtime(), account_id)
    return _entities(found)
