"""Translating statuses: `POST /api/v1/statuses/:id/translate` (Mastodon 4.0)."""

from __future__ import annotations

from quart import Blueprint, Response

from ...services import translation
from ..auth import auth, require_scope
from ..context import json_response, runtime
from ..errors import ApiError
from ..paging import service_errors
from ..params import read_params

blueprint = Blueprint("translations", __name__)


@blueprint.route("/api/v1/statuses/<id:status_id>/translate", methods=["POST"])
@require_scope(("read", "read:statuses"))
async def translate(status_id: int) -> Response:
    """The status's content, content warning, poll and media descriptions in `lang` (the
    reader's language by default), as Mastodon's Translation entity."""
    params = await read_params()
    lang = params.text("lang", max_length=20) or None
    try:
        with service_errors():
            found = await translation.translate_status(
                runtime(), status_id, auth().account_id, lang
            )
    except translation.TranslationOff as exc:
        raise ApiError(404, str(exc)) from None
    except translation.TranslationRefused as exc:
        raise ApiError(403, str(exc)) from None
    except translation.TranslationUnavailable as exc:
        raise ApiError(503, str(exc)) from None
    except ValueError as exc:
        raise ApiError(422, str(exc)) from None
    return json_response(found)
