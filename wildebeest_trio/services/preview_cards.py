"""Preview cards: the card of the first link of a status, fetched after the status is written.

`queue` runs inside the unit writing a status (`statuses.create` and `revise`, local or
remote): when the status has a link that may get a card (Mastodon's rules: not a hashtag
nor a mention, not on this server, no attachments, and no content warning on a remote
status), it queues a durable job, so the post is answered before anything is fetched. An
edit that changes the link takes the old card off at once and queues the job again.

The job finds the card of the link's URL: a URL is fetched once however many statuses
share it (the `preview_card_links` row says when it was fetched and who is fetching it:
other workers wait for that fetch rather than making their own), and again after two
weeks, as Mastodon refreshes its cards. The page comes through `net.safe_get` (no private
addresses unless allowed, each redirect checked again, HTML only, its first MiB, a
deadline, a User-Agent naming this server); `link_details` reads it (oEmbed first, then
the page's own tags); the image goes through the media cache (downscaled, blurhash); a
`fediverse:creator` is resolved to an account, kept as the author only when that account
lists the page's site in its `attribution_domains`. Once the card is on the status, those
who see it live get `status.update`.
"""

from __future__ import annotations

import json
import logging
import random
from dataclasses import asdict
from typing import Any
from urllib.parse import urlsplit

import trio

from .. import jsonbounds
from ..federation import lookup
from ..ids import now_ms
from ..jobs import JobKind, JobRegistry, RetryLater
from ..link_details import CardFacts, read_oembed, read_page, status_link
from ..net import FetchError, charset, safe_get
from ..runtime import Runtime
from ..store import Connection, RowView
from ..store import preview_cards as card_rows
from ..store import statuses as status_rows
from . import fanout, media, media_cache

log = logging.getLogger(__name__)

FETCH_CARD = JobKind("preview_card.fetch", max_attempts=5)
DAY_MS = 86_400_000
# Mastodon refreshes a card two weeks after it was made.
REFRESH_MS = 14 * DAY_MS
# A URL that gave no card (an error, no title) is tried again after an hour, not per status.
RETRY_EMPTY_MS = 3600 * 1000
# Mastodon reads the first MiB of a page (`truncated_body`) and of an oEmbed answer.
MAX_PAGE_BYTES = 1024 * 1024
MAX_OEMBED_BYTES = 1024 * 1024
OEMBED_TYPES = ("application/json", "text/json", "application/json+oembed")
WAIT_STEP = 0.1
# A local post's job starts a moment after the post: its commit wakes this process's
# workers while the answer to the post is still being written, and the fetch must not
# compete with that answer (bench/cards.py: 0.83 of the speed of a post without a link
# when started at once, 1.0 with this).
LOCAL_DELAY = 0.25


def _local_hosts(rt: Runtime) -> set[str]:
    return {rt.config.domain.lower()}


def _link(rt: Runtime, row: RowView) -> str | None:
    """The link a status's text may get a card for (before looking at its mentions and
    attachments): none behind a remote status's content warning, as Mastodon crawls none."""
    if not row["local"] and row["spoiler_text"]:
        return None
    return status_link(row["content"] or "", mention_urls=set(), local_hosts=_local_hosts(rt))


async def queue(
    conn: Connection,
    rt: Runtime,
    status: RowView,
    previous: RowView | None = None,
    *,
    has_media: bool | None = None,
) -> None:
    """Inside the unit writing `status` (new, or edited from `previous`): queue its card
    job when it may get a card; after an edit that changed its link, take the old card off
    now. A remote status's job waits a random part of `preview_card_spread`, a local one's
    `LOCAL_DELAY`. `has_media`
    says whether it has attachments, when the caller knows (else they are looked up)."""
    link = _link(rt, status)
    if previous is not None:
        if link == _link(rt, previous):
            return
        if await card_rows.detach(conn, status["id"]):
            conn.effects.add(fanout.StatusPublished(status["id"], "status.update"))
    if link is None:
        return
    if has_media if has_media is not None else await card_rows.has_media(conn, status["id"]):
        return  # Mastodon gives no card to a status with attachments
    spread = LOCAL_DELAY if status["local"] else random.uniform(0.0, rt.config.preview_card_spread)
    await FETCH_CARD.enqueue(conn, rt.ids, {"status_id": status["id"]}, delay=spread)


