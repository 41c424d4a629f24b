"""Hashtags in the Mastodon API: a tag, following it, and the tags one follows."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from quart import Blueprint, Response

from ...serializers.tags import tag_entity
from ...services import featured_tags, tags, trends
from ...services.tags import TagNotFound, TagView
from ..auth import auth, require_scope
from ..context import json_response, runtime
from ..errors import ApiError
from ..paging import offset_page, page_from, set_link_header, set_offset_links, viewer
from ..params import read_params

blueprint = Blueprint("tags", __name__)
FEATURES = frozenset({"followed_tags"})
FOLLOWED_TAGS_LIMIT = 100  # Mastodon's default for this list (at most 200)


@contextmanager
def _tag_errors() -> Iterator[None]:
    try:
        yield
    except TagNotFound as exc:
        raise ApiError(404, str(exc)) from None


def _entity(view: TagView) -> Response:
    return json_response(
        tag_entity(
            runtime().config,
            view.tag,
            view.history,
            following=view.following,
            featuring=view.featuring,
        )
    )


@blueprint.route("/api/v1/tags/<name>")
async def show(name: str) -> Response:
    """`GET /api/v1/tags/:name`."""
    account_id = await viewer("read", "read:statuses")
    with _tag_errors():
        view = await tags.show(runtime(), name, account_id)
    return _entity(view)


@blueprint.route("/api/v1/tags/<name>/follow", methods=["POST"])
@require_scope("write:follows")
async def follow(name: str) -> Response:
    """`POST /api/v1/tags/:name/follow`."""
    with _tag_errors():
        view = await tags.follow(runtime(), auth().account_id or 0, name, True)
    return _entity(view)


@blueprint.route("/api/v1/tags/<name>/unfollow", methods=["POST"])
@require_scope("write:follows")
async def unfollow(name: str) -> Response:
    """`POST /api/v1/tags/:name/unfollow`."""
    with _tag_errors():
        view = await tags.follow(runtime(), auth().account_id or 0, name, False)
    return _entity(view)


@blueprint.route("/api/v1/tags/<name>/feature", methods=["POST"], defaults={"on": True})
@blueprint.route("/api/v1/tags/<name>/unfeature", methods=["POST"], defaults={"on": False})
@require_scope("write:accounts")
async def feature(name: str, on: bool) -> Response:
    """Feature a hashtag on one's profile, or stop (4.4); the Tag with `featuring`."""
    try:
        with _tag_errors():
            view = await featured_tags.feature_tag(runtime(), auth().account_id or 0, name, on)
    except featured_tags.FeaturedTagError as exc:
        raise ApiError(422, str(exc)) from None
    return _entity(view)


@blueprint.route("/api/v1/followed_tags")
@require_scope("read:follows")
async def followed_tags() -> Response:
    """`GET /api/v1/followed_tags`, paginated by when each was followed."""
    page = page_from(await read_params(), FOLLOWED_TAGS_LIMIT)
    views = await tags.followed(runtime(), auth().account_id or 0, page)
    config = runtime().config
    response = json_response(
        [tag_entity(config, v.tag, v.history, following=v.following) for v in views]
    )
    return set_link_header(
        response, [v.tag["page_id"] for v in views], page, more=len(views) == page.limit
    )


@blueprint.route("/api/v1/trends")
@blueprint.route("/api/v1/trends/tags")
async def trending_tags() -> Response:
    """`GET /api/v1/trends/tags` (offset paging; 10 by default, at most 20)."""
    account_id = await viewer("read", "read:statuses")
    limit, offset = offset_page(await read_params(), 10)
    views = await trends.tags(runtime(), account_id, limit, offset)
    config = runtime().config
    response = json_response(
        [tag_entity(config, v.tag, v.history, following=v.following) for v in views]
    )
    return set_offset_links(response, len(views), limit, offset)
