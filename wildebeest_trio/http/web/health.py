"""`GET /health`: OK when the server and its database answer (for load balancers)."""

from __future__ import annotations

import trio
from quart import Blueprint, Response

from ..context import runtime

blueprint = Blueprint("health", __name__)


@blueprint.route("/health")
async def health() -> Response:
    rt = runtime()
    ok = False
    with trio.move_on_after(5):
        try:
            ok = await rt.store.ping()
        except Exception:
            ok = False
    if not ok:
        return Response("database unavailable", status=503, content_type="text/plain")
    return Response("OK", content_type="text/plain", headers={"Cache-Control": "no-store"})
