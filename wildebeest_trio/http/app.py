"""The QuartTrio application: blueprints, CORS, errors, request ids, trailing slashes."""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any

from quart import Request, Response, request, send_from_directory, websocket
from quart.ctx import RequestContext
from quart.globals import request_ctx
from quart.sessions import NullSession, SessionInterface
from quart_trio import QuartTrio
from werkzeug.exceptions import HTTPException

from .. import logs
from ..config import Config, parse_networks
from ..media.store import MediaStoreError
from ..runtime import Runtime
from ..services import access_blocks
from ..services import media as media_service
from ..services.access_jwt import AccessVerifier
from .activitypub import documents as activitypub
from .activitypub import inbox, wellknown
from .api import (
    accounts,
    announcements,
    annual_reports,
    collections,
    custom_emojis,
    domain_blocks,
    featured_tags,
    filters,
    follows,
    instance,
    lists,
    markers,
    notifications,
    polls,
    push,
    reports,
    scheduled_statuses,
    search,
    statuses,
    streaming,
    suggestions,
    tags,
    timelines,
    translations,
)
from .api import admin as admin_api
from .api import admin_blocks as admin_blocks_api
from .api import admin_dashboard as admin_dashboard_api
from .api import admin_trends as admin_trends_api
from .api import media as media_api
from .asgi_http import HTTPConnection
from .auth import (
    AUTH_LIMITER,
    RateLimiter,
    api_rate_limit,
    limited_federation_gate,
    rate_limit_headers,
)
from .converters import CONVERTERS
from .edge import Edge, is_cors
from .errors import ApiError, error_response
from .jsonio import OrjsonProvider
from .oauth import apps as oauth_apps
from .oauth import authorization as oauth
from .spooled_body import SpooledBody
from .strict_input import StrictRequest
from .web import admin as admin_pages
from .web import auth as account_pages
from .web import health, home, media_files, media_proxy, metrics, reading, site, writing
from .web import settings as settings_pages
from .ws_direct import DirectWebSocket

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
JSON_PREFIXES = ("/api/", "/oauth/", "/.well-known/", "/nodeinfo/", "/inbox", "/users/")
HTTP_MESSAGES = {
    400: "Bad request",
    401: "This method requires an authenticated user",
    403: "This action is not allowed",
    404: "Record not found",
    405: "This method is not allowed",
    413: "Request entity too large",
    415: "Unsupported media type",
    422: "Unprocessable entity",
    429: "Too many requests",
}


def _wants_json(path: str) -> bool:
    return path == "/api" or path.startswith(JSON_PREFIXES)


class WildebeestRequest(StrictRequest):
    """A request whose body may be as large as its route allows: the app's
    MAX_CONTENT_LENGTH, or more for the POST routes of `larger_bodies` (the limit is set
    here because Quart checks it while the body arrives, before any route runs)."""

    #: POST paths whose bodies may pass the app's limit, and theirs (set per app).
    larger_bodies: Mapping[str, int] = {}

    def __init__(self, method: str, scheme: str, path: str, *args: Any, **kwargs: Any) -> None:
        larger = self.larger_bodies.get(path) if method == "POST" else None
        if larger is not None:
            kwargs["max_content_length"] = max(kwargs.get("max_content_length") or 0, larger)
        super().__init__(method, scheme, path, *args, **kwargs)
        if larger is not None:
            # The form parser reads the limit from here, the body from its constructor.
            self.max_content_length = kwargs["max_content_length"]
            if path in SPOOLED_PATHS:
                # Nothing has arrived yet: the body goes to a file from its first byte.
                self.body = SpooledBody(self.content_length, self.max_content_length)

    def make_form_data_parser(self) -> Any:
        parser = super().make_form_data_parser()
        if isinstance(self.body, SpooledBody):
            parser.stream_factory = self.body.stream_factory
        return parser


# POST paths whose bodies go to a temporary file as they arrive (http/spooled_body.py).
SPOOLED_PATHS = media_api.SPOOLED_PATHS | writing.SPOOLED_PATHS


def larger_bodies(config: Config) -> dict[str, int]:
    """POST routes whose bodies may pass the app's limit (a video upload, an import file)."""
    # Room for the largest video or audio plus the other fields of a multipart form.
    media = max(config.media_max_image_bytes, config.media_max_video_bytes) + 1024 * 1024
    return {
        **settings_pages.LARGER_BODIES,
        "/api/v1/media": media,
        "/api/v2/media": media,
        # The web compose form: up to four images, or one video or audio.
        "/compose": max(4 * config.media_max_image_bytes, config.media_max_video_bytes)
        + 1024 * 1024,
    }


