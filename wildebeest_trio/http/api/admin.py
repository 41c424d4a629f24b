"""Mastodon's admin API for accounts and reports (`/api/v1/admin/*`, `/api/v2/admin/accounts`).

Two gates, as Mastodon's: the token's scope (`admin:read`/`admin:write` or the child scope
of the method) and the user's role (its permission bits, checked by the admin services,
which the admin pages call too). A token without the scope is 403, a role without the
permission 403 `This action is not allowed`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from quart import Blueprint, Response

from ... import roles
from ...serializers.admin import admin_account_entity, admin_report_view_entity
from ...services import admin
from ...services.admin import AccountAction, AccountFilter, AdminAccount, Staff
from ..auth import auth, require_scope
from ..context import json_response, runtime
from ..errors import ApiError
from ..paging import cursor, page_from, set_link_header
from ..params import Params, read_params

blueprint = Blueprint("admin_api", __name__)
LIMIT = 100  # Mastodon's admin lists: 100 by default, at most 200


def staff() -> Staff:
    """The caller of a `@require_scope` admin endpoint as the admin services take them."""
    info = auth()
    return Staff(info.account_id or 0, info.role or "user")


@contextmanager
def admin_errors() -> Iterator[None]:
    """The admin services' refusals as Mastodon answers them."""
    try:
        yield
    except admin.NotFound:
        raise ApiError(404, "Record not found") from None
    except admin.Forbidden as exc:
        raise ApiError(403, str(exc)) from None
    except admin.AdminError as exc:
        raise ApiError(422, str(exc)) from None


def account_json(found: AdminAccount) -> dict[str, Any]:
    return admin_account_entity(runtime().config, found.row, found.ips)


# Accounts --------------------------------------------------------------------------------------

# v1's boolean filters and the v2 filter each stands for.
V1_ORIGINS = ("local", "remote")
V1_STATUSES = ("active", "pending", "disabled", "silenced", "suspended", "sensitized")


def _text_filters(params: Params) -> dict[str, str]:
    return {
        name: (params.text(name, "", max_length=300) or "").strip()
        for name in ("username", "display_name", "by_domain", "email", "ip")
    }


async def _account_listing(where: AccountFilter, params: Params) -> Response:
    page = page_from(params, LIMIT)
    with admin_errors():
        found = await admin.account_list(runtime(), staff(), page, where)
    response = json_response([account_json(a) for a in found])
    return set_link_header(
        response, [a.row["id"] for a in found], page, more=len(found) == page.limit
    )


@blueprint.route("/api/v1/admin/accounts")
@require_scope("admin:read:accounts")
async def accounts_v1() -> Response:
    """`GET /api/v1/admin/accounts` (`local`, `remote`, `active`, `pending`, `disabled`,
    `silenced`, `suspended`, `sensitized`, `staff`, and the text filters)."""
    params = await read_params()
    origin = next((o for o in V1_ORIGINS if params.flag(o, False)), "")
    status = next((s for s in V1_STATUSES if params.flag(s, False)), "")
    where = AccountFilter(
        origin=origin,
        status=status,
        staff=bool(params.flag("staff", False)),
        **_text_filters(params),
    )
    return await _account_listing(where, params)


@blueprint.route("/api/v2/admin/accounts")
@require_scope("admin:read:accounts")
async def accounts_v2() -> Response:
    """`GET /api/v2/admin/accounts` (`origin`, `status`, `permissions`, `role_ids[]`, and the
    text filters)."""
    params = await read_params()
    origin = params.text("origin", "", max_length=20) or ""
    status = params.text("status", "", max_length=20) or ""
    if origin not in ("", *V1_ORIGINS) or status not in ("", *V1_STATUSES):
        raise ApiError(422, "origin or status is not one Mastodon knows")
    role_keys = {r.id: r.key for r in roles.ROLES.values()}
    where = AccountFilter(
        origin=origin,
        status=status,
        staff=params.text("permissions", "", max_length=20) == "staff",
        roles=tuple(role_keys[str(i)] for i in params.get_list("role_ids") if str(i) in role_keys),
        **_text_filters(params),
    )
    return await _account_listing(where, params)


@blueprint.route("/api/v1/admin/accounts/<id:account_id>")
@require_scope("admin:read:accounts")
async def account(account_id: int) -> Response:
    with admin_errors():
        found = await admin.account(runtime(), staff(), account_id)
    return json_response(account_json(found))


