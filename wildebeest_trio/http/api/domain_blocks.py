"""`/api/v1/domain_blocks`: the domains a user hides (user level, not the admin's)."""

from __future__ import annotations

from quart import Blueprint, Response

from ...services import account_domain_blocks as blocks
from ..auth import auth, require_scope
from ..context import json_response, runtime
from ..errors import ApiError
from ..paging import page_from, set_link_header
from ..params import read_params

blueprint = Blueprint("domain_blocks", __name__)
FEATURES = frozenset({"domain_blocks"})
DOMAIN_LIMIT = 100  # Mastodon's default page (at most 200)


async def _domain() -> str:
    params = await read_params()
    domain = params.text("domain", "", max_length=300) or ""
    if not domain.strip():
        raise ApiError(422, "domain is required")
    return domain


@blueprint.route("/api/v1/domain_blocks")
@require_scope("read:blocks")
async def listing() -> Response:
    """`GET /api/v1/domain_blocks`: blocked domains as strings, newest first."""
    page = page_from(await read_params(), DOMAIN_LIMIT)
    rows = await blocks.blocked_domains(runtime(), auth().account_id or 0, page)
    response = json_response([r["domain"] for r in rows])
    return set_link_header(
        response, [r["page_id"] for r in rows], page, more=len(rows) == page.limit
    )


@blueprint.route("/api/v1/domain_blocks", methods=["POST"])
@require_scope("write:blocks")
async def block() -> Response:
    """`POST /api/v1/domain_blocks` (`domain`): answers `{}` as Mastodon."""
    domain = await _domain()
    try:
        await blocks.block(runtime(), auth().account_id or 0, domain)
    except blocks.InvalidDomainBlock as exc:
        raise ApiError(422, str(exc)) from None
    return json_response({})


@blueprint.route("/api/v1/domain_blocks", methods=["DELETE"])
@require_scope("write:blocks")
async def unblock() -> Response:
    """`DELETE /api/v1/domain_blocks` (`domain`)."""
    domain = await _domain()
    try:
        await blocks.unblock(runtime(), auth().account_id or 0, domain)
    except blocks.InvalidDomainBlock as exc:
        raise ApiError(422, str(exc)) from None
    return json_response({})
