"""`GET /metrics`: Prometheus' text format, for the addresses in WB_METRICS_ALLOW only."""

from __future__ import annotations

import ipaddress
from functools import cache

from quart import Blueprint, Response

from ... import metrics
from ...config import IpNetwork, parse_networks
from ...services.observe import metrics_text
from ..auth import client_ip
from ..context import runtime
from ..errors import not_found

blueprint = Blueprint("metrics", __name__)


@cache
def _networks(allow: str) -> tuple[IpNetwork, ...]:
    return parse_networks(allow)


def _allowed(address: str, allow: str) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in _networks(allow))


@blueprint.route("/metrics")
async def exposition() -> Response:
    rt = runtime()
    if not _allowed(client_ip(), rt.config.metrics_allow):
        # As if there were nothing here: the page says what the server does and carries.
        raise not_found()
    body = await metrics_text(rt)
    return Response(body, content_type=metrics.CONTENT_TYPE, headers={"Cache-Control": "no-store"})
