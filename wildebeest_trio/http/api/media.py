"""Media uploads in the Mastodon API: `POST /api/v{1,2}/media`, `GET`/`PUT /api/v1/media/:id`.

The uploads' bodies are spooled to temporary files as they arrive (`SPOOLED_PATHS`,
`http/spooled_body.py`): the file goes to the service as a file, never whole in memory,
and every temporary file is removed when the request ends, however it ends.
"""

from __future__ import annotations

from typing import Any

import trio
from quart import Blueprint, Response, request

from ...serializers.media import media_attachment_entity
from ...services import media
from ..auth import auth, require_scope
from ..context import json_response, runtime
from ..errors import ApiError, not_found
from ..params import Params, read_params
from ..spooled_body import close_spooled, file_path

blueprint = Blueprint("media", __name__)

#: The routes whose request bodies go to a temporary file as they arrive.
SPOOLED_PATHS = frozenset({"/api/v1/media", "/api/v2/media"})

FILE_BLANK = "Validation failed: File can't be blank"


@blueprint.route("/api/v1/media", methods=["POST"])
@require_scope("write:media")
async def create_v1() -> Response:
    """Upload and process at once: 200 with the finished attachment (Elk uses this)."""
    return await _create(synchronous=True)


@blueprint.route("/api/v2/media", methods=["POST"])
@require_scope("write:media")
async def create_v2() -> Response:
    """Upload, then process as a job: 202 with `url: null` until it is done."""
    return await _create(synchronous=False)


@blueprint.route("/api/v1/media/<id:attachment_id>", methods=["GET"])
@require_scope("write:media")
async def show(attachment_id: int) -> Response:
    """One's own unattached upload: 206 while processing, 200 when done, 422 if it failed."""
    rt = runtime()
    row = await media.owned(rt, auth().account_id or 0, attachment_id)
    if row is None:
        raise not_found()
    return _answer(row)


@blueprint.route("/api/v1/media/<id:attachment_id>", methods=["PUT"])
@require_scope("write:media")
async def change(attachment_id: int) -> Response:
    """Set the description, focal point or thumbnail of one's own unattached upload."""
    rt = runtime()
    params = await read_params()
    try:
        row = await media.update(
            rt,
            auth().account_id or 0,
            attachment_id,
            description=params.text("description", max_length=100_000),
            focus=params.text("focus", max_length=100) or None,
            thumbnail=_file(params, "thumbnail"),
        )
    except media.MediaError as exc:
        raise ApiError(422, str(exc)) from None
    if row is None:
        raise not_found()
    return _answer(row)


@blueprint.route("/api/v1/media/<id:attachment_id>", methods=["DELETE"])
@require_scope("write:media")
async def delete(attachment_id: int) -> Response:
    """Delete one's own upload before it is posted (4.4): `{}`; 422 once a status uses it."""
    try:
        deleted = await media.delete_upload(runtime(), auth().account_id or 0, attachment_id)
    except media.MediaInUse:
        raise ApiError(422, "Media attachment is currently used by a status") from None
    if not deleted:
        raise not_found()
    return json_response({})


async def _create(*, synchronous: bool) -> Response:
    """Both upload endpoints: read the form, hand the file to the service, answer the entity."""
    rt = runtime()
    try:
        params = await read_params()
        upload = params.files.get("file")
        if upload is None:
            raise ApiError(422, FILE_BLANK)
        with file_path(upload.stream) as path:
            _check_size((await trio.Path(path).stat()).st_size, "file")
            try:
                row = await media.upload(
                    rt,
                    auth().account_id or 0,
                    path,
                    synchronous=synchronous,
                    description=params.text("description", max_length=100_000),
                    focus=params.text("focus", max_length=100) or None,
                    thumbnail=_file(params, "thumbnail"),
                )
            except media.MediaError as exc:
                raise ApiError(422, str(exc)) from None
    finally:
        # The body's file and every file field's are removed now, however this ended.
        close_spooled(request.body)
    entity = media_attachment_entity(rt.config, row)
    return json_response(entity, 200 if row["processing"] == "complete" else 202)


def _answer(row: dict[str, Any]) -> Response:
    """An upload as GET and PUT answer it: 206 while queued, 200 when done, 422 if failed."""
    if row["processing"] == "failed":
        raise ApiError(422, row.get("error") or "The file could not be processed")
    entity = media_attachment_entity(runtime().config, row)
    return json_response(entity, 200 if row["processing"] == "complete" else 206)


def _file(params: Params, name: str) -> bytes | None:
    """The bytes of an uploaded image field (a thumbnail); 422 past the image size limit."""
    upload = params.files.get(name)
    if upload is None:
        return None
    data: bytes = upload.read(runtime().config.media_max_image_bytes + 1)
    _check_size(len(data), name)
    return data


def _check_size(size: int, name: str) -> None:
    """422 for a file field past its limit: a `file` may be a video or audio (checked
    against its own limit once its kind is known); a thumbnail is always an image."""
    config = runtime().config
    limit = (
        max(config.media_max_image_bytes, config.media_max_video_bytes)
        if name == "file"
        else config.media_max_image_bytes
    )
    if size > limit:
        raise ApiError(
            422,
            f"Validation failed: {name.capitalize()} file size must be less than {_human(limit)}",
        )


def _human(n: int) -> str:
    """A byte count as people read it (16 MB, 200 KB)."""
    if n % (1024 * 1024) == 0:
        return f"{n // (1024 * 1024)} MB"
    if n % 1024 == 0:
        return f"{n // 1024} KB"
    return f"{n} bytes"
