"""Notifications in the Mastodon API: the v1 list, v2 groups, the policy and requests."""

from __future__ import annotations

from typing import Any

from quart import Blueprint, Response

from ...ids import parse_id
from ...serializers.accounts import account_entity
from ...serializers.notifications import (
    group_entity,
    partial_account_entity,
    policy_entity,
    policy_v1_entity,
    request_entity,
)
from ...serializers.statuses import status_entity
from ...services import notifications
from ...services.notifications import (
    GROUPABLE,
    POLICY_FIELDS,
    TYPES,
    Browse,
    Grouped,
    NotificationNotFound,
)
from ..auth import auth, require_scope
from ..context import json_response, runtime
from ..errors import ApiError
from ..paging import id_or_404, page_from, set_link_header
from ..params import Params, read_params

blueprint = Blueprint("notifications", __name__)
# `/api/v2/notifications` with its unread count: what `api_versions.mastodon` 2 promises.
FEATURES = frozenset({"grouped_notifications"})

READ = "read:notifications"
WRITE = "write:notifications"
NOTIFICATIONS_LIMIT = 40  # Mastodon's DEFAULT_NOTIFICATIONS_LIMIT; at most twice it
COUNT_LIMIT = 100
COUNT_LIMIT_MAX = 1000


def _me() -> int:
    return auth().account_id or 0


def _types(params: Params) -> tuple[str, ...] | None:
    """`types[]` minus `exclude_types[]` among the known types; None when that is all."""
    asked = [str(t) for t in params.get_list("types")]
    excluded = {str(t) for t in params.get_list("exclude_types")}
    wanted = [t for t in TYPES if t in asked] if asked else list(TYPES)
    wanted = [t for t in wanted if t not in excluded]
    return None if len(wanted) == len(TYPES) else tuple(wanted)


def _account_filter(params: Params) -> int | None:
    value = params.get("account_id")
    if value is None or value == "":
        return None
    found = parse_id(value)
    if found is None:
        raise ApiError(422, "account_id must be an account id")
    return found


def _browse(params: Params, *, grouped: bool = False) -> Browse:
    grouped_types: tuple[str, ...] = ()
    if grouped:
        asked = [str(t) for t in params.get_list("grouped_types")]
        grouped_types = (
            tuple(t for t in asked if t in GROUPABLE) if asked else tuple(sorted(GROUPABLE))
        )
    return Browse(
        types=_types(params),
        from_account_id=_account_filter(params),
        include_filtered=bool(params.flag("include_filtered", False)),
        grouped_types=grouped_types,
    )


def _count_limit(params: Params) -> int:
    limit = params.integer("limit", COUNT_LIMIT, maximum=COUNT_LIMIT_MAX, clamp=True)
    return limit if limit > 0 else COUNT_LIMIT


def _not_found() -> ApiError:
    return ApiError(404, "Record not found")


# v1 ----------------------------------------------------------------------------------------


@blueprint.route("/api/v1/notifications")
@require_scope(READ)
async def index() -> Response:
    """`GET /api/v1/notifications` (`types[]`, `exclude_types[]`, `account_id`,
    `include_filtered`, and the id cursors; 40 by default, at most 80)."""
    params = await read_params()
    page = page_from(params, NOTIFICATIONS_LIMIT)
    listing = await notifications.page(runtime(), _me(), _browse(params), page)
    response = json_response(listing.entities(runtime().config))
    return set_link_header(response, [r["id"] for r in listing.rows], page)


@blueprint.route("/api/v1/notifications/unread_count")
@require_scope(READ)
async def unread_count() -> Response:
    """`GET /api/v1/notifications/unread_count`: after the notifications marker."""
    params = await read_params()
    count = await notifications.unread_count(
        runtime(), _me(), _browse(params), _count_limit(params), grouped=False
    )
    return json_response({"count": count})