class NoSessions(SessionInterface):
    """Quart's sessions are not used (a browser's session is our own cookie): every
    request gets the one empty, read-only session, without a signer looked up."""

    null_session = NullSession()

    async def open_session(self, app: Any, request: Any) -> NullSession:
        return self.null_session

    async def save_session(self, app: Any, session: Any, response: Any) -> None:
        return None


StartRequest = Callable[[Request], Awaitable[Response | None]]


class WildebeestApp(QuartTrio):
    """QuartTrio with orjson for JSON and strictly UTF-8 forms, whose own before- and
    after-request work is called directly rather than through Quart's hook lists (which
    every request walks per blueprint, checking each function for a coroutine)."""

    json_provider_class = OrjsonProvider
    asgi_http_class = HTTPConnection
    request_class: type[WildebeestRequest] = WildebeestRequest
    session_interface = NoSessions()
    #: The work before every request's view (set by `create_app`); a response ends it.
    start_request: StartRequest | None = None
    _async_checked: dict[Any, bool]

    def ensure_async(self, func: Any) -> Any:
        """As Quart's, with the coroutine check remembered per function (Quart checks the
        view and every hook on every request)."""
        checked = self.__dict__.setdefault("_async_checked", {})
        is_async = checked.get(func)
        if is_async is None:
            is_async = inspect.iscoroutinefunction(func)
            if len(checked) < 4096:  # bound methods made per call must not grow it
                checked[func] = is_async
        return func if is_async else self.sync_to_async(func)

    async def preprocess_request(self, request_context: RequestContext | None = None) -> Any:
        if self.start_request is not None:
            result = await self.start_request((request_context or request_ctx).request)
            if result is not None:
                return result
        if not any(self.before_request_funcs.values()) and not any(
            self.url_value_preprocessors.values()
        ):
            return None
        return await super().preprocess_request(request_context)

    async def process_response(
        self, response: Any, request_context: RequestContext | None = None
    ) -> Any:
        context = request_context or request_ctx
        if context._after_request_functions or any(self.after_request_funcs.values()):
            response = await super().process_response(response, request_context)
        # The headers every answer carries are added by `http.edge`, as bytes.
        rate_limit_headers(response)
        return response


