"""Search in the Mastodon API: `/api/v2/search` and `/api/v1/accounts/search`."""

from __future__ import annotations

from quart import Blueprint, Response

from ...serializers.accounts import account_entity
from ...serializers.statuses import status_entities
from ...serializers.tags import tag_entity
from ...services import search
from ...services.search import InvalidSearch, SearchRequest
from ..auth import auth, require_scope
from ..context import json_response, runtime
from ..errors import ApiError
from ..paging import ACCOUNT_LIMIT, cursor, offset_page, viewer
from ..params import Params, read_params

blueprint = Blueprint("search", __name__)
FEATURES = frozenset({"search"})
RESULTS_LIMIT = 20
MAX_QUERY = 1000


def _query(params: Params) -> str:
    q = params.text("q", max_length=MAX_QUERY)
    if q is None or not q.strip():
        raise ApiError(400, "Param is missing or the value is empty: q")
    return str(q)


@blueprint.route("/api/v2/search")
async def search_v2() -> Response:
    """`GET /api/v2/search`: accounts, statuses and hashtags (offset paging)."""
    account_id = await viewer("read", "read:search")
    params = await read_params()
    q = _query(params)
    if account_id is None:
        # Mastodon's rules for callers without a user token.
        if params.get("offset") not in (None, ""):
            raise ApiError(401, "Search queries pagination is not supported without authentication")
        if params.flag("resolve", False):
            raise ApiError(
                401,
                "Search queries that resolve remote resources are not supported without "
                "authentication",
            )
    kind = params.text("type", max_length=20) or None
    if kind is not None and kind not in search.TYPES:
        raise ApiError(422, f"type must be one of {', '.join(search.TYPES)}")
    limit, offset = offset_page(params, RESULTS_LIMIT)
    cursors = {name: cursor(params, name) for name in ("min_id", "max_id")}
    request = SearchRequest(
        q=q,
        type=kind,
        resolve=bool(params.flag("resolve", False)),
        following=bool(params.flag("following", False)),
        account_id=cursor(params, "account_id"),
        exclude_unreviewed=bool(params.flag("exclude_unreviewed", False)),
        limit=limit,
        offset=offset,
        min_id=cursors["min_id"],
        max_id=cursors["max_id"],
    )
    rt = runtime()
    try:
        results = await search.search(rt, account_id, request)
    except InvalidSearch as exc:
        raise ApiError(422, str(exc)) from None
    return json_response(
        {
            "accounts": [account_entity(rt.config, row) for row in results.accounts],
            "statuses": status_entities(rt.config, results.statuses),
            "hashtags": [
                tag_entity(rt.config, v.tag, v.history, following=v.following)
                for v in results.hashtags
            ],
        }
    )


@blueprint.route("/api/v1/accounts/search")
@require_scope(("read", "read:accounts"))
async def accounts_search() -> Response:
    """`GET /api/v1/accounts/search` (`q`, `limit` 40 by default, `offset`, `resolve`,
    `following`)."""
    params = await read_params()
    q = _query(params)
    limit, offset = offset_page(params, ACCOUNT_LIMIT)
    rt = runtime()
    rows = await search.search_accounts(
        rt,
        auth().account_id,
        q,
        limit=limit,
        offset=offset,
        resolve=bool(params.flag("resolve", False)),
        following=bool(params.flag("following", False)),
    )
    return json_response([account_entity(rt.config, row) for row in rows])
