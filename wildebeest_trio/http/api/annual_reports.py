"""Annual reports ("Wrapstodon", Mastodon 4.3+): `/api/v1/annual_reports`."""

from __future__ import annotations

import json
from typing import Any

from quart import Blueprint, Response

from ...serializers.accounts import account_entity
from ...serializers.statuses import status_entities
from ...services import annual_reports, profiles, statuses
from ...services.annual_reports import Reports
from ...services.custom_emoji import with_emojis
from ..auth import auth, require_scope
from ..context import json_response, runtime
from ..errors import not_found

blueprint = Blueprint("annual_reports", __name__)
FEATURES = frozenset({"annual_reports"})


def _me() -> int:
    return auth().account_id or 0


def _year(year: int) -> int:
    """A year from the path: four digits, else a 404 as Mastodon's lookup misses."""
    if not 1970 <= year <= 9999:
        raise not_found()
    return year


async def _answer(found: Reports) -> Response:
    rt = runtime()
    accounts = await with_emojis(rt, await profiles.accounts_by_ids(rt, found.account_ids))
    bundle = await statuses.show_many(rt, found.status_ids, _me())
    reports: list[dict[str, Any]] = [
        {
            "year": r["year"],
            "data": json.loads(r["data"] or "{}"),
            "schema_version": r["schema_version"],
            "share_url": None,
            "account_id": str(r["account_id"]),
        }
        for r in found.reports
    ]
    return json_response(
        {
            "annual_reports": reports,
            "accounts": [account_entity(rt.config, a) for a in accounts],
            "statuses": status_entities(rt.config, bundle),
        }
    )


@blueprint.route("/api/v1/annual_reports")
@require_scope("read:accounts")
async def index() -> Response:
    """`GET /api/v1/annual_reports`: the caller's reports not read yet."""
    return await _answer(await annual_reports.unread(runtime(), _me()))


@blueprint.route("/api/v1/annual_reports/<int:year>")
@require_scope("read:accounts")
async def show(year: int) -> Response:
    """`GET /api/v1/annual_reports/:year`."""
    try:
        found = await annual_reports.of_year(runtime(), _me(), _year(year))
    except annual_reports.ReportNotFound:
        raise not_found() from None
    return await _answer(found)


@blueprint.route("/api/v1/annual_reports/<int:year>/state")
@require_scope("read:accounts")
async def state(year: int) -> Response:
    """`GET /api/v1/annual_reports/:year/state`: `{"state": ...}`."""
    return json_response({"state": await annual_reports.state(runtime(), _me(), _year(year))})


@blueprint.route("/api/v1/annual_reports/<int:year>/generate", methods=["POST"])
@require_scope("write:accounts")
async def generate(year: int) -> Response:
    """`POST /api/v1/annual_reports/:year/generate`: 202 while it is being generated."""
    started = await annual_reports.generate(runtime(), _me(), _year(year))
    response = json_response({}, 202 if started else 200)
    if started:
        # Mastodon's AsyncRefresh header: ask again shortly.
        response.headers["Mastodon-Async-Refresh"] = f'id="annual_report:{year}", retry=2'
    return response


@blueprint.route("/api/v1/annual_reports/<int:year>/read", methods=["POST"])
@require_scope("write:accounts")
async def read(year: int) -> Response:
    """`POST /api/v1/annual_reports/:year/read`."""
    try:
        await annual_reports.mark_read(runtime(), _me(), _year(year))
    except annual_reports.ReportNotFound:
        raise not_found() from None
    return json_response({})
