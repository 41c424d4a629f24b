"""`GET /media_proxy/...`: remote media, fetched into the local cache on first view.

Mastodon's media proxy: the route fetches a remote file once (see
`services.media_cache`), then redirects to the cached copy; later entities name
the copy directly. Attachments carry a token in the path (derived from their
remote URL) so only someone shown the attachment can make the server fetch it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from quart import Blueprint, Response, redirect

from ...serializers.media_urls import ATTACHMENT_STYLES, PROFILE_IMAGES
from ...services import media_cache
from ..context import runtime
from ..errors import ApiError, not_found

blueprint = Blueprint("media_proxy", __name__)

# The copy's URL never changes, but the route's answer does (a purge, a new avatar).
REDIRECT_CACHE = "public, max-age=300"


@blueprint.route("/media_proxy/<id:attachment_id>/<token>/<style>", methods=["GET"])
async def attachment(attachment_id: int, token: str, style: str) -> Response:
    """A remote attachment's file (`original`) or preview (`small`)."""
    if style not in ATTACHMENT_STYLES or len(token) > 64:
        raise not_found()
    with _remote_errors():
        target = await media_cache.attachment_target(runtime(), attachment_id, token, style)
    return _redirect(target)


@blueprint.route("/media_proxy/accounts/<id:account_id>/<which>", methods=["GET"])
async def account_image(account_id: int, which: str) -> Response:
    """A remote account's avatar or header."""
    if which not in PROFILE_IMAGES:
        raise not_found()
    with _remote_errors():
        target = await media_cache.image_target(runtime(), "accounts", account_id, which)
    return _redirect(target)


@blueprint.route("/media_proxy/emojis/<id:emoji_id>", methods=["GET"])
async def emoji(emoji_id: int) -> Response:
    """A remote custom emoji's image."""
    with _remote_errors():
        target = await media_cache.image_target(runtime(), "custom_emojis", emoji_id, "image")
    return _redirect(target)


@contextmanager
def _remote_errors() -> Iterator[None]:
    """A remote file that cannot be had now is a 502 or 503 (the next view tries again)."""
    try:
        yield
    except media_cache.RemoteMediaError as exc:
        raise ApiError(exc.status, str(exc)) from None


def _redirect(target: media_cache.Target) -> Response:
    """Redirect to where the service says; 404 when nowhere."""
    if target.url is None:
        raise not_found()
    response = redirect(target.url, 302)
    response.headers["Cache-Control"] = REDIRECT_CACHE
    return response
