"""Timelines in the Mastodon API: home, public, account statuses, favourites, bookmarks."""

from __future__ import annotations

from quart import Blueprint, Response

from ...serializers.preview_cards import trends_link_entity
from ...serializers.statuses import (
    conversation_entity,
    status_entities,
    statuses_json,
)
from ...services import conversations, filters, timelines, trends
from ...services.types import Page, StatusBundle
from ..auth import auth, caller, require_scope, token_in_unit
from ..context import json_response, runtime
from ..errors import ApiError, not_found
from ..paging import (
    offset_page,
    page_from,
    service_errors,
    set_link_header,
    set_offset_links,
    viewer,
)
from ..params import read_params

blueprint = Blueprint("timelines", __name__)
FEATURES = frozenset({"timelines"})


def _page_response(
    bundle: StatusBundle, page: Page, *, by_cursor: bool = False, context: str | None = None
) -> Response:
    """The statuses, with a `Link` header on their ids (or on the favourite/bookmark ids);
    with a filter `context`, minus what the viewer's `hide` filters remove there (the
    links still step over the whole page)."""
    shown = filters.visible_order(bundle, context) if context else bundle.order
    config = runtime().config
    # The statuses' JSON joined: each kept status's own part was encoded once.
    response = json_response(statuses_json(config, bundle, shown))
    cursors = [bundle.cursors[i] for i in bundle.order] if by_cursor else bundle.order
    # Like Mastodon, lists keyed by another table only offer `next` on a full page.
    more = len(bundle.order) == page.limit if by_cursor else True
    return set_link_header(response, cursors, page, more=more)


@blueprint.route("/api/v1/timelines/home")
@token_in_unit("read:statuses")
async def home() -> Response:
    """`GET /api/v1/timelines/home`."""
    page = page_from(await read_params())
    bundle = await timelines.home(runtime(), caller(), page)
    return _page_response(bundle, page, context="home")


@blueprint.route("/api/v1/timelines/public")
@token_in_unit("read:statuses", user=False, anonymous=True)
async def public() -> Response:
    """`GET /api/v1/timelines/public` (`local`, `remote`, `only_media`)."""
    params = await read_params()
    page = page_from(params)
    bundle = await timelines.public(
        runtime(),
        caller(),
        page,
        local=bool(params.flag("local", False)),
        remote=bool(params.flag("remote", False)),
        only_media=bool(params.flag("only_media", False)),
    )
    return _page_response(bundle, page, context="public")


@blueprint.route("/api/v1/timelines/tag/<hashtag>")
@token_in_unit("read:statuses", user=False, anonymous=True)
async def tag(hashtag: str) -> Response:
    """`GET /api/v1/timelines/tag/:hashtag` (`any[]`, `all[]`, `none[]`, `local`, `remote`)."""
    params = await read_params()
    page = page_from(params)
    bundle = await timelines.tag(
        runtime(),
        caller(),
        page,
        hashtag,
        any_of=[str(v) for v in params.get_list("any")],
        all_of=[str(v) for v in params.get_list("all")],
        none_of=[str(v) for v in params.get_list("none")],
        local=bool(params.flag("local", False)),
        remote=bool(params.flag("remote", False)),
        only_media=bool(params.flag("only_media", False)),
    )
    return _page_response(bundle, page, context="public")


@blueprint.route("/api/v1/timelines/link")
@token_in_unit("read:statuses", user=False, anonymous=True)
async def link() -> Response:
    """`GET /api/v1/timelines/link?url=` (Mastodon 4.3): public posts sharing a trending link
    (404 for a link not approved for trends)."""
    params = await read_params()
    url = params.text("url", max_length=2048)
    if not url:
        raise ApiError(400, "Missing parameter: url")
    page = page_from(params)
    try:
        bundle = await timelines.link(runtime(), caller(), page, url)
    except trends.LinkNotFound:
        raise not_found() from None
    return _page_response(bundle, page, context="public")


