"""Filters in the Mastodon API: v2 filters with their keywords and statuses, and the v1
filters (one per keyword) that older clients still read."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qsl

from quart import Blueprint, Response, request

from ...serializers.filters import (
    filter_entity,
    filter_status_entity,
    keyword_entity,
    v1_filter_entity,
)
from ...services import filters
from ...services.filters import FilterDraft, FilterNotFound, InvalidFilter, KeywordDraft
from ..auth import auth, require_scope
from ..context import json_response, runtime
from ..errors import ApiError, not_found
from ..paging import id_or_404
from ..params import Params, parse_flag, read_params
from ..strict_input import form_pairs

blueprint = Blueprint("filters", __name__)
FEATURES = frozenset({"filters"})
READ = "read:filters"
WRITE = "write:filters"
MAX_ATTRIBUTES = 200
_ATTRIBUTE_KEY = re.compile(r"^keywords_attributes\[([0-9]*)\]\[(\w+)\]$")


@contextmanager
def _errors() -> Iterator[None]:
    try:
        yield
    except FilterNotFound:
        raise not_found() from None
    except InvalidFilter as exc:
        raise ApiError(422, str(exc)) from None


def _me() -> int:
    return auth().account_id or 0


def _bool(value: Any, name: str) -> bool | None:
    return None if value is None else parse_flag(value, name)


def _text(value: Any, name: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        raise ApiError(422, f"{name} must be a string")
    return str(value)


def _id(value: Any) -> int | None:
    if value is None or value == "":
        return None
    return id_or_404(value)


def _expires_in(params: Params) -> tuple[int | None, bool]:
    """`expires_in` in seconds: (value, given); an empty value means never."""
    if "expires_in" not in params:
        return None, False
    value = params.get("expires_in")
    if value is None or value == "":
        return None, True
    return params.integer("expires_in"), True


def _context(params: Params) -> list[str] | None:
    if "context" not in params:
        return None
    return [str(c) for c in params.get_list("context")[:20]]


async def _attribute_items() -> list[dict[str, Any]]:
    """`keywords_attributes` as a list of objects: a JSON array (or an object keyed by
    index), or Rails-style form fields, `[][keyword]` (a repeated field starts the next
    entry) or `[0][keyword]`."""
    if request.mimetype == "application/json" or request.mimetype.endswith("+json"):
        body = await request.get_json(silent=True)
        raw = body.get("keywords_attributes") if isinstance(body, dict) else None
        if raw is None:
            return []
        if isinstance(raw, dict):
            raw = list(raw.values())
        if not isinstance(raw, list) or not all(isinstance(i, dict) for i in raw):
            raise ApiError(422, "keywords_attributes must be a list of objects")
        return raw[: MAX_ATTRIBUTES + 1]
    pairs = parse_qsl(request.query_string.decode("latin-1"), keep_blank_values=True)
    if request.mimetype == "application/x-www-form-urlencoded":
        pairs += form_pairs(await request.get_data())
    elif request.mimetype == "multipart/form-data":
        pairs += list((await request.form).items(multi=True))
    indexed: dict[str, dict[str, Any]] = {}
    sequential: list[dict[str, Any]] = []
    for key, value in pairs:
        m = _ATTRIBUTE_KEY.match(key)
        if m is None:
            continue
        index, name = m.groups()
        if index:
            indexed.setdefault(index, {})[name] = value
        else:
            if not sequential or name in sequential[-1]:
                sequential.append({})
            sequential[-1][name] = value
    items = [indexed[k] for k in sorted(indexed, key=int)] + sequential
    return items[: MAX_ATTRIBUTES + 1]


async def _keyword_drafts() -> list[KeywordDraft]:
    return [
        KeywordDraft(
            keyword=_text(item.get("keyword"), "keyword"),
            whole_word=_bool(item.get("whole_word"), "whole_word"),
            id=_id(item.get("id")),
            destroy=bool(_bool(item.get("_destroy"), "_destroy")),
        )
        for item in await _attribute_items()
    ]


async def _filter_draft(params: Params) -> FilterDraft:
    expires_in, given = _expires_in(params)
    return FilterDraft(
        title=params.text("title", max_length=1000),
        context=_context(params),
        action=params.text("filter_action", max_length=20),
        expires_in=expires_in,
        expires_in_given=given,
        keywords=await _keyword_drafts(),
    )


def _view_entity(view: filters.FilterView) -> dict[str, Any]:
    return filter_entity(view.row, view.keywords, view.statuses)


# v2 filters --------------------------------------------------------------------------------------


@blueprint.route("/api/v2/filters")
@require_scope(READ)
async def index() -> Response:
    """`GET /api/v2/filters`."""
    views = await filters.list_filters(runtime(), _me())
    return json_response([_view_entity(v) for v in views])


@blueprint.route("/api/v2/filters", methods=["POST"])
@require_scope(WRITE)
async def create() -> Response:
    """`POST /api/v2/filters`."""
    params = await read_params()
    with _errors():
        view = await filters.create(runtime(), _me(), await _filter_draft(params))
    return json_response(_view_entity(view))


@blueprint.route("/api/v2/filters/<id:filter_id>")
@require_scope(READ)
async def show(filter_id: int) -> Response:
    """`GET /api/v2/filters/:id`."""
    with _errors():
        view = await filters.show(runtime(), _me(), filter_id)
    return json_response(_view_entity(view))


@blueprint.route("/api/v2/filters/<id:filter_id>", methods=["PUT"])
@require_scope(WRITE)
async def update(filter_id: int) -> Response:
    """`PUT /api/v2/filters/:id`."""
    params = await read_params()
    with _errors():
        view = await filters.update(runtime(), _me(), filter_id, await _filter_draft(params))
    return json_response(_view_entity(view))


@blueprint.route("/api/v2/filters/<id:filter_id>", methods=["DELETE"])
@require_scope(WRITE)
async def delete(filter_id: int) -> Response:
    """`DELETE /api/v2/filters/:id`."""
    with _errors():
        await filters.delete(runtime(), _me(), filter_id)
    return json_response({})


# Keywords ----------------------------------------------------------------------------------------
# One keyword or filtered status lives at Mastodon's `/api/v2/filters/keywords/:id` and
# `/api/v2/filters/statuses/:id`; the `/api/v2/filter_keywords/:id` and
# `/api/v2/filter_statuses/:id` paths served before stay as aliases.


@blueprint.route("/api/v2/filters/<id:filter_id>/keywords")
@require_scope(READ)
async def keywords(filter_id: int) -> Response:
    """`GET /api/v2/filters/:id/keywords`."""
    with _errors():
        rows = await filters.keywords(runtime(), _me(), filter_id)
    return json_response([keyword_entity(r) for r in rows])


@blueprint.route("/api/v2/filters/<id:filter_id>/keywords", methods=["POST"])
@require_scope(WRITE)
async def add_keyword(filter_id: int) -> Response:
    """`POST /api/v2/filters/:id/keywords` (`keyword`, `whole_word`)."""
    params = await read_params()
    with _errors():
        row = await filters.add_keyword(
            runtime(),
            _me(),
            filter_id,
            params.text("keyword", max_length=1000),
            params.flag("whole_word"),
        )
    return json_response(keyword_entity(row))


@blueprint.route("/api/v2/filters/keywords/<id:keyword_id>")
@blueprint.route("/api/v2/filter_keywords/<id:keyword_id>")
@require_scope(READ)
async def show_keyword(keyword_id: int) -> Response:
    """`GET /api/v2/filters/keywords/:id`."""
    with _errors():
        row = await filters.show_keyword(runtime(), _me(), keyword_id)
    return json_response(keyword_entity(row))


@blueprint.route("/api/v2/filters/keywords/<id:keyword_id>", methods=["PUT"])
@blueprint.route("/api/v2/filter_keywords/<id:keyword_id>", methods=["PUT"])
@require_scope(WRITE)
async def update_keyword(keyword_id: int) -> Response:
    """`PUT /api/v2/filters/keywords/:id`."""
    params = await read_params()
    with _errors():
        row = await filters.update_keyword(
            runtime(),
            _me(),
            keyword_id,
            params.text("keyword", max_length=1000),
            params.flag("whole_word"),
        )
    return json_response(keyword_entity(row))


@blueprint.route("/api/v2/filters/keywords/<id:keyword_id>", methods=["DELETE"])
@blueprint.route("/api/v2/filter_keywords/<id:keyword_id>", methods=["DELETE"])
@require_scope(WRITE)
async def delete_keyword(keyword_id: int) -> Response:
    """`DELETE /api/v2/filters/keywords/:id`."""
    with _errors():
        await filters.delete_keyword(runtime(), _me(), keyword_id)
    return json_response({})


# Filtered statuses -------------------------------------------------------------------------------


@blueprint.route("/api/v2/filters/<id:filter_id>/statuses")
@require_scope(READ)
async def statuses(filter_id: int) -> Response:
    """`GET /api/v2/filters/:id/statuses`."""
    with _errors():
        rows = await filters.statuses(runtime(), _me(), filter_id)
    return json_response([filter_status_entity(r) for r in rows])


@blueprint.route("/api/v2/filters/<id:filter_id>/statuses", methods=["POST"])
@require_scope(WRITE)
async def add_status(filter_id: int) -> Response:
    """`POST /api/v2/filters/:id/statuses` (`status_id`)."""
    params = await read_params()
    status_id = params.text("status_id", max_length=40)
    if not status_id:
        raise ApiError(422, "Validation failed: Status can't be blank")
    with _errors():
        row = await filters.add_status(runtime(), _me(), filter_id, id_or_404(str(status_id)))
    return json_response(filter_status_entity(row))


@blueprint.route("/api/v2/filters/statuses/<id:filter_status_id>")
@blueprint.route("/api/v2/filter_statuses/<id:filter_status_id>")
@require_scope(READ)
async def show_status(filter_status_id: int) -> Response:
    """`GET /api/v2/filters/statuses/:id`."""
    with _errors():
        row = await filters.show_status(runtime(), _me(), filter_status_id)
    return json_response(filter_status_entity(row))


@blueprint.route("/api/v2/filters/statuses/<id:filter_status_id>", methods=["DELETE"])
@blueprint.route("/api/v2/filter_statuses/<id:filter_status_id>", methods=["DELETE"])
@require_scope(WRITE)
async def delete_status(filter_status_id: int) -> Response:
    """`DELETE /api/v2/filters/statuses/:id`."""
    with _errors():
        await filters.delete_status(runtime(), _me(), filter_status_id)
    return json_response({})


# v1 filters: one per keyword ---------------------------------------------------------------------


@blueprint.route("/api/v1/filters")
@require_scope(READ)
async def v1_index() -> Response:
    """`GET /api/v1/filters`."""
    rows = await filters.v1_list(runtime(), _me())
    return json_response([v1_filter_entity(r) for r in rows])


@blueprint.route("/api/v1/filters", methods=["POST"])
@require_scope(WRITE)
async def v1_create() -> Response:
    """`POST /api/v1/filters` (`phrase`, `context[]`, `irreversible`, `whole_word`,
    `expires_in`)."""
    params = await read_params()
    expires_in, _ = _expires_in(params)
    with _errors():
        row = await filters.v1_create(
            runtime(),
            _me(),
            phrase=params.text("phrase", max_length=1000),
            context=_context(params) or [],
            irreversible=bool(params.flag("irreversible", False)),
            whole_word=bool(params.flag("whole_word", True)),
            expires_in=expires_in,
        )
    return json_response(v1_filter_entity(row))


@blueprint.route("/api/v1/filters/<id:keyword_id>")
@require_scope(READ)
async def v1_show(keyword_id: int) -> Response:
    """`GET /api/v1/filters/:id`."""
    with _errors():
        row = await filters.show_keyword(runtime(), _me(), keyword_id)
    return json_response(v1_filter_entity(row))


@blueprint.route("/api/v1/filters/<id:keyword_id>", methods=["PUT"])
@require_scope(WRITE)
async def v1_update(keyword_id: int) -> Response:
    """`PUT /api/v1/filters/:id`."""
    params = await read_params()
    expires_in, given = _expires_in(params)
    with _errors():
        row = await filters.v1_update(
            runtime(),
            _me(),
            keyword_id,
            phrase=params.text("phrase", max_length=1000),
            context=_context(params),
            irreversible=params.flag("irreversible"),
            whole_word=params.flag("whole_word"),
            expires_in=expires_in,
            expires_in_given=given,
        )
    return json_response(v1_filter_entity(row))


@blueprint.route("/api/v1/filters/<id:keyword_id>", methods=["DELETE"])
@require_scope(WRITE)
async def v1_delete(keyword_id: int) -> Response:
    """`DELETE /api/v1/filters/:id`."""
    with _errors():
        await filters.v1_delete(runtime(), _me(), keyword_id)
    return json_response({})
