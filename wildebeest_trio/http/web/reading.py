"""The web app's reading pages for a signed-in person: home, notifications, bookmarks,
favourites, lists and search, server-rendered and paged with Mastodon's `max_id`/`min_id`.

Every page reads through the same services as the API (and notifications through the
API's own grouping), and each post on it carries the action forms of `_status.html`.
"""

from __future__ import annotations

from typing import Any

from quart import Response, request

from ...ids import parse_id
from ...serializers.accounts import account_entity
from ...services import instance as instance_service
from ...services import lists as list_service
from ...services import markers, notifications, search, timelines, web_pages
from ...services.notifications import Browse
from ...services.types import Row
from ..api.notifications import grouped_response as grouped_entities
from ..auth import client_ip
from ..browser import (
    SESSION_COOKIE,
    SIGNED_IN,
    UNREAD,
    UNREAD_LIMIT,
    page,
    pages_blueprint,
    script,
    signed_in_as,
    to_sign_in,
    viewer_page,
)
from ..context import runtime
from . import anonymous, kept_views
from .site import (
    PAGE_SIZE,
    Shown,
    asked_page,
    bundle_pager,
    card_parts,
    local_path,
    not_found_page,
    pager,
    shown,
)
from .writing import compose_context

blueprint = pages_blueprint("reading", __name__)

SEARCH_LIMIT = 20
MAX_QUERY = 500
#: What each grouped notification says, after the names of who did it.
NOTIFICATION_TEXT = {
    "mention": "mentioned you",
    "status": "posted",
    "reblog": "boosted your post",
    "follow": "followed you",
    "follow_request": "asked to follow you",
    "favourite": "favourited your post",
    "poll": "A poll has ended",
    "update": "edited a post",
    "admin.sign_up": "signed up",
    "admin.report": "filed a report",
    "quote": "quoted your post",
    "quoted_update": "edited a post you quoted",
    "severed_relationships": "Some of your follow relationships were severed",
    "moderation_warning": "You received a moderation warning",
}


async def _timeline(heading: str, lead: str, bundle: Any, **extra: Any) -> Response:
    return await page(
        "timeline.html",
        heading=heading,
        lead=lead,
        items=shown(bundle),
        **bundle_pager(bundle),
        **extra,
    )


@blueprint.route("/home")
async def home_timeline() -> Response:
    """The signed-in person's home timeline, with the compose form on top (the session, the
    feed's page and the unread count read in one crossing to the store)."""
    found = await web_pages.home_page(
        runtime(),
        request.cookies.get(SESSION_COOKIE),
        client_ip(),
        asked_page(),
        UNREAD,
        UNREAD_LIMIT,
    )
    if found is None:
        return to_sign_in(request.path)
    signed_in_as(found.viewer)
    bundle = found.bundle
    posts = anonymous.bundle_facts(bundle, card_parts)
    facts = None
    if posts is not None:
        title = (await instance_service.site(runtime())).title
        viewer = kept_views.viewer_row_facts(found.viewer)
        facts = (title, viewer, found.unread, posts, kept_views.viewer_facts(bundle))

    async def draw(token: str) -> Response:
        return await _timeline(
            "Home",
            "Posts from the people and hashtags you follow.",
            bundle,
            compose=await compose_context(found.viewer),
            stream="user",
            unread=found.unread,
            csrf_token=token,
        )

    return await kept_views.kept_view(found.viewer["account_id"], facts, draw)


@blueprint.route("/bookmarks")
@viewer_page(SIGNED_IN)
async def bookmarks(viewer: Row) -> Response:
    bundle = await timelines.bookmarks(runtime(), viewer["account_id"], asked_page())
    return await _timeline("Bookmarks", "Posts you bookmarked; only you see them.", bundle)


@blueprint.route("/favourites")
@viewer_page(SIGNED_IN)
async def favourites(viewer: Row) -> Response:
    bundle = await timelines.favourites(runtime(), viewer["account_id"], asked_page())
    return await _timeline("Favourites", "Posts you favourited.", bundle)


