"""The public web site: timelines, tags, profiles and threads as HTML, RSS for feeds.

The same URLs answer ActivityPub clients: a request that asks for
`application/activity+json` is sent to the ActivityPub document (the actor or the
status object, which http/activitypub/documents.py serves), and every answer carries
`Vary: Accept` so caches keep the two apart.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any, TypedDict
from urllib.parse import urlencode

from quart import Response, render_template, request

from ...ids import parse_id
from ...serializers.accounts import account_entity, acct
from ...serializers.statuses import status_entities
from ...services import follows as follow_service
from ...services import instance as instance_service
from ...services import profiles, timelines, web_pages
from ...services import statuses as status_service
from ...services.follows import AccountNotFound
from ...services.types import Page, Row, StatusBundle
from ..browser import finish, page, pages_blueprint, signed_in
from ..context import runtime, wants_activitypub
from . import anonymous
from .cards import blank_compose, render_card, render_cards

blueprint = pages_blueprint("site", __name__)


# Posts are drawn by cards.py (kept per post); every page's templates reach it through
# `status_card` in _status.html.
blueprint.add_app_template_global(render_card, "render_card")
blueprint.add_app_template_global(render_cards, "render_cards")
blueprint.add_app_template_global(blank_compose, "blank_compose")


PAGE_SIZE = 20
HREF_RE = re.compile(r'href="(https?://[^"]+)"')


def _vary(response: Response) -> Response:
    response.headers["Vary"] = "Accept, Cookie"
    return response


def _ap_redirect(location: str) -> Response:
    """Send an ActivityPub client to the document at `location` (Mastodon redirects too)."""
    response = Response("", status=301)
    response.headers["Location"] = location
    return _vary(finish(response))


async def _html(template: str, status: int = 200, **context: Any) -> Response:
    viewer = await signed_in()
    return _vary(await page(template, status, viewer=viewer, **context))


async def not_found_page(message: str = "This page does not exist.") -> Response:
    return await _html("message.html", 404, heading="Not found", message=message)


def _cursor(name: str = "max_id") -> int | None:
    """A page link's cursor (`max_id` or `min_id`); anything else is ignored (the first
    page)."""
    return parse_id(request.args.get(name, ""))


def asked_page() -> Page:
    """The page a link asks for: older than `max_id`, or just newer than `min_id`."""
    return Page(limit=PAGE_SIZE, max_id=_cursor(), min_id=_cursor("min_id"))


def _link(name: str, value: int) -> str:
    args = {k: v for k, v in request.args.items() if k not in ("max_id", "min_id", "notice")}
    args[name] = str(value)
    return f"{request.path}?{urlencode(args)}"


class Pager(TypedDict):
    """The links to the pages around this one (None where there is none)."""

    next_link: str | None
    prev_link: str | None


def pager(ids: list[int], full: bool) -> Pager:
    """The links around a page of newest-first `ids` (their cursors), as Mastodon's Link
    header gives them: older is `max_id` of the last, newer is `min_id` of the first.
    There are older ones when this page was full or was read upwards (`min_id`); newer
    ones whenever this is not the first page."""
    later = request.args.get("max_id") or request.args.get("min_id")
    older = (full or _cursor("min_id") is not None) and bool(ids)
    return Pager(
        next_link=_link("max_id", ids[-1]) if older else None,
        prev_link=_link("min_id", ids[0]) if later and ids else None,
    )


def bundle_pager(bundle: StatusBundle) -> Pager:
    """`pager` of a page of statuses (by their cursors: a bookmark's id, a feed entry's)."""
    ids = [bundle.cursors.get(i, i) for i in bundle.order]
    return pager(ids, len(bundle.order) >= PAGE_SIZE)


@dataclass
class Shown:
    """One status as the templates show it: the entity plus who boosted it."""

    status: dict[str, Any]
    boosted_by: dict[str, Any] | None
    path: str
    #: The listed item's own id (the boost's, for a boost): the card's anchor.
    key: str
    #: The entity cache's entries the card is drawn from (the post's, its author's, its
    #: preview card author's), while current; None where one is not kept (cards.py).
    parts: tuple[object, ...] | None = None
    #: What else the card shows that is kept apart from the post (its booster's entry).
    variant: tuple[object, ...] = ()


def local_path(entity: dict[str, Any]) -> str:
    """This site's page for a status (remote ones too, under the author's acct)."""
    return f"/@{entity['account']['acct']}/{entity['id']}"


def card_parts(bundle: StatusBundle, status_id: int) -> tuple[object, ...] | None:
    """The kept entries a status's card is drawn from, or None if one of them is not kept
    (a card drawn from anything else is not kept either)."""
    entry = bundle.entries.get(status_id)
    row = bundle.statuses.get(status_id)
    if entry is None or row is None:
        return None
    author = bundle.account_entries.get(row["account_id"])
    if author is None:
        return None
    card = bundle.cards.get(status_id)
    card_author = None
    if card is not None and card["author_account_id"]:
        card_author = bundle.account_entries.get(card["author_account_id"])
        if card_author is None:
            return None
    return (entry, author, card_author)


def shown(bundle: StatusBundle) -> list[Shown]:
    """A bundle's statuses for the templates, boosts unwrapped."""
    config = runtime().config
    items = []
    for status_id, entity in zip(bundle.order, status_entities(config, bundle), strict=True):
        if entity["reblog"] is not None:
            inner = entity["reblog"]
            parts = card_parts(bundle, int(inner["id"]))
            booster = bundle.account_entries.get(bundle.statuses[status_id]["account_id"])
            if booster is None:
                parts = None
            items.append(
                Shown(inner, entity["account"], local_path(inner), entity["id"], parts, (booster,))
            )
        else:
            parts = card_parts(bundle, status_id)
            items.append(Shown(entity, None, local_path(entity), entity["id"], parts))
    return items


