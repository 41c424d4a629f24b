"""`POST /api/v1/reports`: report an account to the moderators."""

from __future__ import annotations

from quart import Blueprint, Response

from ...ids import parse_id
from ...serializers.reports import report_entity
from ...services.reports import InvalidReport, ReportRequest, file_report
from ..auth import auth, require_scope
from ..context import json_response, runtime
from ..errors import ApiError
from ..paging import id_or_404, service_errors
from ..params import Params, read_params

blueprint = Blueprint("reports", __name__)
FEATURES = frozenset({"reports"})


def _ids(params: Params, name: str) -> list[int]:
    ids = [parse_id(value) for value in params.get_list(name)]
    if None in ids:
        raise ApiError(422, f"{name} must be a list of ids")
    return [i for i in ids if i is not None]


@blueprint.route("/api/v1/reports", methods=["POST"])
@require_scope("write:reports")
async def create() -> Response:
    """`POST /api/v1/reports` (`account_id`, `status_ids[]`, `comment`, `category`,
    `rule_ids[]`, `forward`)."""
    params = await read_params()
    account_id = params.text("account_id", max_length=20)
    if not account_id:
        raise ApiError(422, "account_id is required")
    request = ReportRequest(
        target_id=id_or_404(account_id),
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