@blueprint.route("/lists")
@viewer_page(SIGNED_IN)
async def all_lists(viewer: Row) -> Response:
    found = await list_service.all_lists(runtime(), viewer["account_id"])
    return await page("lists.html", lists=found)


@blueprint.route("/lists/<segment>")
@viewer_page(SIGNED_IN)
async def list_timeline(viewer: Row, segment: str) -> Response:
    list_id = parse_id(segment)
    if list_id is None:
        return await not_found_page("No such list.")
    rt = runtime()
    try:
        row = await list_service.show(rt, viewer["account_id"], list_id)
        bundle = await list_service.timeline(rt, viewer["account_id"], list_id, asked_page())
    except list_service.ListNotFound:
        return await not_found_page("No such list.")
    return await _timeline(row["title"], "Posts from the accounts on this list.", bundle)


# Notifications ---------------------------------------------------------------------------------


def _notification_groups(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The API's grouped page as the template shows it: who, what, and the post."""
    accounts = {a["id"]: a for a in body["accounts"]}
    statuses = {s["id"]: s for s in body["statuses"]}
    groups = []
    for group in body["notification_groups"]:
        who = [accounts[i] for i in group["sample_account_ids"] if i in accounts]
        status = statuses.get(group.get("status_id") or "")
        item = None
        if status is not None:
            item = Shown(status, None, local_path(status), "g-" + group["group_key"])
        groups.append(
            {
                "key": group["group_key"],
                "type": group["type"],
                "count": group["notifications_count"],
                "who": who,
                "others": max(group["notifications_count"] - len(who), 0),
                "text": NOTIFICATION_TEXT.get(group["type"], group["type"]),
                "at": group.get("latest_page_notification_at", ""),
                "item": item,
            }
        )
    return groups


@blueprint.route("/notifications")
@viewer_page(SIGNED_IN)
async def notifications_page(viewer: Row) -> Response:
    """Notifications grouped as Mastodon 4.3 groups them (favourites, boosts, follows and
    sign-ups of one post or day together); the first page marks them read."""
    rt = runtime()
    me = viewer["account_id"]
    browse = Browse(grouped_types=tuple(sorted(notifications.GROUPABLE)))
    at = asked_page()
    found = await notifications.grouped_page(rt, me, browse, at)
    ids = [g.row["id"] for g in found.groups]
    if at.max_id is None and at.min_id is None and found.groups:
        await markers.save(rt, me, {"notifications": max(g.most_recent_id for g in found.groups)})
    body = grouped_entities(found, "full")
    return await page(
        "notifications.html",
        groups=_notification_groups(body),
        stream="user",
        what="notifications",
        **pager(ids, len(ids) >= PAGE_SIZE),
    )


# Search ----------------------------------------------------------------------------------------


@blueprint.route("/search")
@viewer_page(SIGNED_IN)
async def search_page(viewer: Row) -> Response:
    """Accounts, posts and hashtags; a remote handle or a URL is looked up on its server."""
    rt = runtime()
    q = request.args.get("q", "").strip()[:MAX_QUERY]
    kind = request.args.get("type") or None
    if kind not in (None, *search.TYPES):
        kind = None
    results = None
    if q:
        results = await search.search(
            rt,
            viewer["account_id"],
            search.SearchRequest(q=q, type=kind, resolve=True, limit=SEARCH_LIMIT),
        )
    return await page(
        "search.html",
        q=q,
        kind=kind,
        accounts=[account_entity(rt.config, a) for a in results.accounts] if results else [],
        items=shown(results.statuses) if results else [],
        hashtags=[t.tag["name"] for t in results.hashtags] if results else [],
        searched=results is not None,
    )


# The page script -------------------------------------------------------------------------------


@blueprint.route("/assets/app-<digest>.js")
async def page_script(digest: str) -> Response:
    """The one page script, under its content hash: cached for a year, never stale."""
    data, current = script()
    if digest != current:
        return Response("Not found", status=404, content_type="text/plain")
    response = Response(data, content_type="text/javascript; charset=utf-8")
    response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