def _viewer_id(viewer: Row | None) -> int | None:
    return viewer["account_id"] if viewer is not None else None


async def _facts(viewer: Row | None, bundle: StatusBundle, *more: Any) -> tuple[Any, ...] | None:
    """What an anonymous page shows, to keep it by (anonymous.py); None for a signed-in
    visitor, whose page is never kept."""
    if viewer is not None:
        return None
    title = (await instance_service.site(runtime())).title
    return (title, anonymous.bundle_facts(bundle, card_parts), *more)


async def _kept(facts: tuple[Any, ...] | None, draw: Callable[[], Awaitable[Response]]) -> Response:
    return await anonymous.kept_page(facts, draw, _vary)


# Timelines and tags ----------------------------------------------------------------------------


@blueprint.route("/public/local")
async def local_timeline() -> Response:
    return await _public("Local timeline", "Public posts from people on this server.", True)


@blueprint.route("/public")
async def federated_timeline() -> Response:
    lead = "Public posts from this server and the servers it knows."
    return await _public("Federated timeline", lead, False)


async def _public(heading: str, lead: str, local: bool) -> Response:
    viewer = await signed_in()
    bundle = await timelines.public(runtime(), _viewer_id(viewer), asked_page(), local=local)

    async def draw() -> Response:
        return await _html(
            "timeline.html",
            heading=heading,
            lead=lead,
            items=shown(bundle),
            **bundle_pager(bundle),
        )

    return await _kept(await _facts(viewer, bundle), draw)


TAG_RE = re.compile(r"^[\w]{1,100}$")


@blueprint.route("/tags/<name>")
async def tag_page(name: str) -> Response:
    rss = name.endswith(".rss")
    if rss:
        name = name[: -len(".rss")]
    if not TAG_RE.match(name):
        return await not_found_page("No such hashtag.")
    viewer = None if rss else await signed_in()
    bundle = await timelines.tag(runtime(), _viewer_id(viewer), asked_page(), name)
    if rss:
        config = runtime().config
        title = (await instance_service.site(runtime())).title
        return await _feed(
            title=f"#{name}",
            link=f"{config.base_url}/tags/{name}",
            description=f"Public posts tagged #{name} on {title}",
            bundle=bundle,
        )

    async def draw() -> Response:
        return await _html(
            "timeline.html",
            heading=f"#{name}",
            lead=f"Public posts tagged #{name}.",
            items=shown(bundle),
            **bundle_pager(bundle),
            feed=f"/tags/{name}.rss",
        )

    return await _kept(await _facts(viewer, bundle), draw)


# Profiles and statuses -------------------------------------------------------------------------


def _rel_me_links(entity: dict[str, Any]) -> list[str]:
    links = []
    for field in entity["fields"]:
        links.extend(HREF_RE.findall(field["value"]))
    return links


async def _relationship(viewer: Row | None, account: Row) -> dict[str, bool] | None:
    if viewer is None or viewer["account_id"] == account["id"]:
        return None
    found = await follow_service.relationships(runtime(), viewer["account_id"], [account["id"]])
    rel = found[0]
    return {
        "following": rel.following is not None,
        "requested": rel.requested is not None,
        "blocking": rel.blocking,
        "muting": rel.muting is not None,
    }


