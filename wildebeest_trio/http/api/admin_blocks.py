"""Mastodon's admin API for blocks and allows: domain blocks, domain allows, e-mail domain
blocks, IP blocks and canonical e-mail blocks (`/api/v1/admin/...`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from quart import Blueprint, Response

from ...serializers.admin import (
    admin_canonical_email_block_entity,
    admin_domain_allow_entity,
    admin_domain_block_entity,
    admin_email_domain_block_entity,
    admin_ip_block_entity,
)
from ...services import admin_blocks as blocks
from ..auth import require_scope
from ..context import json_response, runtime
from ..errors import ApiError
from ..paging import page_from, set_link_header
from ..params import Params, read_params
from .admin import LIMIT, admin_errors, staff

blueprint = Blueprint("admin_blocks_api", __name__)


def _mount(path: str, kind: blocks.Kind[Any], entity: Callable[[Any], dict[str, Any]]) -> None:
    """`GET /api/v1/admin/<path>` (a page, newest first), `GET .../:id` and `DELETE .../:id`
    (answers `{}`), under the kind's `admin:read:<path>` / `admin:write:<path>` scopes."""
    base = f"/api/v1/admin/{path}"

    async def listing() -> Response:
        page = page_from(await read_params(), LIMIT)
        with admin_errors():
            rows = await blocks.listing(runtime(), staff(), kind, page)
        response = json_response([entity(r) for r in rows])
        ids = [r["id"] for r in rows]
        return set_link_header(response, ids, page, more=len(rows) == page.limit)

    async def show(item_id: int) -> Response:
        with admin_errors():
            row = await blocks.one(runtime(), staff(), kind, item_id)
        return json_response(entity(row))

    async def delete(item_id: int) -> Response:
        with admin_errors():
            await blocks.remove(runtime(), staff(), kind, item_id)
        return json_response({})

    for name, endpoint, scope, rule, method in (
        ("list", listing, "read", base, "GET"),
        ("show", show, "read", f"{base}/<id:item_id>", "GET"),
        ("delete", delete, "write", f"{base}/<id:item_id>", "DELETE"),
    ):
        endpoint.__name__ = f"{path}_{name}"
        wrapped = require_scope(f"admin:{scope}:{path}")(endpoint)
        blueprint.route(rule, methods=[method])(wrapped)


_mount("domain_blocks", blocks.DOMAIN_BLOCKS, admin_domain_block_entity)
_mount("domain_allows", blocks.DOMAIN_ALLOWS, admin_domain_allow_entity)
_mount("email_domain_blocks", blocks.EMAIL_DOMAIN_BLOCKS, admin_email_domain_block_entity)
_mount("ip_blocks", blocks.IP_BLOCKS, admin_ip_block_entity)
_mount("canonical_email_blocks", blocks.CANONICAL_EMAIL_BLOCKS, admin_canonical_email_block_entity)


def _required(params: Params, name: str) -> str:
    value = (params.text(name, "", max_length=300) or "").strip()
    if not value:
        raise ApiError(422, f"{name} can't be blank")
    return value


# Domain blocks ---------------------------------------------------------------------------------


def _block_changes(params: Params) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    if "severity" in params:
        changes["severity"] = params.text("severity", "", max_length=20)
    for name in ("reject_media", "reject_reports", "obfuscate"):
        if name in params:
            changes[name] = bool(params.flag(name, False))
    for name in ("private_comment", "public_comment"):
        if name in params:
            changes[name] = params.text(name, "", max_length=1000) or ""
    return changes


@blueprint.route("/api/v1/admin/domain_blocks", methods=["POST"])
@require_scope("admin:write:domain_blocks")
async def create_domain_block() -> Response:
    """`POST /api/v1/admin/domain_blocks` (`domain`, `severity`, `reject_media`,
    `reject_reports`, `private_comment`, `public_comment`, `obfuscate`)."""
    params = await read_params()
    domain = _required(params, "domain")
    fields = blocks.DomainBlockFields(**_block_changes(params))
    with admin_errors():
        row = await blocks.create_domain_block(
            runtime(), staff(), domain, fields, replace_existing=False
        )
    return json_response(admin_domain_block_entity(row))


