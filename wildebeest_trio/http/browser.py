"""Browser plumbing shared by the HTML pages: session cookie, CSRF, rendering, and the
shape of every page handler that needs a signed-in visitor or takes a form.

A form's handler is `@form_post(...)`: the CSRF token is checked first, then the visitor
must pass the page's `Gate` (else they are sent to sign in, or refused), then the client
address's rate limit is counted; only then does the handler act, and it answers with
`post.done(notice)`: a redirect back to the form's page, which shows the notice.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import secrets
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Concatenate, ParamSpec
from urllib.parse import parse_qsl, urlencode, urlsplit

from quart import Blueprint, Response, g, render_template, request
from werkzeug.datastructures import MultiDict

from ..services import instance as instance_service
from ..services import notifications, sessions
from ..services.notifications import Browse
from ..services.types import Row
from .auth import Limit, check_client_limit, client_ip
from .context import runtime
from .errors import ApiError
from .proxy import over_https

SESSION_COOKIE = "wb_session"
CSRF_COOKIE = "wb_csrf"
# Scripts from this site only (one module, which every page works without), fetches and
# the event stream back to it; no inline script or style. Media may come from remote servers.
CSP = (
    "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self'; "
    "img-src 'self' https: data: blob:; media-src 'self' https:; frame-ancestors 'none'; "
    "base-uri 'none'; form-action 'self'"
)
SCRIPT_FILE = Path(__file__).resolve().parent.parent / "static" / "app.js"
# How many unread notifications the navigation counts up to ("99+" beyond), and which
# (the groups of Mastodon 4.3).
UNREAD_LIMIT = 100
UNREAD = Browse(grouped_types=tuple(sorted(notifications.GROUPABLE)))


@functools.cache
def script() -> tuple[bytes, str]:
    """The page script and the hash its address carries (so it may be cached for good)."""
    data = SCRIPT_FILE.read_bytes()
    return data, hashlib.sha256(data).hexdigest()[:16]


def pages_blueprint(name: str, import_name: str) -> Blueprint:
    """A blueprint of HTML pages, without the template context processor every blueprint
    is born with (Flask's, which adds nothing under Quart): Quart-Trio runs a synchronous
    processor on a worker thread, so it cost every page a hop to a thread and back."""
    blueprint = Blueprint(name, import_name)
    blueprint.template_context_processors[None] = []
    return blueprint


def script_path() -> str:
    """The page script's address, which changes whenever its content does."""
    return f"/assets/app-{script()[1]}.js"


async def signed_in() -> Row | None:
    """The account whose browser session made this request, if any."""
    if "web_account" not in g:
        g.web_account = await sessions.session_account(
            runtime(), request.cookies.get(SESSION_COOKIE), client_ip()
        )
    return g.web_account  # type: ignore[no-any-return]


def csrf_token() -> str:
    """This browser's CSRF token (double submit: cookie and form field must match)."""
    if "csrf" not in g:
        g.csrf = request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(24)
    return g.csrf  # type: ignore[no-any-return]


def check_csrf(form: Any) -> None:
    """Refuse a form post whose token does not match the cookie (a cross-site forgery)."""
    cookie = request.cookies.get(CSRF_COOKIE, "")
    field = form.get("csrf_token", "")
    if not cookie or not field or not hmac.compare_digest(cookie, field):
        raise ApiError(403, "Invalid or missing CSRF token; reload the page and try again")


def forced_login(source: Any) -> bool:
    """`force_login=true`: the app asks for the sign-in form even when someone is signed in."""
    return str(source.get("force_login", "")).lower() in ("1", "true", "on", "yes")


def _secure() -> bool:
    """Whether cookies are marked Secure: the site is https, or this request came over TLS."""
    return runtime().config.scheme == "https" or over_https()


def finish(response: Response) -> Response:
    """Attach the CSRF cookie and the security headers every page carries."""
    if "csrf" in g and request.cookies.get(CSRF_COOKIE) != g.csrf:
        response.set_cookie(
            CSRF_COOKIE, g.csrf, httponly=True, samesite="Lax", secure=_secure(), path="/"
        )
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Cache-Control"] = "no-store"
    return response


def here() -> str:
    """This page's path and query, less its notice: where a form on it returns to."""
    args = [(k, v) for k, v in request.args.items(multi=True) if k != "notice"]
    return request.path + (f"?{urlencode(args)}" if args else "")


def back_field(form: Any) -> str:
    """The page a form came from (its `back` field), on this site only, less its notice."""
    target = safe_next(str(form.get("back", "")))
    parts = urlsplit(target)
    args = [(k, v) for k, v in parse_qsl(parts.query) if k != "notice"]
    return parts.path + (f"?{urlencode(args)}" if args else "")


#: What the web app's forms say after they redirect back (`?notice=KEY`).
APP_NOTICES = {
    "posted": "Your post was published.",
    "scheduled": "Your post is scheduled; it will be published at the time you chose.",
    "edited": "Your post was changed.",
    "deleted": "Your post was deleted.",
    "favourited": "Favourited.",
    "boosted": "Boosted.",
    "bookmarked": "Bookmarked.",
    "pinned": "Pinned on your profile.",
    "muted": "This conversation is muted: no more notifications from it.",
    "reported": "Thank you: the moderators will look at your report.",
    "done": "Done.",
    "follow": "Following (or asked to follow).",
    "unfollow": "Unfollowed.",
    "mute": "Muted.",
    "unmute": "Unmuted.",
    "block": "Blocked.",
    "unblock": "Unblocked.",
}


async def page(template: str, status: int = 200, **context: Any) -> Response:
    if "notice" not in context:
        context["flash"] = APP_NOTICES.get(request.args.get("notice", ""))
    if "viewer" not in context:
        context["viewer"] = await signed_in()
    if context["viewer"] is not None and "unread" not in context:
        context["unread"] = await notifications.unread_count(
            runtime(), context["viewer"]["account_id"], UNREAD, UNREAD_LIMIT, grouped=True
        )
    site = await instance_service.site(runtime())
    # A page kept whole is drawn with a mark for the token (kept_views.py); the browser
    # still gets its CSRF cookie.
    token = csrf_token()
    context.setdefault("csrf_token", token)
    html = await render_template(
        template,
        instance_title=site.title,
        back_path=here(),
        script=script_path(),
        **context,
    )
    return page_response(html, status)


def page_response(html: str | bytes, status: int) -> Response:
    """A rendered page as the answer, with what every page carries (`finish`)."""
    return finish(Response(html, status=status, content_type="text/html; charset=utf-8"))


def set_session_cookie(response: Response, token: str) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        httponly=True,
        samesite="Lax",
        secure=_secure(),
        path="/",
        max_age=365 * 24 * 3600,
    )