async def _profile(handle: str, which: str) -> Response:
    rt = runtime()
    rss = which == "posts" and handle.endswith(".rss")
    if rss:
        handle = handle[: -len(".rss")]
    if wants_activitypub():
        actor = await profiles.public_profile(rt, handle)
        if actor is None:
            return await not_found_page("No such account on this server.")
        if actor["domain"] is not None:
            return await not_found_page("This account lives on another server.")
        return _ap_redirect(actor["uri"])
    viewer = None if rss else await signed_in()
    filters = timelines.AccountFilter(
        exclude_replies=which not in ("with_replies", "media"),
        exclude_reblogs=rss or which == "media",
        only_media=which == "media",
    )
    try:
        found = await web_pages.profile_page(rt, handle, _viewer_id(viewer), asked_page(), filters)
    except AccountNotFound:
        found = None
    if found is None:
        return await not_found_page("No such account on this server.")
    account, bundle = found
    if rss:
        entity = account_entity(rt.config, account)
        return await _feed(
            title=entity["display_name"] or entity["username"],
            link=entity["url"],
            description=f"Public posts from @{acct(rt.config, account)}",
            bundle=bundle,
        )

    async def draw() -> Response:
        entity = account_entity(rt.config, account)
        return await _html(
            "profile.html",
            account=entity,
            local=account["domain"] is None,
            which=which,
            items=shown(bundle),
            **bundle_pager(bundle),
            rel_me=_rel_me_links(entity),
            relationship=await _relationship(viewer, account),
            feed=f"/@{entity['acct']}.rss" if account["domain"] is None else None,
        )

    return await _kept(await _facts(viewer, bundle, dict(account)), draw)


@blueprint.route("/@<handle>")
async def profile(handle: str) -> Response:
    return await _profile(handle, "posts")


@blueprint.route("/@<handle>/with_replies")
async def profile_with_replies(handle: str) -> Response:
    return await _profile(handle, "with_replies")


@blueprint.route("/@<handle>/media")
async def profile_media(handle: str) -> Response:
    return await _profile(handle, "media")


NO_POST = "This post does not exist or is not public."


async def _status_document(handle: str, status_id: int) -> Response:
    """A status page asked for as ActivityPub: a redirect to the local status's object."""
    account = await profiles.public_profile(runtime(), handle)
    if account is None:
        return await not_found_page("No such account on this server.")
    try:
        bundle = await status_service.show(runtime(), status_id, None)
    except status_service.StatusNotFound:
        return await not_found_page(NO_POST)
    row = bundle.statuses[status_id]
    if row["account_id"] != account["id"] or row["reblog_of_id"] is not None:
        return await not_found_page(NO_POST)
    if not row["local"]:
        return await not_found_page("This post lives on another server.")
    return _ap_redirect(row["uri"])


@blueprint.route("/@<handle>/<segment>")
async def status_page(handle: str, segment: str) -> Response:
    rt = runtime()
    # Not `<id:...>`: anything else after the handle gets this site's own 404 page.
    status_id = parse_id(segment)
    if status_id is None:
        return await not_found_page()
    if wants_activitypub():
        return await _status_document(handle, status_id)
    viewer = await signed_in()
    try:
        found = await web_pages.status_page(rt, handle, status_id, _viewer_id(viewer))
    except status_service.StatusNotFound:
        return await not_found_page(NO_POST)
    if found is None:
        return await not_found_page("No such account on this server.")
    bundle, thread = found.bundle, found.thread
    row = bundle.statuses[status_id]
    if row["account_id"] != found.account["id"] or row["reblog_of_id"] is not None:
        return await not_found_page(NO_POST)

    async def draw() -> Response:
        main = shown(bundle)[0]
        return await _html(
            "status.html",
            main=main,
            ancestors=shown(thread.ancestors),
            descendants=shown(thread.descendants),
            account=main.status["account"],
            # Only public and unlisted posts embed; the link says where their oEmbed is.
            oembed_url=f"{rt.config.base_url}/api/oembed?" + urlencode({"url": main.status["url"]})
            if row["visibility"] in ("public", "unlisted")
            else None,
        )

    facts = await _facts(
        viewer,
        bundle,
        anonymous.bundle_facts(thread.ancestors, card_parts),
        anonymous.bundle_facts(thread.descendants, card_parts),
    )
    return await _kept(facts, draw)


# RSS -------------------------------------------------------------------------------------------


def _rfc822(iso: str) -> str:
    moment = datetime.fromisoformat(iso.replace("Z", "+00:00")).astimezone(UTC)
    return format_datetime(moment, usegmt=True)


async def _feed(*, title: str, link: str, description: str, bundle: StatusBundle) -> Response:
    """An RSS 2.0 document of public statuses (the anonymous view)."""
    items = [i for i in shown(bundle) if i.boosted_by is None]
    xml = await render_template(
        "feed.xml",
        title=title,
        link=link,
        description=description,
        items=items,
        base_url=runtime().config.base_url,
        rfc822=_rfc822,
    )
    response = Response(xml, content_type="application/rss+xml; charset=utf-8")
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Vary"] = "Accept"
    response.headers["Cache-Control"] = "max-age=60, public"
    return response
