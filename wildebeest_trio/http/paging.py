"""Pagination as Mastodon answers it: `max_id`/`since_id`/`min_id`/`limit` in, `Link` out,
and the other small request helpers the status and timeline endpoints share."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlencode

from quart import Response, request

from .. import ids
from ..ids import MAX_ID
from ..services.follows import AccountNotFound, CannotFollow, FollowLimitReached
from ..services.refusals import InvalidStatus, NotAllowed, StatusNotFound
from ..services.tokens import scope_allows
from ..services.types import Page
from .auth import OUTSIDE_SCOPES, current_auth
from .context import runtime
from .errors import ApiError, not_found
from .params import Params

STATUS_LIMIT = 20
ACCOUNT_LIMIT = 40
# Offset paging (search, directory, trends) stops here; further is an empty page.
MAX_OFFSET = (1 << 31) - 1
_CURSORS = ("max_id", "since_id", "min_id", "offset")
# Left out of the links as well: a token in a URL ends up in logs and proxies' caches, and
# Mastodon's links carry the page's own parameters only.
_NOT_IN_LINKS = frozenset((*_CURSORS, "access_token"))


def id_or_404(value: object) -> int:
    """An id from a path or parameter (`ids.parse_id`); anything else is a 404."""
    found = ids.parse_id(value)
    if found is None:
        raise not_found()
    return found


def cursor(params: Params, name: str) -> int | None:
    """`max_id` and friends (or another id to search by): ASCII digits, or a 422."""
    value = params.get(name)
    if value is None or value == "":
        return None
    text = str(value)
    if not (text.isascii() and text.isdigit()):
        raise ApiError(422, f"{name} must be an id")
    # A number past the largest id pages from the newest record on.
    return MAX_ID if len(text) > 19 else min(int(text), MAX_ID)


def _limit(params: Params, default: int) -> int:
    """`limit`: `default` when absent or not positive, at most twice it (Mastodon's
    `limit_param`)."""
    limit: int = params.integer("limit", default, maximum=default * 2, clamp=True)
    return limit if limit > 0 else default


def page_from(params: Params, default: int = STATUS_LIMIT) -> Page:
    """The page a request asks for; `limit` defaults to `default` and is capped at twice it
    (Mastodon's `limit_param`)."""
    return Page(
        limit=_limit(params, default),
        max_id=cursor(params, "max_id"),
        since_id=cursor(params, "since_id"),
        min_id=cursor(params, "min_id"),
    )


def _url_prefix() -> str:
    """This request's URL without its cursors (nor a token), ready for one more parameter."""
    kept = urlencode([(k, v) for k, v in request.args.items(multi=True) if k not in _NOT_IN_LINKS])
    return f"{runtime().config.base_url}{request.path}?{kept}{'&' if kept else ''}"


def _url_with(cursor: str, value: int, prefix: str | None = None) -> str:
    # A cursor's name and digits need no escaping: as urlencode would write them.
    return f"{_url_prefix() if prefix is None else prefix}{cursor}={value}"


def set_link_header(
    response: Response, cursors: list[int], page: Page, *, more: bool = True
) -> Response:
    """`Link: <...max_id=OLDEST>; rel="next", <...min_id=NEWEST>; rel="prev"` for a page
    whose items have `cursors` (newest first); no header on an empty page, and no `next`
    when `more` is false."""
    if not cursors:
        return response
    prefix = _url_prefix()
    prev = f'<{_url_with("min_id", cursors[0], prefix)}>; rel="prev"'
    if more:
        next_ = f'<{_url_with("max_id", cursors[-1], prefix)}>; rel="next"'
        response.headers["Link"] = f"{next_}, {prev}"
    else:
        response.headers["Link"] = prev
    return response


def offset_page(params: Params, default: int) -> tuple[int, int]:
    """`(limit, offset)` for lists paged by offset (search, trends): limit defaults to
    `default`, at most twice it; negative values are a 400, as Mastodon answers."""
    limit = params.integer("limit", default, maximum=default * 2, clamp=True)
    # Past the last result is an empty page, however far.
    offset = params.integer("offset", 0, maximum=MAX_OFFSET, clamp=True)
    if limit < 0 or offset < 0:
        raise ApiError(400, "Pagination values for offset and limit must be positive")
    return limit or default, offset


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
    except FollowLimitReached as exc:
        raise ApiError(422, f"Validation failed: {exc}") from None
    except (NotAllowed, CannotFollow) as exc:
        raise ApiError(403, str(exc) or "This action is not allowed") from None
    except InvalidStatus as exc:
        raise ApiError(422, str(exc)) from None
