"""`GET /health`: OK when the server and its database answer (for load balancers);
`GET /health/ready`: and its job queue is being worked."""

from __future__ import annotations

import orjson
import trio
from quart import Blueprint, Response

from ...services.observe import readiness
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


@blueprint.route("/health/ready")
async def ready() -> Response:
    """Readiness: the database answers and the job queue is being worked (503 otherwise)."""
    found = await readiness(runtime())
    body: dict[str, object] = {"status": "ready" if found.ready else "unready", **found.checks}
    if not found.ready:
        body["reason"] = found.reason
    return Response(
        orjson.dumps(body),
        status=200 if found.ready else 503,
        content_type="application/json",
        headers={"Cache-Control": "no-store"},
    )