@blueprint.route("/api/v1/notifications/<id:notification_id>")
@require_scope(READ)
async def show(notification_id: int) -> Response:
    """`GET /api/v1/notifications/:id`."""
    try:
        listing = await notifications.show(runtime(), _me(), notification_id)
    except NotificationNotFound:
        raise _not_found() from None
    shown = listing.entities(runtime().config)
    if not shown:
        raise _not_found()  # about a status the viewer's filters hide
    return json_response(shown[0])


async def _dismiss(value: int | str) -> Response:
    try:
        await notifications.dismiss(runtime(), _me(), id_or_404(value))
    except NotificationNotFound:
        raise _not_found() from None
    return json_response({})


@blueprint.route("/api/v1/notifications/<id:notification_id>/dismiss", methods=["POST"])
@require_scope(WRITE)
async def dismiss(notification_id: int) -> Response:
    """`POST /api/v1/notifications/:id/dismiss`."""
    return await _dismiss(notification_id)


@blueprint.route("/api/v1/notifications/dismiss", methods=["POST"])
@require_scope(WRITE)
async def dismiss_by_param() -> Response:
    """`POST /api/v1/notifications/dismiss` with `id` (the form before Mastodon 3.1)."""
    params = await read_params()
    return await _dismiss(str(params.get("id") or ""))


@blueprint.route("/api/v1/notifications/clear", methods=["POST"])
@require_scope(WRITE)
async def clear() -> Response:
    """`POST /api/v1/notifications/clear`."""
    await notifications.clear(runtime(), _me())
    return json_response({})


# v2 groups ---------------------------------------------------------------------------------


def _expand(params: Params) -> str:
    value = params.get("expand_accounts")
    if value is None or value == "full":
        return "full"
    if value == "partial_avatars":
        return "partial_avatars"
    raise ApiError(
        400,
        f"Invalid value for 'expand_accounts': '{value}', allowed values are 'full' "
        "and 'partial_avatars'",
    )


def grouped_response(found: Grouped, expand: str) -> dict[str, Any]:
    """Mastodon's DedupNotificationGroup: accounts and statuses once, groups by id."""
    config = runtime().config
    listing = found.listing
    bundle = listing.bundle
    status_ids: list[int] = []
    full: list[int] = []
    partial: list[int] = []
    for group in found.groups:
        row = group.row
        if not listing.shown(row):
            continue
        if row["status_id"] is not None and row["status_id"] in bundle.statuses:
            status_ids.append(row["status_id"])
        first, *rest = group.sample_ids
        full.append(first)
        (partial if expand == "partial_avatars" else full).extend(rest)
        if row["status_id"] in bundle.statuses:
            full.append(bundle.statuses[row["status_id"]]["account_id"])
        report = listing.reports.get(row["report_id"] or 0)
        if report is not None:
            full.append(report["target_account_id"])
    full = [i for i in dict.fromkeys(full) if i in listing.accounts]
    partial = [i for i in dict.fromkeys(partial) if i in listing.accounts and i not in full]
    body: dict[str, Any] = {
        "accounts": [account_entity(config, listing.accounts[i]) for i in full],
    }
    if expand == "partial_avatars":
        body["partial_accounts"] = [
            partial_account_entity(config, listing.accounts[i]) for i in partial
        ]
    body["statuses"] = [status_entity(config, bundle, i) for i in dict.fromkeys(status_ids)]
    body["notification_groups"] = [
        group_entity(
            g.row,
            group_key=g.key,
            count=g.count,
            most_recent_id=g.most_recent_id,
            sample_ids=g.sample_ids,
            page=g.page,
            reports=listing.reports,
            config=config,
            accounts=listing.accounts,
        )
        for g in found.groups
        if listing.shown(g.row)
    ]
    return body


