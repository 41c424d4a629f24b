"""Remote media: attachments, avatars, headers and emoji of other servers, cached on first view.

Rows of remote media keep the origin's URL (`remote_url`, `preview_remote_url`,
`avatar_remote_url`, `header_remote_url`, `image_remote_url`); entities point at
our proxy route until a copy is cached, then at the copy (`serializers.media_urls`).
The proxy route (`http/media_proxy.py`, as Mastodon's `/media_proxy/:id/:style`)
fetches the file once, SSRF-safe (`net.safe_get`: no private addresses unless
allowed, size cap, deadline), processes it exactly as an upload (metadata
stripped, preview, blurhash), stores it under `cache/...`, records it, and
redirects to it. Nothing is fetched from a domain whose block rejects media (or
suspends it): attachments are then shown as links to their origin (type
`unknown`), avatars and headers as the default images, emoji not at all.

`purge_remote` (the `media purge-remote` command) drops copies older than some
days, and `media_cache_max_bytes` bounds the cached attachments; the rows keep
their remote URLs and are fetched again on their next view.
"""

from __future__ import annotations

import hmac
import logging
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

import trio

from ..ids import now_ms
from ..media.attachments import blurhash_of
from ..media.images import (
    IMAGE_FORMATS,
    ImageError,
    decode,
    encode,
    fit_within,
    orient_and_strip,
    process_avatar,
    process_header,
)
from ..net import FetchError, safe_get
from ..serializers.media_urls import proxy_token
from ..store import Connection
from ..store import accounts as account_rows
from ..store import custom_emojis as emoji_rows
from ..store import media as media_rows
from ..store.domain_blocks import block_for
from ..store.rows import MediaAttachmentRow
from . import custom_emoji, media

if TYPE_CHECKING:
    from ..runtime import Runtime

log = logging.getLogger(__name__)

CACHE_ORIGINAL = "cache/media_attachments/original"
CACHE_SMALL = "cache/media_attachments/small"
CACHE_CARDS = "cache/preview_cards"
# Mastodon keeps a card's image at most 400x400, from a file of at most 8 MB.
CARD_IMAGE_SIDE = 400
CARD_IMAGE_MAX_BYTES = 8 * 1024 * 1024
CACHE_CATEGORIES = {
    ("accounts", "avatar"): "cache/avatars",
    ("accounts", "header"): "cache/headers",
    ("custom_emojis", "image"): "cache/emojis",
}
# Where each table's module records (or forgets) the copy of a remote image cached here.
_IMAGE_COPIES = {
    "accounts": account_rows.set_image_copy,
    "custom_emojis": emoji_rows.set_image_copy,
}
# Mastodon's remote emoji limit is 256 KB; a picture of an emoji needs no more pixels.
EMOJI_MAX_BYTES = custom_emoji.MAX_BYTES
EMOJI_SIDE = 256
_BATCH = 200
# How long a viewer waits for a fetch another request started before being told to retry.
WAIT_FOR_FETCH = 20.0


class RemoteMediaError(Exception):
    """A remote file that cannot be had now (502, or 503 while another request fetches it).

    The row is left as it was: the next view tries again.
    """

    def __init__(self, message: str, status: int = 502) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Target:
    """Where the proxy route sends a viewer: a URL, or nothing (404)."""

    url: str | None


def remote_type(media_type: str | None) -> str:
    """The attachment `type` a remote `mediaType` announces (until the file says otherwise)."""
    major = (media_type or "").partition("/")[0].lower()
    return {"image": "image", "video": "video", "audio": "audio"}.get(major, "unknown")


async def add_remote_attachment(
    conn: Connection,
    rt: Runtime,
    *,
    account_id: int,
    status_id: int,
    remote_url: str,
    preview_remote_url: str | None = None,
    media_type: str | None = None,
    description: str | None = None,
    blurhash: str | None = None,
    focus: tuple[float, float] | None = None,
    width: int | None = None,
    height: int | None = None,
) -> int:
    """Inside the unit storing a remote status: one of its attachments; the new row's id.

    For inbound federation (an ActivityPub `attachment`: `url`, `mediaType`, `name`,
    `blurhash`, `focalPoint`, `width`, `height`, `icon`). Nothing is fetched here: the
    row waits in state `remote` for its first view. From a domain whose block rejects
    media it is `rejected` at once (type `unknown`, shown as a link to its origin).
    """
    domain = await media_rows.account_domain(conn, account_id)
    rejected = await _rejects_media(conn, domain)
    meta: dict[str, Any] = {}
    if width and height and width > 0 and height > 0:
        meta["original"] = {
            "width": int(width),
            "height": int(height),
            "size": f"{int(width)}x{int(height)}",
            "aspect": int(width) / int(height),
        }
    now = now_ms()
    attachment_id = rt.ids.next_id()
    await media_rows.insert_attachment(
        conn,
        {
            "id": attachment_id,
            "account_id": account_id,
            "status_id": status_id,
            "type": "unknown" if rejected else remote_type(media_type),
            "processing": media_rows.REJECTED if rejected else media_rows.REMOTE,
            "remote_url": remote_url,
            "preview_remote_url": preview_remote_url,
            "description": (description or "")[: media.DESCRIPTION_LIMIT] or None,
            "focus_x": focus[0] if focus else None,
            "focus_y": focus[1] if focus else None,
            "meta": meta,
            "blurhash": blurhash,
            "created_at": now,
        },
    )
    return attachment_id


