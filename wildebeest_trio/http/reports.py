"""`POST /api/v1/reports`: report an account to the moderators."""

from __future__ import annotations

from quart import Blueprint, Response

from ..serializers.reports import report_entity
from ..services.reports import InvalidReport, ReportRequest, file_report
from .auth import auth, require_scope
from .context import json_response, runtime
from .errors import ApiError
from .paging import MAX_ID, service_errors
from .params import Params, read_params

blueprint = Blueprint("reports", __name__)
FEATURES = frozenset({"reports"})


def _ids(params: Params, name: str) -> list[int]:
    ids = []
    for value in params.get_list(name):
        text = str(value)
        if not text.isdigit() or len(text) > 19 or int(text) > MAX_ID:
            raise ApiError(422, f"{name} must be a list of ids")
        ids.append(int(text))
    return ids


@blueprint.route("/api/v1/reports", methods=["POST"])
@require_scope("write:reports")
async def create() -> Response:
    """`POST /api/v1/reports` (`account_id`, `status_ids[]`, `comment`, `category`,
    `rule_ids[]`, `forward`)."""
    params = await read_params()
    account_id = params.text("account_id", max_length=20)
    if not account_id:
        raise ApiError(422, "account_id is required")
    if not account_id.isdigit() or len(account_id) > 19 or int(account_id) > MAX_ID:
        raise ApiError(404, "Record not found")
    request = ReportRequest(
        target_id=int(account_id),
        status_ids=_ids(params, "status_ids"),
        comment=params.text("comment", "", max_length=100_000) or "",
        category=params.text("category", None, max_length=50),
        rule_ids=_ids(params, "rule_ids"),
        forward=bool(params.flag("forward", False)),
    )
    rt = runtime()
    try:
        with service_errors():
            filed = await file_report(rt, auth().account_id or 0, request)
    except InvalidReport as exc:
        raise ApiError(422, str(exc)) from None
    return json_response(report_entity(rt.config, filed.report, filed.target))