@blueprint.route("/api/v1/accounts/<id:account_id>/statuses")
@token_in_unit("read:statuses", user=False, anonymous=True)
async def account_statuses(account_id: int) -> Response:
    """`GET /api/v1/accounts/:id/statuses` with Mastodon's filters."""
    params = await read_params()
    page = page_from(params)
    account_filter = timelines.AccountFilter(
        exclude_replies=bool(params.flag("exclude_replies", False)),
        exclude_reblogs=bool(params.flag("exclude_reblogs", False)),
        pinned=bool(params.flag("pinned", False)),
        only_media=bool(params.flag("only_media", False)),
        exclude_direct=bool(params.flag("exclude_direct", False)),
        tagged=params.text("tagged", max_length=200) or None,
    )
    with service_errors():
        bundle = await timelines.account(runtime(), account_id, caller(), page, account_filter)
    return _page_response(bundle, page, context="account")


@blueprint.route("/api/v1/favourites")
@token_in_unit("read:favourites")
async def favourites() -> Response:
    """`GET /api/v1/favourites`, paginated by when each was favourited."""
    page = page_from(await read_params())
    bundle = await timelines.favourites(runtime(), caller(), page)
    return _page_response(bundle, page, by_cursor=True)


@blueprint.route("/api/v1/bookmarks")
@token_in_unit("read:bookmarks")
async def bookmarks() -> Response:
    """`GET /api/v1/bookmarks`, paginated by when each was bookmarked."""
    page = page_from(await read_params())
    bundle = await timelines.bookmarks(runtime(), caller(), page)
    return _page_response(bundle, page, by_cursor=True)


def _conversations(found: conversations.Conversations) -> list[dict]:
    config = runtime().config
    return [conversation_entity(config, row, found.accounts, found.statuses) for row in found.rows]


@blueprint.route("/api/v1/conversations")
@require_scope("read:statuses")
async def conversation_list() -> Response:
    """`GET /api/v1/conversations`: direct-message threads, most recently active first."""
    page = page_from(await read_params())
    found = await conversations.page(runtime(), auth().account_id or 0, page)
    response = json_response(_conversations(found))
    return set_link_header(response, [r["last_status_id"] for r in found.rows], page)


@blueprint.route("/api/v1/conversations/<id:conversation_id>/read", methods=["POST"])
@require_scope("write:conversations")
async def conversation_read(conversation_id: int) -> Response:
    """`POST /api/v1/conversations/:id/read`."""
    try:
        found = await conversations.read(runtime(), auth().account_id or 0, conversation_id)
    except conversations.ConversationNotFound:
        raise not_found() from None
    return json_response(_conversations(found)[0])


@blueprint.route("/api/v1/conversations/<id:conversation_id>", methods=["DELETE"])
@require_scope("write:conversations")
async def conversation_remove(conversation_id: int) -> Response:
    """`DELETE /api/v1/conversations/:id`: off the list; the statuses stay."""
    try:
        await conversations.remove(runtime(), auth().account_id or 0, conversation_id)
    except conversations.ConversationNotFound:
        raise not_found() from None
    return json_response({})


@blueprint.route("/api/v1/trends/statuses")
async def trending_statuses() -> Response:
    """`GET /api/v1/trends/statuses` (offset paging; 20 by default, at most 40)."""
    account_id = await viewer("read:statuses")
    limit, offset = offset_page(await read_params(), 20)
    bundle = await trends.statuses(runtime(), account_id, limit, offset)
    response = json_response(status_entities(runtime().config, bundle))
    return set_offset_links(response, len(bundle.order), limit, offset)


@blueprint.route("/api/v1/trends/links")
async def trending_links() -> Response:
    """`GET /api/v1/trends/links` (offset paging; 10 by default, at most 20): approved links,
    by Mastodon's trend score, with their history."""
    limit, offset = offset_page(await read_params(), 10)
    found = await trends.links(runtime(), limit, offset)
    config = runtime().config
    response = json_response(
        [trends_link_entity(config, t.card, t.author, t.history) for t in found]
    )
    return set_offset_links(response, len(found), limit, offset)
