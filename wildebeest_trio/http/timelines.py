"""Timelines in the Mastodon API: home, public, account statuses, favourites, bookmarks."""

from __future__ import annotations

from quart import Blueprint, Response

from ..serializers.statuses import status_entities
from ..services import timelines
from ..store.paging import Page
from ..store.statuses import StatusBundle
from .auth import auth, require_scope
from .context import json_response, runtime
from .paging import page_from, parse_id, service_errors, set_link_header, viewer
from .params import read_params

blueprint = Blueprint("timelines", __name__)
FEATURES = frozenset({"timelines"})


def _page_response(bundle: StatusBundle, page: Page, *, by_cursor: bool = False) -> Response:
    """The statuses, with a `Link` header on their ids (or on the favourite/bookmark ids)."""
    response = json_response(status_entities(runtime().config, bundle))
    cursors = [bundle.cursors[i] for i in bundle.order] if by_cursor else bundle.order
    # Like Mastodon, lists keyed by another table only offer `next` on a full page.
    more = len(bundle.order) == page.limit if by_cursor else True
    return set_link_header(response, cursors, page, more=more)


@blueprint.route("/api/v1/timelines/home")
@require_scope("read:statuses")
async def home() -> Response:
    """`GET /api/v1/timelines/home`."""
    page = page_from(await read_params())
    bundle = await timelines.home(runtime(), auth().account_id or 0, page)
    return _page_response(bundle, page)


@blueprint.route("/api/v1/timelines/public")
async def public() -> Response:
    """`GET /api/v1/timelines/public` (`local`, `remote`, `only_media`)."""
    account_id = await viewer("read:statuses")
    params = await read_params()
    page = page_from(params)
    bundle = await timelines.public(
        runtime(),
        account_id,
        page,
        local=bool(params.flag("local", False)),
        remote=bool(params.flag("remote", False)),
        only_media=bool(params.flag("only_media", False)),
    )
    return _page_response(bundle, page)


@blueprint.route("/api/v1/timelines/tag/<hashtag>")
async def tag(hashtag: str) -> Response:
    """`GET /api/v1/timelines/tag/:hashtag` (`any[]`, `all[]`, `none[]`, `local`, `remote`)."""
    account_id = await viewer("read:statuses")
    params = await read_params()
    page = page_from(params)
    bundle = await timelines.tag(
        runtime(),
        account_id,
        page,
        hashtag,
        any_of=[str(v) for v in params.get_list("any")],
        all_of=[str(v) for v in params.get_list("all")],
        none_of=[str(v) for v in params.get_list("none")],
        local=bool(params.flag("local", False)),
        remote=bool(params.flag("remote", False)),
        only_media=bool(params.flag("only_media", False)),
    )
    return _page_response(bundle, page)


@blueprint.route("/api/v1/accounts/<account_id>/statuses")
async def account_statuses(account_id: str) -> Response:
    """`GET /api/v1/accounts/:id/statuses` with Mastodon's filters."""
    viewer_id = await viewer("read:statuses")
    params = await read_params()
    page = page_from(params)
    filters = timelines.AccountFilter(
        exclude_replies=bool(params.flag("exclude_replies", False)),
        exclude_reblogs=bool(params.flag("exclude_reblogs", False)),
        pinned=bool(params.flag("pinned", False)),
        only_media=bool(params.flag("only_media", False)),
        exclude_direct=bool(params.flag("exclude_direct", False)),
        tagged=params.text("tagged", max_length=200) or None,
    )
    with service_errors():
        bundle = await timelines.account(runtime(), parse_id(account_id), viewer_id, page, filters)
    return _page_response(bundle, page)


@blueprint.route("/api/v1/favourites")
@require_scope("read:favourites")
async def favourites() -> Response:
    """`GET /api/v1/favourites`, paginated by when each was favourited."""
    page = page_from(await read_params())
    bundle = await timelines.favourites(runtime(), auth().account_id or 0, page)
    return _page_response(bundle, page, by_cursor=True)


@blueprint.route("/api/v1/bookmarks")
@require_scope("read:bookmarks")
async def bookmarks() -> Response:
    """`GET /api/v1/bookmarks`, paginated by when each was bookmarked."""
    page = page_from(await read_params())
    bundle = await timelines.bookmarks(runtime(), auth().account_id or 0, page)
    return _page_response(bundle, page, by_cursor=True)
