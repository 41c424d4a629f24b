"""Custom emoji the admins add from image files (the CLI), and the picker's list.

As Mastodon: PNG, GIF or WebP, at most 256 KiB and 400x400 pixels, shortcodes of two
or more letters, digits and underscores. The file is checked and stored as uploaded
(so animations keep moving); a still PNG of its first frame, without metadata, is
stored beside it for `static_url`.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass

import trio
from PIL import Image

from ..ids import now_ms
from ..media.images import ImageError, decode, orient_and_strip
from ..runtime import Runtime
from ..store import Connection, IntegrityError
from ..store import custom_emojis as emoji_rows
from ..store.rows import AccountRow, CustomEmojiRow

EMOJI_FORMATS = {"PNG": "image/png", "GIF": "image/gif", "WEBP": "image/webp"}
MAX_BYTES = 256 * 1024
MAX_SIDE = 400
SHORTCODE_RE = re.compile(r"^[a-zA-Z0-9_]{2,}$")
MAX_SHORTCODE = 64
MAX_CATEGORY = 64
CATEGORY = "emoji"


class EmojiError(ValueError):
    """An emoji that cannot be added or removed; the message is shown to the admin."""


@dataclass(frozen=True)
class EmojiImages:
    """The checked upload and its still first frame."""

    data: bytes
    content_type: str
    static_png: bytes


def process_emoji_image(data: bytes) -> EmojiImages:
    """Check an emoji image (type from its content, size, dimensions) and draw its first
    frame as a metadata-free PNG. Raises `ImageError` with a message for the admin."""
    img = decode(data, MAX_SIDE * MAX_SIDE, max_bytes=MAX_BYTES, formats=EMOJI_FORMATS)
    try:
        content_type = EMOJI_FORMATS[img.format or ""]
        if img.width > MAX_SIDE or img.height > MAX_SIDE:
            raise ImageError(f"The image must be at most {MAX_SIDE}x{MAX_SIDE} pixels")
        still = orient_and_strip(img)
        if still.mode not in ("RGBA", "RGB", "LA", "L"):
            still = still.convert("RGBA")
        buf = io.BytesIO()
        still.save(buf, format="PNG", compress_level=6)
    finally:
        img.close()
    return EmojiImages(data=data, content_type=content_type, static_png=buf.getvalue())


def _check_shortcode(shortcode: str) -> str:
    code = shortcode.strip().strip(":")
    if not SHORTCODE_RE.match(code) or len(code) > MAX_SHORTCODE:
        raise EmojiError(
            "A shortcode is 2 to 64 letters, digits or underscores (e.g. blobcat or :blobcat:)"
        )
    return code


async def add_emoji(
    rt: Runtime,
    shortcode: str,
    data: bytes,
    *,
    category: str | None = None,
    visible_in_picker: bool = True,
) -> CustomEmojiRow:
    """Check, store and register a local emoji; the stored row."""
    code = _check_shortcode(shortcode)
    if category is not None and (not category.strip() or len(category) > MAX_CATEGORY):
        raise EmojiError(f"A category is 1 to {MAX_CATEGORY} characters")
    if await rt.store.read(emoji_rows.local_by_shortcode, code) is not None:
        raise EmojiError(f"an emoji :{code}: already exists")
    try:
        images = await trio.to_thread.run_sync(process_emoji_image, data)
    except (ImageError, Image.DecompressionBombError) as exc:
        raise EmojiError(str(exc)) from None
    image = await rt.media.put(images.data, content_type=images.content_type, category=CATEGORY)
    still = await rt.media.put(images.static_png, content_type="image/png", category=CATEGORY)
    row = {
        "id": rt.ids.next_id(),
        "shortcode": code,
        "image_key": image.key,
        "static_image_key": still.key,
        "content_type": images.content_type,
        "category": category.strip() if category else None,
        "visible_in_picker": visible_in_picker,
        "now": now_ms(),
    }
    try:
        return await rt.store.write(emoji_rows.insert_local, row)
    except IntegrityError:
        raise EmojiError(f"an emoji :{code}: already exists") from None


async def remove_emoji(rt: Runtime, shortcode: str) -> None:
    """Unregister a local emoji. Its files stay: statuses federated with it point at them,
    and the same bytes may serve another emoji (keys are content addresses)."""
    code = shortcode.strip().strip(":")
    if await rt.store.write(emoji_rows.delete_local, code) is None:
        raise EmojiError(f"no emoji :{code}:")


async def local_emojis(rt: Runtime, *, enabled_only: bool = True) -> list[CustomEmojiRow]:
    """Local emoji by category and shortcode."""
    return await rt.store.read(emoji_rows.local_emojis, enabled_only=enabled_only)


async def with_emojis(rt: Runtime, accounts: list[AccountRow]) -> list[AccountRow]:
    """Account rows with `emojis` set (for entities read outside a status bundle)."""

    async def unit(conn: Connection) -> list[AccountRow]:
        await emoji_rows.attach_to_accounts(conn, accounts)
        return accounts

    if any(
        ":" in (a.get("display_name") or "") + (a.get("note") or "") + (a.get("fields") or "")
        for a in accounts
    ):
        return await rt.store.read(unit)
    return accounts