@blueprint.route("/api/v1/admin/accounts/<id:account_id>/action", methods=["POST"])
@require_scope("admin:write:accounts")
async def account_action(account_id: int) -> Response:
    """`POST /api/v1/admin/accounts/:id/action` (`type`, `report_id`, `warning_preset_id`,
    `text`, `send_email_notification`): answers `{}`."""
    params = await read_params()
    report_id = cursor(params, "report_id")
    action = AccountAction(
        type=params.text("type", "none", max_length=20) or "none",
        report_id=report_id,
        text=params.text("text", "", max_length=5000) or "",
        send_email_notification=bool(params.flag("send_email_notification", False)),
    )
    with admin_errors():
        await admin.act_on_account(runtime(), staff(), account_id, action)
    return json_response({})


async def _decide(account_id: int, verb: str) -> Response:
    rt = runtime()
    who = staff()
    with admin_errors():
        if verb == "approve":
            await admin.approve(rt, who, account_id)
        elif verb == "reject":
            shown = await admin.account(rt, who, account_id)
            await admin.reject(rt, who, account_id)
            return json_response(account_json(shown))
        else:
            await admin.undo_on_account(rt, who, account_id, verb)
        found = await admin.account(rt, who, account_id)
    return json_response(account_json(found))


def _account_verb(verb: str) -> Any:
    async def endpoint(account_id: int) -> Response:
        return await _decide(account_id, verb)

    endpoint.__name__ = f"account_{verb}"
    endpoint.__doc__ = f"`POST /api/v1/admin/accounts/:id/{verb}`: the account as it is now."
    wrapped = require_scope("admin:write:accounts")(endpoint)
    blueprint.route(f"/api/v1/admin/accounts/<id:account_id>/{verb}", methods=["POST"])(wrapped)
    return wrapped


for _verb in ("approve", "reject", *admin.UNDO_ACTIONS):
    _account_verb(_verb)


@blueprint.route("/api/v1/admin/accounts/<id:account_id>", methods=["DELETE"])
@require_scope("admin:write:accounts")
async def delete_account(account_id: int) -> Response:
    """`DELETE /api/v1/admin/accounts/:id`: a suspended account's data; the account."""
    with admin_errors():
        shown = await admin.delete_account_data(runtime(), staff(), account_id)
    return json_response(account_json(shown))


# Reports ---------------------------------------------------------------------------------------


async def _reports_json(found: list[Any]) -> list[dict[str, Any]]:
    rt = runtime()
    with admin_errors():
        views = await admin.report_views(rt, staff(), found)
    return [admin_report_view_entity(rt.config, view) for view in views]


@blueprint.route("/api/v1/admin/reports")
@require_scope("admin:read:reports")
async def reports() -> Response:
    """`GET /api/v1/admin/reports` (`resolved`, `account_id`, `target_account_id`)."""
    params = await read_params()
    page = page_from(params, LIMIT)
    with admin_errors():
        found = await admin.report_list(
            runtime(),
            staff(),
            page,
            resolved=bool(params.flag("resolved", False)),
            account_id=cursor(params, "account_id"),
            target_account_id=cursor(params, "target_account_id"),
        )
    response = json_response(await _reports_json(found))
    return set_link_header(response, [r["id"] for r in found], page, more=len(found) == page.limit)


@blueprint.route("/api/v1/admin/reports/<id:report_id>")
@require_scope("admin:read:reports")
async def report(report_id: int) -> Response:
    with admin_errors():
        found = await admin.report(runtime(), staff(), report_id)
    return json_response((await _reports_json([found]))[0])


@blueprint.route("/api/v1/admin/reports/<id:report_id>", methods=["PUT"])
@require_scope("admin:write:reports")
async def update_report(report_id: int) -> Response:
    """`PUT /api/v1/admin/reports/:id` (`category`, `rule_ids[]`)."""
    params = await read_params()
    rule_ids = params.ids("rule_ids", 50) if "rule_ids" in params else None
    with admin_errors():
        changed = await admin.change_report(
            runtime(),
            staff(),
            report_id,
            "update",
            category=params.text("category", None, max_length=20),
            rule_ids=rule_ids,
        )
    return json_response((await _reports_json([changed]))[0])


def _report_verb(verb: str) -> Any:
    async def endpoint(report_id: int) -> Response:
        with admin_errors():
            changed = await admin.change_report(runtime(), staff(), report_id, verb)
        return json_response((await _reports_json([changed]))[0])

    endpoint.__name__ = f"report_{verb}"
    endpoint.__doc__ = f"`POST /api/v1/admin/reports/:id/{verb}`: the report as it is now."
    wrapped = require_scope("admin:write:reports")(endpoint)
    blueprint.route(f"/api/v1/admin/reports/<id:report_id>/{verb}", methods=["POST"])(wrapped)
    return wrapped


for _verb in admin.REPORT_ACTIONS:
    _report_verb(_verb)
