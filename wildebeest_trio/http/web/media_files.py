"""`GET /system/<key>`: files of the local media store, cacheable forever.

A key's file never changes (its name is its content's SHA-256, or for attachments a
random name given once), so clients and proxies may keep it for a year without
revalidating. Only keys of the exact shape the
store writes are looked up, and only files really inside the media folder are
sent, so no path (`..`, encoded or absolute, or a symlink) reaches elsewhere.

With media on S3-compatible storage the bucket (or its CDN) serves the files; a
`/system/<key>` URL handed out before `media migrate --to s3` (other servers keep
them) is redirected there for good.
"""

from __future__ import annotations

from quart import Blueprint, Response, redirect, request, send_file

from ...media.store import CACHE_FOREVER, LocalMediaStore, content_type_for_key, is_valid_key
from ..context import runtime
from ..errors import not_found

blueprint = Blueprint("media_files", __name__)


@blueprint.route("/system/<path:key>", methods=["GET"])
async def media_file(key: str) -> Response:
    media = runtime().media
    if not isinstance(media, LocalMediaStore):
        # Another backend (S3-compatible) serves its files from its own URLs.
        if not is_valid_key(key):
            raise not_found()
        moved = redirect(media.url(key), 301)
        moved.headers["Cache-Control"] = CACHE_FOREVER
        return moved
    path = await media.local_path(key)
    if path is None:
        raise not_found()
    response = await send_file(path, mimetype=content_type_for_key(key), add_etags=False)
    response.headers["Cache-Control"] = CACHE_FOREVER
    # The name never holds other bytes: a strong validator.
    response.set_etag(key.rpartition("/")[2].partition(".")[0])
    # After the ETag is set, so If-None-Match can answer 304; Range serves video seeking.
    await response.make_conditional(
        request, accept_ranges=True, complete_length=response.content_length
    )
    # Stored types are decided by the server; never let a browser guess another.
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers.pop("Expires", None)
    return response