@blueprint.route("/api/v2/notifications")
@require_scope(READ)
async def grouped_index() -> Response:
    """`GET /api/v2/notifications`: groups (`grouped_types[]`, `types[]`,
    `exclude_types[]`, `account_id`, `expand_accounts`, `include_filtered`)."""
    params = await read_params()
    expand = _expand(params)
    page = page_from(params, NOTIFICATIONS_LIMIT)
    found = await notifications.grouped_page(runtime(), _me(), _browse(params, grouped=True), page)
    response = json_response(grouped_response(found, expand))
    return set_link_header(response, [g.row["id"] for g in found.groups], page)


@blueprint.route("/api/v2/notifications/unread_count")
@require_scope(READ)
async def grouped_unread_count() -> Response:
    """`GET /api/v2/notifications/unread_count`: groups after the notifications marker."""
    params = await read_params()
    count = await notifications.unread_count(
        runtime(), _me(), _browse(params, grouped=True), _count_limit(params), grouped=True
    )
    return json_response({"count": count})


def _group_key(text: str) -> str:
    if not text or len(text) > 200:
        raise _not_found()
    return text


@blueprint.route("/api/v2/notifications/<group_key>")
@require_scope(READ)
async def grouped_show(group_key: str) -> Response:
    """`GET /api/v2/notifications/:group_key`."""
    browse = Browse(include_filtered=True, grouped_types=tuple(sorted(GROUPABLE)))
    try:
        found = await notifications.group(runtime(), _me(), _group_key(group_key), browse)
    except NotificationNotFound:
        raise _not_found() from None
    return json_response(grouped_response(found, "full"))


@blueprint.route("/api/v2/notifications/<group_key>/accounts")
@require_scope(READ)
async def grouped_accounts(group_key: str) -> Response:
    """`GET /api/v2/notifications/:group_key/accounts`: who is in the group, newest first."""
    params = await read_params()
    page = page_from(params, NOTIFICATIONS_LIMIT)
    try:
        accounts, rows = await notifications.group_accounts(
            runtime(), _me(), _group_key(group_key), page
        )
    except NotificationNotFound:
        raise _not_found() from None
    config = runtime().config
    response = json_response([account_entity(config, a) for a in accounts])
    return set_link_header(response, [r["id"] for r in rows], page)


@blueprint.route("/api/v2/notifications/<group_key>/dismiss", methods=["POST"])
@require_scope(WRITE)
async def grouped_dismiss(group_key: str) -> Response:
    """`POST /api/v2/notifications/:group_key/dismiss`."""
    try:
        await notifications.dismiss_group(runtime(), _me(), _group_key(group_key))
    except NotificationNotFound:
        raise _not_found() from None
    return json_response({})


# Policy ----------------------------------------------------------------------------------


@blueprint.route("/api/v2/notifications/policy")
@require_scope(READ)
async def policy() -> Response:
    """`GET /api/v2/notifications/policy`."""
    values, summary = await notifications.get_policy(runtime(), _me())
    return json_response(policy_entity(values, summary))


@blueprint.route("/api/v2/notifications/policy", methods=["PATCH", "PUT"])
@require_scope(WRITE)
async def update_policy() -> Response:
    """`PATCH /api/v2/notifications/policy`: each field accept, filter or drop."""
    params = await read_params()
    changes = {}
    for name in POLICY_FIELDS:
        value = params.text(name, max_length=20)
        if value is not None:
            changes[name] = value
    try:
        values, summary = await notifications.update_policy(runtime(), _me(), changes)
    except notifications.InvalidPolicy as exc:
        raise ApiError(422, f"Validation failed: {exc}") from None
    return json_response(policy_entity(values, summary))


@blueprint.route("/api/v1/notifications/policy")
@require_scope(READ)
async def policy_v1() -> Response:
    """`GET /api/v1/notifications/policy` (4.3's booleans)."""
    values, summary = await notifications.get_policy(runtime(), _me())
    return json_response(policy_v1_entity(values, summary))