async def start_browser_session(response: Response, account_id: int) -> Response:
    """Sign this browser in as `account_id`: a new session (ending the one the browser
    had, if any) and its cookie on `response`."""
    token = await sessions.start_session(
        runtime(),
        account_id,
        request.headers.get("User-Agent", ""),
        client_ip(),
        replacing=request.cookies.get(SESSION_COOKIE),
    )
    set_session_cookie(response, token)
    return response


def clear_session_cookie(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/")


def safe_next(target: str | None) -> str:
    """A post-login redirect target on this site only (no open redirect)."""
    if not target:
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return "/"
    if "\\" in target or any(ord(c) < 32 for c in target):
        return "/"
    return target


def redirect(location: str, status: int = 302) -> Response:
    response = Response("", status=status)
    response.headers["Location"] = location
    return finish(response)


# Who may use a page, and the handler of a page's form ------------------------------------------

P = ParamSpec("P")
STAFF_ONLY = "This page is for the server's moderators and admins."


@dataclass(frozen=True)
class Gate:
    """Who may use a page: anyone, or only a signed-in account (with one of `roles`,
    when there are any)."""

    signed_in: bool
    roles: tuple[str, ...] = ()


ANYONE = Gate(signed_in=False)
SIGNED_IN = Gate(signed_in=True)


def staff(roles: tuple[str, ...]) -> Gate:
    """Signed in as a moderator or admin with one of `roles`."""
    return Gate(signed_in=True, roles=roles)


def to_sign_in(back: str) -> Response:
    """The sign-in page, which returns to `back` (for a visitor a page needs signed in)."""
    return redirect("/auth/sign_in?" + urlencode({"next": back}))


def signed_in_as(viewer: Row) -> None:
    """This request's visitor, where a page read the session itself (with its own reads)."""
    g.web_account = viewer


async def _admit(gate: Gate, back: str) -> tuple[Row | None, Response | None]:
    """The visitor `gate` lets in (None for `ANYONE`), or the answer turning them away:
    the sign-in page (which returns to `back`), or a 403 page for the wrong role."""
    if not gate.signed_in:
        return None, None
    viewer = await signed_in()
    if viewer is None:
        return None, to_sign_in(back)
    if gate.roles and viewer["role"] not in gate.roles:
        return None, await page("message.html", 403, heading="Forbidden", message=STAFF_ONLY)
    return viewer, None


def viewer_page(
    gate: Gate = SIGNED_IN,
) -> Callable[
    [Callable[Concatenate[Row, P], Awaitable[Response]]], Callable[P, Awaitable[Response]]
]:
    """A page only the signed-in visitors `gate` admits see; the handler gets the viewer
    first. Anyone else is sent to sign in (and back here), or refused."""
    assert gate.signed_in, "a page open to anyone has no viewer to hand over"

    def decorate(
        handler: Callable[Concatenate[Row, P], Awaitable[Response]],
    ) -> Callable[P, Awaitable[Response]]:
        @functools.wraps(handler)
        async def run(*args: P.args, **kwargs: P.kwargs) -> Response:
            viewer, refused = await _admit(gate, request.path)
            if refused is not None:
                return refused
            assert viewer is not None
            return await handler(viewer, *args, **kwargs)

        return run

    return decorate


@dataclass(frozen=True)
class FormPost:
    """A form as its handler gets it: the fields, who sent it, and the page it is on."""

    form: MultiDict[str, str]
    #: The signed-in visitor; None where the gate is `ANYONE` (sign-in, sign-up...).
    viewer: Row | None
    #: The form's page: where signing in returns to, and where `done` redirects.
    back: str

    @property
    def account(self) -> Row:
        """The signed-in visitor, for forms whose gate demands one."""
        assert self.viewer is not None, "a form open to anyone has no signed-in account"
        return self.viewer

    def done(self, notice: str, *, to: str | None = None) -> Response:
        """Back to the form's page (or to `to`), which shows the `notice` (303: the browser
        GETs it)."""
        target = to or self.back
        separator = "&" if "?" in target else "?"
        return redirect(f"{target}{separator}{urlencode({'notice': notice})}", 303)

    async def failed(self, message: str, status: int = 422) -> Response:
        """A page saying what went wrong, with a link back to the form's page."""
        return await page(
            "message.html", status, heading="That did not work", message=message, back=self.back
        )


Back = str | Callable[[MultiDict[str, str]], str]


def form_post(
    gate: Gate = ANYONE, *, back: Back | None = None, limit: tuple[str, Limit] | None = None
) -> Callable[
    [Callable[Concatenate[FormPost, P], Awaitable[Response]]], Callable[P, Awaitable[Response]]
]:
    """The handler of a page's form: CSRF token, then `gate`, then `limit` (an action name
    and its limit per client address), then the handler, given a `FormPost`.

    `back` is the form's page: a path, formatted with the route's values (`"/@{handle}"`),
    or a function of the form's fields; by default the path posted to.
    """

    def decorate(
        handler: Callable[Concatenate[FormPost, P], Awaitable[Response]],
    ) -> Callable[P, Awaitable[Response]]:
        @functools.wraps(handler)
        async def run(*args: P.args, **kwargs: P.kwargs) -> Response:
            form = await request.form
            check_csrf(form)
            if back is None:
                where = request.path
            elif isinstance(back, str):
                where = back.format(**kwargs)
            else:
                where = back(form)
            viewer, refused = await _admit(gate, where)
            if refused is not None:
                return refused
            if limit is not None:
                check_client_limit(*limit)
            return await handler(FormPost(form, viewer, where), *args, **kwargs)

        return run

    return decorate


@dataclass(frozen=True)
class Notices:
    """The short messages a page shows after its form redirected back (`?notice=KEY`)."""

    messages: Mapping[str, str]

    async def page(self, template: str, status: int = 200, **context: Any) -> Response:
        """`page`, with the notice the query names (None when it names none)."""
        notice = self.messages.get(request.args.get("notice", ""))
        return await page(template, status, notice=notice, **context)
