"""Pagination as Mastodon answers it: `max_id`/`since_id`/`min_id`/`limit` in, `Link` out,
and the other small request helpers the status and timeline endpoints share."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlencode

from quart import Response, request

from ..services.follows import AccountNotFound, CannotFollow
from ..services.statuses import InvalidStatus, NotAllowed, StatusNotFound
from ..services.tokens import scope_allows
from ..store.paging import Page
from .auth import OUTSIDE_SCOPES, current_auth
from .context import runtime
from .errors import ApiError, not_found
from .params import Params

MAX_ID = (1 << 63) - 1
STATUS_LIMIT = 20
ACCOUNT_LIMIT = 40
_CURSORS = ("max_id", "since_id", "min_id", "offset")


def parse_id(text: str) -> int:
    """An id from a path or parameter; anything that cannot be an id is a 404."""
    if not text.isdigit() or len(text) > 19 or int(text) > MAX_ID:
        raise not_found()
    return int(text)


def _cursor(params: Params, name: str) -> int | None:
    value = params.get(name)
    if value is None or value == "":
        return None
    text = str(value)
    if not text.isdigit() or len(text) > 19:
        raise ApiError(422, f"{name} must be an id")
    return min(int(text), MAX_ID)


def page_from(params: Params, default: int = STATUS_LIMIT) -> Page:
    """The page a request asks for; `limit` defaults to `default` and is capped at twice it
    (Mastodon's `limit_param`)."""
    limit = params.integer("limit", default)
    if limit <= 0:
        limit = default
    return Page(
        limit=min(limit, default * 2),
        max_id=_cursor(params, "max_id"),
        since_id=_cursor(params, "since_id"),
        min_id=_cursor(params, "min_id"),
    )


def _url_with(cursor: str, value: int) -> str:
    kept = [(k, v) for k, v in request.args.items(multi=True) if k not in _CURSORS]
    kept.append((cursor, str(value)))
    return f"{runtime().config.base_url}{request.path}?{urlencode(kept)}"


def set_link_header(
    response: Response, cursors: list[int], page: Page, *, more: bool = True
) -> Response:
    """`Link: <...max_id=OLDEST>; rel="next", <...min_id=NEWEST>; rel="prev"` for a page
    whose items have `cursors` (newest first); no header on an empty page, and no `next`
    when `more` is false."""
    if not cursors:
        return response
    links = []
    if more:
        links.append(f'<{_url_with("max_id", cursors[-1])}>; rel="next"')
    links.append(f'<{_url_with("min_id", cursors[0])}>; rel="prev"')
    response.headers["Link"] = ", ".join(links)
    return response


def offset_page(params: Params, default: int) -> tuple[int, int]:
    """`(limit, offset)` for lists paged by offset (search, trends): limit defaults to
    `default`, at most twice it; negative values are a 400, as Mastodon answers."""
    limit = params.integer("limit", default)
    offset = params.integer("offset", 0)
    if limit < 0 or offset < 0:
        raise ApiError(400, "Pagination values for offset and limit must be positive")
    return min(limit or default, default * 2), offset


def set_offset_links(response: Response, count: int, limit: int, offset: int) -> Response:
    """`Link` for offset paging: `next` when the page was full, `prev` past the start."""
    links = []
    if count == limit:
        links.append(f'<{_url_with("offset", offset + limit)}>; rel="next"')
    if offset > 0 and count:
        links.append(f'<{_url_with("offset", max(0, offset - limit))}>; rel="prev"')
    if links:
        response.headers["Link"] = ", ".join(links)
    return response


async def viewer(*scopes: str) -> int | None:
    """The calling account on an endpoint that also answers anonymous callers; a token
    without any of `scopes` is refused (Mastodon's `authorize_if_got_token!`)."""
    info = await current_auth()
    if info is None:
        return None
    if not any(scope_allows(info.scopes, s) for s in scopes):
        raise ApiError(403, OUTSIDE_SCOPES)
    return info.account_id


@contextmanager
def service_errors() -> Iterator[None]:
    """Turn the services' refusals into Mastodon's error answers."""
    try:
        yield
    except (StatusNotFound, AccountNotFound) as exc:
        raise ApiError(404, str(exc) or "Record not found") from None
    except (NotAllowed, CannotFollow) as exc:
        raise ApiError(403, str(exc) or "This action is not allowed") from None
    except InvalidStatus as exc:
        raise ApiError(422, str(exc)) from None