async def attachment_target(rt: Runtime, attachment_id: int, token: str, style: str) -> Target:
    """Where `/media_proxy/<id>/<token>/<style>` leads, fetching the file on first view."""
    row = await rt.store.read(media_rows.attachment, attachment_id)
    remote_url = row["remote_url"] if row is not None else None
    if row is None or not remote_url:
        return Target(None)
    if not hmac.compare_digest(token.encode(), proxy_token(remote_url).encode()):
        return Target(None)
    if row["processing"] in (media_rows.REMOTE, media_rows.FETCHING):
        domain = await rt.store.read(media_rows.account_domain, row["account_id"])
        if await rt.store.read(_rejects_media, domain):
            await rt.store.write(
                media_rows.reject_remote,
                attachment_id,
                "media from this domain is rejected",
                now_ms(),
            )
            row = await rt.store.read(media_rows.attachment, attachment_id) or row
        else:
            row = await _cache_attachment(rt, row)
    if row["processing"] == "complete" and row.get("file_key"):
        key = row["file_key"] if style == "original" else row.get("preview_key")
        return Target(rt.media.url(key) if key else row.get("preview_remote_url"))
    # Rejected: the origin's own URL, as the entity shows it.
    return Target(row["remote_url"] if style == "original" else row.get("preview_remote_url"))


async def _cache_attachment(rt: Runtime, row: MediaAttachmentRow) -> MediaAttachmentRow:
    """Fetch, process and store a remote attachment (or wait for whoever is); its row after."""
    now = now_ms()
    # A claim outlives any honest fetch (the download, then several ffmpeg runs).
    stale = now - int(1000 * (rt.config.media_fetch_timeout + 4 * rt.config.media_ffmpeg_timeout))
    if not await rt.store.write(media_rows.claim_fetch, row["id"], now, stale):
        return await _wait_for_fetch(rt, row["id"])
    try:
        data = await _fetch(rt, row["remote_url"] or "", rt.config.media_max_video_bytes)
        done = await media.process_and_store(rt, data, (CACHE_ORIGINAL, CACHE_SMALL))
    except ImageError as exc:
        log.info("remote media %d refused: %s", row["id"], exc)
        await rt.store.write(media_rows.reject_remote, row["id"], str(exc), now_ms())
        return await rt.store.read(media_rows.attachment, row["id"]) or row
    except BaseException:
        with trio.CancelScope(shield=True):
            await rt.store.write(media_rows.unclaim_fetch, row["id"], now_ms())
        raise
    recorded = await rt.store.write(
        media_rows.cache_remote,
        row["id"],
        type_=done.type,
        meta=done.meta,
        blurhash=done.blurhash,
        file_size=done.file_size,
        cached_bytes=done.stored_bytes,
        now=now_ms(),
        file_key=done.files["file_key"] or "",
        preview_key=done.files["preview_key"],
    )
    if not recorded:
        # The row went (its status was deleted) while we worked: keep only what rows name.
        await media.release(rt, [k for k in done.files.values() if k])
    else:
        await enforce_cache_bound(rt, keep=row["id"])
    return await rt.store.read(media_rows.attachment, row["id"]) or row


async def _wait_for_fetch(rt: Runtime, attachment_id: int) -> MediaAttachmentRow:
    """Another request is fetching the file: wait a while for it to be cached."""
    row: MediaAttachmentRow | None = None
    with trio.move_on_after(WAIT_FOR_FETCH):
        while True:
            await trio.sleep(0.2)
            row = await rt.store.read(media_rows.attachment, attachment_id)
            if row is None or row["processing"] != media_rows.FETCHING:
                break
    if row is None or row["processing"] in (media_rows.REMOTE, media_rows.FETCHING):
        raise RemoteMediaError("The remote file is still being fetched; try again shortly", 503)
    return row