# The job ------------------------------------------------------------------------------------------


async def _link_of_status(conn: Connection, rt: Runtime, status_id: int) -> str | None:
    """The URL a status's card should describe, unless it shows that card already."""
    row = await status_rows.status_by_id(conn, status_id)
    if row is None or row["deleted_at"] is not None or row["reblog_of_id"] is not None:
        return None
    if _link(rt, row) is None or await card_rows.has_media(conn, status_id):
        return None
    url = status_link(
        row["content"] or "",
        mention_urls=await card_rows.mentioned_urls(conn, status_id),
        local_hosts=_local_hosts(rt),
    )
    shown = await card_rows.attached(conn, status_id)
    if url is None or (shown is not None and shown["url"] == url):
        return None
    return url


async def fetch_for_status(rt: Runtime, payload: dict[str, Any]) -> None:
    """Job handler: give a status the card of its first link (and tell its viewers)."""
    status_id = int(payload["status_id"])
    url = await rt.store.read(_link_of_status, rt, status_id)
    if url is None:
        return
    card_id = await card_for_url(rt, url)
    if card_id is None:
        return

    async def unit(conn: Connection) -> None:
        # The status may have changed its link, or gone, while the page was fetched.
        if await _link_of_status(conn, rt, status_id) != url:
            return
        await card_rows.attach(conn, status_id, card_id, url, now_ms())
        conn.effects.add(fanout.StatusPublished(status_id, "status.update"))

    await rt.store.write(unit)


def _fresh(row: RowView | None, now: int) -> bool:
    if row is None or row["fetched_at"] is None:
        return False
    keep = REFRESH_MS if row["preview_card_id"] is not None else RETRY_EMPTY_MS
    return bool(now - row["fetched_at"] < keep)


def _lease_ms(rt: Runtime) -> int:
    # The page, its oEmbed and image, and the author's look-up, with room to spare.
    return int(1000 * (3 * rt.config.preview_card_timeout + lookup.TIME_LIMIT + 10))


async def card_for_url(rt: Runtime, url: str) -> int | None:
    """The card of a URL: the one kept for it while fresh, else fetched now by this worker,
    or by the one already fetching it (waited for); None when the URL gives no card."""
    for _ in range(3):
        now = now_ms()
        known = await rt.store.read(card_rows.link, url)
        if _fresh(known, now):
            return known["preview_card_id"] if known is not None else None
        if await rt.store.write(card_rows.claim_link, url, now, now + _lease_ms(rt)):
            break
        await _wait_for_fetch(rt, url)
    else:
        raise RetryLater(5.0, f"{url} is being fetched by another worker")
    previous = known["preview_card_id"] if known is not None else None
    try:
        card_id = await _fetch_card(rt, url)
    except BaseException:
        with trio.CancelScope(shield=True):
            await rt.store.write(card_rows.release_link, url)
        raise
    if card_id is None:
        # A failed refresh keeps the card it had.
        await rt.store.write(card_rows.finish_link, url, previous, now_ms())
        return previous
    return card_id


async def _wait_for_fetch(rt: Runtime, url: str) -> None:
    """Wait until the worker fetching `url` is done (or its claim has lapsed)."""
    with trio.move_on_after(_lease_ms(rt) / 1000):
        while True:
            await trio.sleep(WAIT_STEP)
            row = await rt.store.read(card_rows.link, url)
            if row is None or row["claimed_until"] is None or row["claimed_until"] < now_ms():
                return


async def _get(rt: Runtime, url: str, accept: str, max_bytes: int, types: tuple[str, ...]) -> Any:
    try:
        fetched = await safe_get(
            url,
            headers={
                "Accept": accept,
                "Accept-Language": "en, *;q=0.5",
                "User-Agent": f"{rt.config.user_agent} Bot",
            },
            outbound=rt.outbound,
            max_bytes=max_bytes,
            truncate=True,
            time_limit=rt.config.preview_card_timeout,
            content_types=types,
        )
    except FetchError as exc:
        log.info("no preview card from %s: %s", url, exc)
        return None
    if fetched.status != 200:
        log.info("no preview card from %s: it answered %d", url, fetched.status)
        return None
    return fetched


