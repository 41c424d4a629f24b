"""`/api/v2/suggestions` (and v1): accounts to follow, and dismissing them."""

from __future__ import annotations

from quart import Blueprint, Response

from ...serializers.accounts import account_entity
from ...services import suggestions
from ...services.custom_emoji import with_emojis
from ..auth import auth, require_scope
from ..context import json_response, runtime
from ..paging import service_errors
from ..params import read_params

blueprint = Blueprint("suggestions", __name__)
FEATURES = frozenset({"suggestions"})
DEFAULT_LIMIT = 40
MAX_LIMIT = 80


async def _found() -> list[suggestions.Suggestion]:
    params = await read_params()
    limit = params.integer("limit", DEFAULT_LIMIT, maximum=MAX_LIMIT, clamp=True)
    limit = DEFAULT_LIMIT if limit <= 0 else limit
    rt = runtime()
    found = await suggestions.suggestions(rt, auth().account_id or 0, limit)
    await with_emojis(rt, [s.account for s in found])
    return found


@blueprint.route("/api/v2/suggestions")
@require_scope("read:accounts")
async def v2() -> Response:
    """`GET /api/v2/suggestions`: `{source, sources, account}` each."""
    config = runtime().config
    return json_response(
        [
            {
                "source": s.source,
                "sources": list(s.sources),
                "account": account_entity(config, s.account),
            }
            for s in await _found()
        ]
    )


@blueprint.route("/api/v1/suggestions")
@require_scope("read:accounts")
async def v1() -> Response:
    """`GET /api/v1/suggestions`: the accounts alone."""
    config = runtime().config
    return json_response([account_entity(config, s.account) for s in await _found()])


@blueprint.route("/api/v1/suggestions/<id:account_id>", methods=["DELETE"])
@require_scope("write:accounts")
async def dismiss(account_id: int) -> Response:
    """`DELETE /api/v1/suggestions/:account_id`: never suggest this account again."""
    with service_errors():
        await suggestions.dismiss(runtime(), auth().account_id or 0, account_id)
    return json_response({})