@blueprint.route("/api/v1/notifications/policy", methods=["PATCH", "PUT"])
@require_scope(WRITE)
async def update_policy_v1() -> Response:
    """`PATCH /api/v1/notifications/policy`: `filter_*` booleans (true: filter)."""
    params = await read_params()
    changes = {}
    for name in ("not_following", "not_followers", "new_accounts", "private_mentions"):
        flag = params.flag(f"filter_{name}")
        if flag is not None:
            changes[f"for_{name}"] = "filter" if flag else "accept"
    values, summary = await notifications.update_policy(runtime(), _me(), changes)
    return json_response(policy_v1_entity(values, summary))


# Requests ----------------------------------------------------------------------------------


def _requests_entities(found: notifications.Requests) -> list[dict[str, Any]]:
    config = runtime().config
    return [
        request_entity(
            config,
            r,
            found.accounts[r["from_account_id"]],
            found.bundle,
            found.counts.get(r["from_account_id"], 0),
        )
        for r in found.rows
        if r["from_account_id"] in found.accounts
    ]


@blueprint.route("/api/v1/notifications/requests")
@require_scope(READ)
async def requests() -> Response:
    """`GET /api/v1/notifications/requests`: senders whose notifications were filtered."""
    params = await read_params()
    page = page_from(params, NOTIFICATIONS_LIMIT)
    found = await notifications.requests(runtime(), _me(), page)
    response = json_response(_requests_entities(found))
    return set_link_header(response, [r["id"] for r in found.rows], page)


@blueprint.route("/api/v1/notifications/requests/merged")
@require_scope(READ)
async def requests_merged() -> Response:
    """`GET /api/v1/notifications/requests/merged`: accepting merges at once here."""
    return json_response({"merged": True})


@blueprint.route("/api/v1/notifications/requests/<id:request_id>")
@require_scope(READ)
async def request_show(request_id: int) -> Response:
    """`GET /api/v1/notifications/requests/:id`."""
    try:
        found = await notifications.request(runtime(), _me(), request_id)
    except NotificationNotFound:
        raise _not_found() from None
    entities = _requests_entities(found)
    if not entities:
        raise _not_found()
    return json_response(entities[0])


async def _answer(ids: list[int], *, accept: bool, strict: bool) -> Response:
    try:
        await notifications.answer_requests(runtime(), _me(), ids, accept=accept, strict=strict)
    except NotificationNotFound:
        raise _not_found() from None
    return json_response({})


@blueprint.route("/api/v1/notifications/requests/<id:request_id>/accept", methods=["POST"])
@require_scope(WRITE)
async def request_accept(request_id: int) -> Response:
    """`POST /api/v1/notifications/requests/:id/accept`."""
    return await _answer([request_id], accept=True, strict=True)


@blueprint.route("/api/v1/notifications/requests/<id:request_id>/dismiss", methods=["POST"])
@require_scope(WRITE)
async def request_dismiss(request_id: int) -> Response:
    """`POST /api/v1/notifications/requests/:id/dismiss`."""
    return await _answer([request_id], accept=False, strict=True)


async def _bulk_ids() -> list[int]:
    params = await read_params()
    values = params.get_list("id")
    if not values:
        raise ApiError(400, "id is missing")
    if len(values) > 100:
        raise ApiError(422, "at most 100 ids at once")
    ids = [parse_id(value) for value in values]
    if None in ids:
        raise ApiError(422, "id must be a list of ids")
    return [i for i in ids if i is not None]


@blueprint.route("/api/v1/notifications/requests/accept", methods=["POST"])
@require_scope(WRITE)
async def requests_accept() -> Response:
    """`POST /api/v1/notifications/requests/accept` with `id[]`."""
    return await _answer(await _bulk_ids(), accept=True, strict=False)


@blueprint.route("/api/v1/notifications/requests/dismiss", methods=["POST"])
@require_scope(WRITE)
async def requests_dismiss() -> Response:
    """`POST /api/v1/notifications/requests/dismiss` with `id[]`."""
    return await _answer(await _bulk_ids(), accept=False, strict=False)