def create_app(rt: Runtime) -> QuartTrio:
    """The application for one runtime (store, settings, jobs)."""
    app = WildebeestApp("wildebeest_trio", static_folder=None)
    larger = larger_bodies(rt.config)
    app.request_class = type("Request", (WildebeestRequest,), {"larger_bodies": larger})
    # Room for the largest image plus the other fields of a multipart form.
    app.config["MAX_CONTENT_LENGTH"] = rt.config.media_max_image_bytes + 1024 * 1024
    app.extensions["wildebeest"] = rt
    # Before any blueprint: rules look their converters up when they are added.
    app.url_map.converters.update(CONVERTERS)

    features: set[str] = set()
    modules = (
        health,
        metrics,
        instance,
        wellknown,
        oauth_apps,
        oauth,
        accounts,
        home,
        account_pages,
        media_files,
        media_api,
        media_proxy,
        activitypub,
        streaming,
        statuses,
        timelines,
        follows,
        tags,
        lists,
        markers,
        notifications,
        push,
        reports,
        custom_emojis,
        domain_blocks,
        announcements,
        suggestions,
        featured_tags,
        collections,
        annual_reports,
        site,
        reading,
        writing,
        admin_pages,
        admin_api,
        admin_blocks_api,
        admin_dashboard_api,
        admin_trends_api,
        settings_pages,
        polls,
        filters,
        scheduled_statuses,
        search,
        translations,
        inbox,
    )
    for module in modules:
        app.register_blueprint(module.blueprint)
        features |= getattr(module, "FEATURES", frozenset())
    # What `api_versions.mastodon` may claim: only features whose endpoints are mounted.
    app.extensions["wildebeest.features"] = frozenset(features)
    # Looked up once: a search of PATH per instance document costs every client's first call.
    app.extensions["wildebeest.av"] = media_service.tools(rt) is not None
    app.extensions["wildebeest.limiter"] = RateLimiter()
    # Logins and sign-ups count apart, so a flood of API clients cannot evict their counters.
    app.extensions[AUTH_LIMITER] = RateLimiter()
    # One verifier per process: it caches the identity provider's keys.
    app.extensions["wildebeest.access"] = AccessVerifier.from_config(rt.config, rt.outbound)

    @app.before_websocket
    async def _start_websocket() -> None:
        _note_route(websocket.url_rule)

    async def _start(req: Request) -> Response | None:
        _note_route(req.url_rule)
        path = req.path
        if req.method == "OPTIONS" and is_cors(path):
            return _preflight()
        if await access_blocks.ip_severity(rt, req.remote_addr or "unknown") == "no_access":
            # An IP block of severity no_access refuses everything, as Mastodon's.
            if path.startswith(("/api/", "/oauth/")):
                raise ApiError(403, "Your address is blocked")
            return Response("Your address is blocked", status=403, mimetype="text/plain")
        if path.startswith("/api/"):
            await api_rate_limit()
        if rt.config.limited_federation:
            return await limited_federation_gate()
        return None

    app.start_request = _start

    @app.route("/static/<path:name>")
    async def _static(name: str) -> Response:
        response = await send_from_directory(STATIC_DIR, name)
        response.cache_control.public = True
        response.cache_control.max_age = 7 * 24 * 3600
        return response

    @app.errorhandler(ApiError)
    async def _api_error(exc: ApiError) -> Response:
        response = error_response(exc.status, exc.message, **exc.extra)
        response.headers.update(exc.headers)
        return response

    @app.errorhandler(MediaStoreError)
    async def _media_store_error(exc: MediaStoreError) -> Response:
        # The bucket (or the media folder) failed after its retries: nothing was stored, and
        # the client may try again, as for any 503.
        log.warning("media storage failed: %s %s: %s", request.method, request.path, exc)
        response = error_response(503, "Media storage is unavailable, try again later")
        response.headers["Retry-After"] = "30"
        return response

    @app.errorhandler(HTTPException)
    async def _http_error(exc: HTTPException) -> Any:
        status = exc.code or 500
        if not _wants_json(request.path):
            return exc
        response = error_response(status, HTTP_MESSAGES.get(status, exc.name))
        if status == 405 and exc.get_response().headers.get("Allow"):
            response.headers["Allow"] = exc.get_response().headers["Allow"]
        return response

    @app.errorhandler(Exception)
    async def _unhandled(exc: Exception) -> Response:
        if isinstance(exc, HTTPException):  # pragma: no cover - handled above
            return await _http_error(exc)
        request_id = logs.current_request_id() or logs.new_request_id()
        log.error(
            "request %s failed: %s %s", request_id, request.method, request.path, exc_info=exc
        )
        return error_response(500, "Internal server error", request_id=request_id)

    # The inbox POSTs, which peers send in bulk, are answered before Quart's machinery.
    asgi: Any = inbox.InboxRoute(app.asgi_app, rt)
    # Every request: its id, the client behind the proxies, its unread body, the headers
    # every answer carries, its metrics and the access line, in one layer.
    asgi = Edge(
        asgi,
        trusted=parse_networks(rt.config.trusted_proxies),
        max_bytes=app.config["MAX_CONTENT_LENGTH"],
        larger=larger,
        log_requests=rt.config.access_log,
        hsts=rt.config.scheme == "https",
        process=lambda: rt.web_process,
    )
    # Outside it: it needs Hypercorn's own `send` to find a WebSocket's socket.
    asgi = DirectWebSocket(asgi)
    app.asgi_app = asgi  # type: ignore[method-assign]
    return app


def _note_route(rule: Any) -> None:
    """Tell the metrics which route answers (its template)."""
    context = logs.CURRENT.get()
    if context is not None and rule is not None:  # None: an app driven without `Edge`
        context.route = rule.rule


def _preflight() -> Response:
    # `http.edge` adds the allowed origin and the exposed headers, as to every CORS answer.
    response = Response("", status=204)
    response.headers["Access-Control-Allow-Methods"] = "GET, POST, PUT, PATCH, DELETE, OPTIONS"
    requested = request.headers.get("Access-Control-Request-Headers")
    response.headers["Access-Control-Allow-Headers"] = (
        requested or "Authorization, Content-Type, Idempotency-Key"
    )
    response.headers["Access-Control-Max-Age"] = "7200"
    return response
