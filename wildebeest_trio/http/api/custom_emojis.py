"""`GET /api/v1/custom_emojis`: the server's enabled local emoji, for every client's picker."""

from __future__ import annotations

from quart import Blueprint, Response

from ...serializers.custom_emoji import custom_emoji_entity
from ...services.custom_emoji import local_emojis
from ..context import json_response, runtime

blueprint = Blueprint("custom_emojis", __name__)
FEATURES = frozenset({"custom_emojis"})
CACHE_SECONDS = 180  # as Mastodon: shared caches may keep it three minutes


@blueprint.route("/api/v1/custom_emojis")
async def custom_emojis() -> Response:
    """Public and cacheable whoever asks: no token is read."""
    rt = runtime()
    rows = await local_emojis(rt)
    response = json_response([custom_emoji_entity(rt.config, r) for r in rows])
    response.cache_control.public = True
    response.cache_control.max_age = CACHE_SECONDS
    return response