@blueprint.route("/api/v1/admin/domain_blocks/<id:block_id>", methods=["PUT"])
@require_scope("admin:write:domain_blocks")
async def update_domain_block(block_id: int) -> Response:
    changes = _block_changes(await read_params())
    with admin_errors():
        row = await blocks.update_domain_block(runtime(), staff(), block_id, changes)
    return json_response(admin_domain_block_entity(row))


# Domain allows ---------------------------------------------------------------------------------


@blueprint.route("/api/v1/admin/domain_allows", methods=["POST"])
@require_scope("admin:write:domain_allows")
async def create_domain_allow() -> Response:
    domain = _required(await read_params(), "domain")
    with admin_errors():
        row = await blocks.create_domain_allow(runtime(), staff(), domain)
    return json_response(admin_domain_allow_entity(row))


# E-mail domain blocks --------------------------------------------------------------------------


@blueprint.route("/api/v1/admin/email_domain_blocks", methods=["POST"])
@require_scope("admin:write:email_domain_blocks")
async def create_email_domain_block() -> Response:
    params = await read_params()
    domain = _required(params, "domain")
    with admin_errors():
        row = await blocks.create_email_domain_block(
            runtime(),
            staff(),
            domain,
            allow_with_approval=bool(params.flag("allow_with_approval", False)),
        )
    return json_response(admin_email_domain_block_entity(row))


# IP blocks -------------------------------------------------------------------------------------


def _ip_fields(params: Params, current: Mapping[str, Any] | None = None) -> blocks.IpBlockFields:
    ip = params.text("ip", None, max_length=100)
    severity = params.text("severity", None, max_length=40)
    if current is None:
        ip, severity = ip or _required(params, "ip"), severity or _required(params, "severity")
    return blocks.IpBlockFields(
        ip=ip or (current or {}).get("ip", ""),
        severity=severity or (current or {}).get("severity", ""),
        comment=params.text("comment", None, max_length=1000)
        if "comment" in params
        else (current or {}).get("comment", ""),
        expires_in=params.integer("expires_in", None, minimum=1, maximum=blocks.MAX_EXPIRY_S),
    )


@blueprint.route("/api/v1/admin/ip_blocks", methods=["POST"])
@require_scope("admin:write:ip_blocks")
async def create_ip_block() -> Response:
    """`POST /api/v1/admin/ip_blocks` (`ip`, `severity`, `comment`, `expires_in`)."""
    fields = _ip_fields(await read_params())
    with admin_errors():
        row = await blocks.create_ip_block(runtime(), staff(), fields)
    return json_response(admin_ip_block_entity(row))


@blueprint.route("/api/v1/admin/ip_blocks/<id:block_id>", methods=["PUT"])
@require_scope("admin:write:ip_blocks")
async def update_ip_block(block_id: int) -> Response:
    params = await read_params()
    with admin_errors():
        current = await blocks.one(runtime(), staff(), blocks.IP_BLOCKS, block_id)
        row = await blocks.update_ip_block(
            runtime(),
            staff(),
            block_id,
            _ip_fields(params, current),
            keep_expiry="expires_in" not in params,
        )
    return json_response(admin_ip_block_entity(row))


# Canonical e-mail blocks -----------------------------------------------------------------------


@blueprint.route("/api/v1/admin/canonical_email_blocks/test", methods=["POST"])
@require_scope("admin:read:canonical_email_blocks")
async def test_canonical_email() -> Response:
    """`POST .../canonical_email_blocks/test` (`email`): the blocks the address matches."""
    email = _required(await read_params(), "email")
    with admin_errors():
        rows = await blocks.canonical_blocks_matching(runtime(), staff(), email)
    return json_response([admin_canonical_email_block_entity(r) for r in rows])


@blueprint.route("/api/v1/admin/canonical_email_blocks", methods=["POST"])
@require_scope("admin:write:canonical_email_blocks")
async def create_canonical_email_block() -> Response:
    """`POST .../canonical_email_blocks` (`email`, or `canonical_email_hash`)."""
    params = await read_params()
    email = (params.text("email", "", max_length=320) or "").strip()
    digest = (params.text("canonical_email_hash", "", max_length=100) or "").strip()
    if not email and not digest:
        raise ApiError(422, "canonical_email_hash can't be blank")
    with admin_errors():
        row = await blocks.create_canonical_block(runtime(), staff(), email=email, digest=digest)
    return json_response(admin_canonical_email_block_entity(row))