async def _fetch_card(rt: Runtime, url: str) -> int | None:
    """Fetch a URL's page and make (or refresh) its card; its id, or None for no card."""
    fetched = await _get(rt, url, "text/html", MAX_PAGE_BYTES, ("text/html",))
    if fetched is None:
        return None
    content_type = fetched.headers.get("content-type", "")
    # lxml parses a page of up to a MiB in milliseconds: off the event loop all the same.
    page = await trio.to_thread.run_sync(
        read_page, fetched.url, fetched.body, charset(content_type)
    )
    if page is None:
        return None
    facts: CardFacts | None = None
    if page.oembed_endpoint is not None:
        facts = await _oembed(rt, page.facts, page.oembed_endpoint)
    facts = facts or page.facts
    if not facts.worth_keeping:
        log.info("no preview card from %s: it has no title", url)
        return None
    author_id = await _author(rt, facts)
    image = await media_cache.cache_card_image(rt, facts.image_url) if facts.image_url else None
    try:
        return await rt.store.write(_save, rt, url, facts, author_id, image)
    except BaseException:
        if image is not None:
            with trio.CancelScope(shield=True):
                await media.release(rt, [image.key])
        raise


async def _oembed(rt: Runtime, page: CardFacts, endpoint: str) -> CardFacts | None:
    """The card an oEmbed endpoint describes (JSON only), or None."""
    fetched = await _get(rt, endpoint, "application/json", MAX_OEMBED_BYTES, OEMBED_TYPES)
    if fetched is None:
        return None
    try:
        data = jsonbounds.loads(fetched.body, max_bytes=MAX_OEMBED_BYTES)
    except ValueError:
        log.info("oEmbed of %s is not valid JSON", page.url)
        return None
    return read_oembed(page, fetched.url, data)


def attributable(account: RowView, page_url: str) -> bool:
    """Whether an account accepts being named the author of a page: one of its
    `attribution_domains` is the page's host or a domain above it (Mastodon's rule)."""
    try:
        domains = set(json.loads(account.get("attribution_domains") or "[]"))
    except ValueError:
        return False
    labels = (urlsplit(page_url).hostname or "").split(".")
    return any(".".join(labels[i:]) in domains for i in range(len(labels)))


async def _author(rt: Runtime, facts: CardFacts) -> int | None:
    """The account a page's `fediverse:creator` names, when it accepts the attribution."""
    if facts.creator is None:
        return None
    username, _, domain = facts.creator.partition("@")
    try:
        account = await lookup.resolve_account(rt, username, domain)
    except lookup.LookupFailed as exc:
        log.info("fediverse:creator %s of %s not resolved: %s", facts.creator, facts.url, exc)
        return None
    if account is None or not attributable(account, facts.url):
        return None
    return int(account["id"])


async def _save(
    conn: Connection,
    rt: Runtime,
    url: str,
    facts: CardFacts,
    author_id: int | None,
    image: media_cache.CardImage | None,
) -> int:
    """Unit of work: keep the card (replacing an older one of its URL) and finish the fetch."""
    now = now_ms()
    fields = asdict(facts)
    fields.pop("creator")
    image_url = fields.pop("image_url")
    fields.update(
        author_account_id=author_id,
        image_remote_url=image_url,
        image_key=image.key if image else None,
        blurhash=image.blurhash if image else None,
    )
    if image is not None and facts.type == "link":
        # A link card's size is its image's (Mastodon's extract_dimensions).
        fields.update(width=image.width, height=image.height)
    before = await card_rows.card_by_url(conn, facts.url)
    card_id = await card_rows.save_card(conn, rt.ids.next_id(), fields, now)
    if before is not None and before["image_key"] and before["image_key"] != fields["image_key"]:
        await media.queue_release(conn, rt, [before["image_key"]])
    await card_rows.finish_link(conn, url, card_id, now)
    return card_id


def register(registry: JobRegistry) -> None:
    registry.register(FETCH_CARD, fetch_for_status)


__all__ = ["FETCH_CARD", "attributable", "card_for_url", "queue", "register"]