async def image_target(rt: Runtime, table: str, row_id: int, which: str) -> Target:
    """Where the proxy of a remote avatar, header or emoji leads, caching it on first view."""
    row = await rt.store.read(media_rows.remote_image, table, row_id, which)
    if row is None or row["domain"] is None or not row["remote_url"]:
        return Target(None)
    remote = row["remote_url"]
    key = row["key"]
    if key and row["cached_url"] == remote:
        return Target(rt.media.url(key))
    if await rt.store.read(_rejects_media, row["domain"]):
        return Target(_default_image(rt, which))
    limit = EMOJI_MAX_BYTES if table == "custom_emojis" else rt.config.media_max_image_bytes
    data = await _fetch(rt, remote, limit)
    process = {"avatar": process_avatar, "header": process_header}.get(which, _process_emoji)
    try:
        image = await trio.to_thread.run_sync(
            partial(
                process,
                data,
                max_bytes=limit,
                max_pixels=rt.config.media_max_image_pixels,
            )
        )
    except ImageError as exc:
        log.info("remote %s %s of %d refused: %s", table, which, row_id, exc)
        return Target(_default_image(rt, which))
    stored = await rt.media.put(
        image.data, content_type=image.content_type, category=CACHE_CATEGORIES[(table, which)]
    )
    recorded, replaced = await rt.store.write(
        _record_image, rt, table, row_id, which, stored.key, remote
    )
    if not recorded:
        await media.release(rt, [stored.key])
    elif replaced:
        await media.release(rt, [replaced])
    return Target(stored.url)


async def _record_image(
    conn: Connection, rt: Runtime, table: str, row_id: int, which: str, key: str, url: str
) -> tuple[bool, str | None]:
    """Unit of work: record a cached image; a copy it replaces is released after the commit."""
    recorded, before = await media_rows.image_copy_if_remote(conn, table, row_id, which, url)
    if not recorded:
        return False, None
    await _IMAGE_COPIES[table](conn, row_id, which, key, url, now_ms())
    replaced = before if before != key else None
    if replaced:
        await media.queue_release(conn, rt, [replaced])
    return True, replaced


def _process_emoji(data: bytes, *, max_bytes: int, max_pixels: int) -> Any:
    """A remote emoji as a still image at most 256 pixels on a side, without metadata."""
    img = decode(data, max_pixels, max_bytes=max_bytes, formats=IMAGE_FORMATS)
    return encode(fit_within(orient_and_strip(img), EMOJI_SIDE, EMOJI_SIDE))


def _default_image(rt: Runtime, which: str) -> str | None:
    """Mastodon's stand-ins for media not shown: the default avatar and header, no emoji."""
    if which in ("avatar", "header"):
        return f"{rt.config.base_url}/static/{which}.png"
    return None


async def _fetch(rt: Runtime, url: str, max_bytes: int, time_limit: float | None = None) -> bytes:
    """GET a remote file within the limits; `RemoteMediaError` when it cannot be had now."""
    try:
        fetched = await safe_get(
            url,
            headers={"User-Agent": rt.config.user_agent, "Accept": "*/*"},
            outbound=rt.outbound,
            max_bytes=max_bytes,
            time_limit=time_limit or rt.config.media_fetch_timeout,
        )
    except FetchError as exc:
        log.info("remote media %s not fetched: %s", url, exc)
        raise RemoteMediaError(f"The remote file could not be fetched: {exc}") from None
    if fetched.status != 200:
        raise RemoteMediaError(f"The remote server answered {fetched.status}")
    return fetched.body


@dataclass(frozen=True)
class CardImage:
    """A preview card's image as stored here: downscaled, with its size and blurhash."""

    key: str
    width: int
    height: int
    blurhash: str


def _process_card_image(data: bytes, *, max_bytes: int, max_pixels: int) -> tuple[Any, str]:
    """A card's image at most 400 pixels on a side (Mastodon's `400x400>`), without
    metadata, and its blurhash."""
    img = fit_within(
        orient_and_strip(decode(data, max_pixels, max_bytes=max_bytes, formats=IMAGE_FORMATS)),
        CARD_IMAGE_SIDE,
        CARD_IMAGE_SIDE,
    )
    return encode(img), blurhash_of(img)


