"""Mastodon's admin dashboard API: measures, dimensions and retention (`admin:read`)."""

from __future__ import annotations

from quart import Blueprint, Response

from ...charts import human_bytes
from ...services import dashboard
from ..auth import require_scope
from ..context import json_response, runtime
from ..errors import ApiError
from ..params import Params, read_params
from .admin import admin_errors, staff

blueprint = Blueprint("admin_dashboard_api", __name__)


def _period(params: Params) -> dashboard.Period:
    start_at = params.text("start_at", "", max_length=40) or ""
    end_at = params.text("end_at", "", max_length=40) or ""
    if not start_at or not end_at:
        raise ApiError(400, "start_at and end_at are required")
    with admin_errors():
        return dashboard.period(start_at, end_at)


def _keys(params: Params) -> list[str]:
    return [str(k)[:50] for k in params.get_list("keys")[:50]]


def _targets(params: Params, keys: list[str]) -> dict[str, str]:
    """What each tag or instance key is asked about: `tag_uses[id]`, `instance_*[domain]`."""
    found = {}
    for key in keys:
        name = "id" if key.startswith("tag_") else "domain"
        if key.startswith(("tag_", "instance_")):
            found[key] = params.text(f"{key}[{name}]", "", max_length=300) or ""
    return found


@blueprint.route("/api/v1/admin/measures", methods=["POST"])
@require_scope("admin:read")
async def measures() -> Response:
    """`POST /api/v1/admin/measures` (`keys[]`, `start_at`, `end_at`)."""
    params = await read_params()
    when = _period(params)
    keys = _keys(params)
    with admin_errors():
        found = await dashboard.measures(runtime(), staff(), keys, when, _targets(params, keys))
    return json_response(
        [
            {
                "key": m.key,
                "unit": "bytes" if m.key in dashboard.BYTE_MEASURES else None,
                "total": str(m.total),
                **(
                    {"human_total": human_bytes(m.total)}
                    if m.key in dashboard.BYTE_MEASURES
                    else {}
                ),
                "previous_total": str(m.previous_total),
                "data": [{"date": dashboard.day_iso(d), "value": str(v)} for d, v in m.data],
            }
            for m in found
        ]
    )


@blueprint.route("/api/v1/admin/dimensions", methods=["POST"])
@require_scope("admin:read")
async def dimensions() -> Response:
    """`POST /api/v1/admin/dimensions` (`keys[]`, `start_at`, `end_at`, `limit`)."""
    params = await read_params()
    when = _period(params)
    limit = params.integer("limit", 10, minimum=1, maximum=dashboard.MAX_DIMENSION_ROWS, clamp=True)
    keys = _keys(params)
    with admin_errors():
        found = await dashboard.dimensions(
            runtime(), staff(), keys, when, limit, _targets(params, keys)
        )
    return json_response(
        [
            {
                "key": d.key,
                "data": [
                    {
                        "key": key,
                        "human_key": human,
                        "value": str(value),
                        **(
                            {"unit": "bytes", "human_value": human_bytes(value)}
                            if d.key == "space_usage"
                            else {}
                        ),
                    }
                    for key, human, value in d.data
                ],
            }
            for d in found
        ]
    )


@blueprint.route("/api/v1/admin/retention", methods=["POST"])
@require_scope("admin:read")
async def retention() -> Response:
    """`POST /api/v1/admin/retention` (`start_at`, `end_at`, `frequency`: day or month)."""
    params = await read_params()
    when = _period(params)
    frequency = params.text("frequency", "day", max_length=10) or "day"
    with admin_errors():
        cohorts = await dashboard.retention(runtime(), staff(), when, frequency)
    return json_response(
        [
            {
                "period": dashboard.day_iso(c.period),
                "frequency": frequency,
                "data": [
                    {
                        "date": dashboard.day_iso(day),
                        "rate": (value / c.size) if c.size else 0.0,
                        "value": str(value),
                    }
                    for day, value in c.data
                ],
            }
            for c in cohorts
        ]
    )
