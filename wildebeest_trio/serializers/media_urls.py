"""URLs of remote media as this server shows them: its cached copy, else its proxy route.

Remote files are fetched into the local cache on first view (`services.media_cache`),
so an entity names either the cached copy (`/system/...`) or the route that fetches
it (`/media_proxy/...`), never the origin (which would tell it who is looking). An
attachment's proxy URL carries a token derived from its remote URL, so the route
serves only what someone was shown (ids alone, being time-ordered, could be guessed).
"""

from __future__ import annotations

import hashlib

from ..config import Config
from ..store import RowView

PROXY_PREFIX = "/media_proxy"
ATTACHMENT_STYLES = ("original", "small")
PROFILE_IMAGES = ("avatar", "header")


def stored_url(config: Config, key: str) -> str:
    """The public URL of a stored media file: in the bucket (or its CDN) when media are on
    S3-compatible storage, else this server's `/system/` route (`media.store` keys)."""
    if config.media_kind == "s3":
        return f"{config.media_base_url}/{key}"
    return f"{config.base_url}/system/{key}"


def proxy_token(remote_url: str) -> str:
    """The token an attachment's proxy URL carries: anyone with it could fetch the origin."""
    return hashlib.sha256(remote_url.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def attachment_proxy_url(config: Config, row: RowView, style: str) -> str:
    """`/media_proxy/<id>/<token>/<original|small>` for a remote attachment not yet cached."""
    return f"{config.base_url}{PROXY_PREFIX}/{row['id']}/{proxy_token(row['remote_url'])}/{style}"


def account_image_url(config: Config, row: RowView, which: str) -> str | None:
    """An account's `avatar` or `header`: the stored file, else the proxy of a remote one.

    None when there is neither (the caller shows the default image).
    """
    return _image_url(
        config, row, row.get(f"{which}_key"), which, f"{PROXY_PREFIX}/accounts/{row['id']}/{which}"
    )


def emoji_image_url(config: Config, row: RowView) -> str | None:
    """A custom emoji's `url` / `static_url`: the stored file, else the proxy of a remote one."""
    return _image_url(
        config, row, row.get("image_key"), "image", f"{PROXY_PREFIX}/emojis/{row['id']}"
    )


def _image_url(
    config: Config, row: RowView, key: str | None, prefix: str, proxy_path: str
) -> str | None:
    if row.get("domain") is None:
        return stored_url(config, key) if key else None
    remote = row.get(f"{prefix}_remote_url")
    if not remote:
        return None
    if key and row.get(f"{prefix}_cached_url") == remote:
        return stored_url(config, key)
    # Not cached, or cached from a URL the remote server has since replaced.
    return f"{config.base_url}{proxy_path}"


__all__ = [
    "ATTACHMENT_STYLES",
    "PROFILE_IMAGES",
    "PROXY_PREFIX",
    "account_image_url",
    "attachment_proxy_url",
    "emoji_image_url",
    "proxy_token",
    "stored_url",
]