async def cache_card_image(rt: Runtime, url: str) -> CardImage | None:
    """Fetch, downscale and store a preview card's image (SSRF-safe, within the image
    limits and the card's time); None when it cannot be had (the card goes without)."""
    limit = min(rt.config.media_max_image_bytes, CARD_IMAGE_MAX_BYTES)
    try:
        data = await _fetch(rt, url, limit, rt.config.preview_card_timeout)
        image, hash_ = await trio.to_thread.run_sync(
            partial(
                _process_card_image,
                data,
                max_bytes=limit,
                max_pixels=rt.config.media_max_image_pixels,
            )
        )
    except (RemoteMediaError, ImageError) as exc:
        log.info("preview card image %s not kept: %s", url, exc)
        return None
    stored = await rt.media.put(image.data, content_type=image.content_type, category=CACHE_CARDS)
    return CardImage(stored.key, image.width, image.height, hash_)


async def _rejects_media(conn: Connection, domain: str | None) -> bool:
    """Whether a domain block keeps media of `domain` out (reject_media, or a suspension)."""
    block = await block_for(conn, domain)
    return block is not None and (bool(block["reject_media"]) or block["severity"] == "suspend")


# Purging ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Purged:
    """How many cached copies a purge dropped."""

    attachments: int = 0
    images: int = 0


async def purge_remote(rt: Runtime, *, older_than_ms: int) -> Purged:
    """Drop cached remote copies made more than `older_than_ms` ago (rows keep their URLs)."""
    cutoff = now_ms() - older_than_ms
    attachments = images = 0
    while ids := await rt.store.read(media_rows.cached_before, cutoff, _BATCH):
        await _uncache(rt, ids)
        attachments += len(ids)
    for table, which in CACHE_CATEGORIES:
        while keys := await rt.store.write(_uncache_images, rt, table, which, cutoff):
            await media.release(rt, keys)
            images += len(keys)
    return Purged(attachments, images)


async def _uncache_images(
    conn: Connection, rt: Runtime, table: str, which: str, cutoff: int
) -> set[str]:
    copies = await media_rows.image_copies_before(conn, table, which, cutoff, _BATCH)
    for copy in copies:
        await _IMAGE_COPIES[table](conn, copy["id"], which, None, None, None)
    keys = {c["key"] for c in copies if c["key"]}
    await media.queue_release(conn, rt, keys)
    return keys


async def enforce_cache_bound(rt: Runtime, *, keep: int | None = None) -> int:
    """Drop the oldest cached attachments while the cache exceeds `media_cache_max_bytes`.

    `keep` is a copy just made for a viewer, never dropped here (it is about to be served).
    """
    bound = rt.config.media_cache_max_bytes
    if bound <= 0:
        return 0
    total = await rt.store.read(media_rows.cache_total)
    dropped = 0
    while total > bound:
        oldest = await rt.store.read(media_rows.oldest_cached, _BATCH)
        if not oldest:
            break
        chosen: list[int] = []
        for r in oldest:
            if total <= bound:
                break
            if r["id"] != keep:
                chosen.append(int(r["id"]))
                total -= int(r["cached_bytes"] or 0)
        if not chosen:
            break
        await _uncache(rt, chosen)
        dropped += len(chosen)
    return dropped


async def _uncache(rt: Runtime, ids: list[int]) -> None:
    keys = await rt.store.write(_uncache_unit, rt, ids)
    await media.release(rt, keys)


async def _uncache_unit(conn: Connection, rt: Runtime, ids: list[int]) -> set[str]:
    keys = await media_rows.uncache(conn, ids, now_ms())
    await media.queue_release(conn, rt, keys)
    return keys


async def reject_domain_media(rt: Runtime, domain: str) -> int:
    """After a reject-media block on `domain`: stop showing its cached attachments (files dropped).

    Avatars, headers and emoji need nothing: their proxy checks the block on each
    uncached view, and `purge_remote` drops copies already made.
    """

    async def unit(conn: Connection) -> set[str]:
        keys = await media_rows.reject_domain(conn, domain.lower(), now_ms())
        await media.queue_release(conn, rt, keys)
        return keys

    keys = await rt.store.write(unit)
    await media.release(rt, keys)
    return len(keys)


__all__ = [
    "CACHE_CARDS",
    "CACHE_ORIGINAL",
    "CACHE_SMALL",
    "CardImage",
    "Purged",
    "RemoteMediaError",
    "Target",
    "add_remote_attachment",
    "attachment_target",
    "cache_card_image",
    "enforce_cache_bound",
    "image_target",
    "purge_remote",
    "reject_domain_media",
    "remote_type",
]
