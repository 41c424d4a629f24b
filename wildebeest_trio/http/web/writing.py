"""The web app's writing: compose (text, warning, visibility, language, media with alt
text, poll, reply), edit and delete one's posts, and the action forms on every post and
profile (boost, favourite, bookmark, pin, mute the conversation, report; follow, mute,
block).

Each is a POST form with the CSRF token that returns to the page it came from (its `back`
field); each calls the same service function as the API's endpoint does.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from quart import Response, request

from ...ids import parse_id
from ...serializers.accounts import acct
from ...serializers.statuses import status_entity
from ...services import follows as follow_service
from ...services import interactions, media, profiles, reports, scheduled, search, statuses
from ...services.follows import AccountNotFound
from ...services.polls import PollDraft
from ...services.refusals import InvalidStatus, NotAllowed, StatusNotFound
from ...services.statuses import Draft
from ...services.types import Row, StatusBundle
from ..browser import SIGNED_IN, FormPost, back_field, form_post, page, pages_blueprint, viewer_page
from ..context import json_response, runtime
from ..spooled_body import close_spooled, file_path
from .site import local_path, not_found_page, shown

# The compose form's files arrive in a temporary file, never whole in memory (as the API's
# uploads: http/spooled_body.py).
SPOOLED_PATHS = frozenset({"/compose"})

blueprint = pages_blueprint("writing", __name__)

VISIBILITIES = (
    ("public", "Public: anyone, on public timelines"),
    ("unlisted", "Quiet public: anyone, off public timelines"),
    ("private", "Followers only"),
    ("direct", "Mentioned people only"),
)
LANGUAGES = (
    ("en", "English"),
    ("de", "Deutsch"),
    ("es", "Español"),
    ("fr", "Français"),
    ("it", "Italiano"),
    ("ja", "日本語"),
    ("nl", "Nederlands"),
    ("pl", "Polski"),
    ("pt", "Português"),
    ("sv", "Svenska"),
    ("uk", "Українська"),
    ("zh", "中文"),
)
POLL_DURATIONS = (
    (300, "5 minutes"),
    (1800, "30 minutes"),
    (3600, "1 hour"),
    (21600, "6 hours"),
    (86400, "1 day"),
    (259200, "3 days"),
    (604800, "7 days"),
)
POLL_OPTIONS = 4
MAX_CHARACTERS = statuses.MAX_CHARACTERS
MAX_IMAGES = statuses.MAX_MEDIA
REPORT_CATEGORIES = ("spam", "legal", "violation", "other")
SUGGESTIONS = 5
MAX_SUGGESTION_QUERY = 100


async def _reply_target(viewer_id: int, status_id: int | None) -> Any:
    """A post the viewer may see (the one answered, or reported), as a card; None when
    there is none or it is not visible."""
    if status_id is None:
        return None
    try:
        bundle = await statuses.show(runtime(), status_id, viewer_id)
    except StatusNotFound:
        return None
    return shown(bundle)[0]


async def compose_context(
    viewer: Row,
    *,
    reply_to: int | None = None,
    quote: int | None = None,
    values: dict[str, Any] | None = None,
    editing: dict[str, Any] | None = None,
    error: str | None = None,
) -> dict[str, Any]:
    """What the compose form shows: the choices, what was typed, and the post answered."""
    target = await _reply_target(viewer["account_id"], reply_to)
    typed: dict[str, Any] = {"status": "", "spoiler_text": "", "visibility": "", "language": ""}
    if target is not None:
        author = target.status["account"]["acct"]
        mentions = [author] if author != viewer["username"] else []
        typed["status"] = "".join(f"@{m} " for m in mentions)
        typed["visibility"] = target.status["visibility"]
    typed.update(values or {})
    return {
        "values": typed,
        "reply_to": target,
        "quoting": await _reply_target(viewer["account_id"], quote),
        "editing": editing,
        "error": error,
        "visibilities": VISIBILITIES,
        "languages": LANGUAGES,
        "poll_durations": POLL_DURATIONS,
        "poll_options": POLL_OPTIONS,
        "max_characters": MAX_CHARACTERS,
        "max_images": MAX_IMAGES,
    }


def _form_values(form: Any) -> dict[str, Any]:
    """What the person typed, to show again when the post was refused."""
    return {
        "status": form.get("status", ""),
        "spoiler_text": form.get("spoiler_text", ""),
        "visibility": form.get("visibility", ""),
        "language": form.get("language", ""),
        "poll_options": form.getlist("poll_options"),
        "scheduled_at": form.get("scheduled_at", ""),
    }


def _poll(form: Any) -> PollDraft | None:
    """The form's poll; None when no option was filled in."""
    options = [o.strip() for o in form.getlist("poll_options")[:POLL_OPTIONS] if o.strip()]
    if not options:
        return None
    try:
        expires_in = int(form.get("poll_expires_in", "86400"))
    except ValueError:
        expires_in = 86400
    return PollDraft(
        options=options,
        expires_in=expires_in,
        multiple=form.get("poll_multiple") == "on",
        hide_totals=False,
    )


def _draft(form: Any, media_ids: list[str], *, editing: bool = False) -> Draft:
    reply = parse_id(form.get("in_reply_to_id", "")) if not editing else None
    quoted = parse_id(form.get("quoted_status_id", "")) if not editing else None
    language = form.get("language", "")[:20]
    return Draft(
        text=form.get("status", "")[:100_000],
        spoiler_text=form.get("spoiler_text", "")[:10_000],
        sensitive=True if form.get("sensitive") == "on" else None,
        visibility=None if editing else (form.get("visibility") or None),
        language=language or (None if not editing else ""),
        in_reply_to_id=reply,
        media_ids=media_ids,
        poll=_poll(form),
        scheduled_at=None if editing else (form.get("scheduled_at", "")[:100] or None),
        quoted_status_id=quoted,
    )


async def _uploads(viewer_id: int) -> list[str]:
    """Store the form's files (up to four images, or one video or audio), each with the
    alt text typed beside it; their attachment ids."""
    files = (await request.files).getlist("media")
    form = await request.form
    chosen = [f for f in files if f.filename][: MAX_IMAGES + 1]
    if len(chosen) > MAX_IMAGES:
        raise InvalidStatus(f"Validation failed: Cannot attach more than {MAX_IMAGES} files")
    ids = []
    for index, file in enumerate(chosen):
        description = form.get(f"alt_{index}", "").strip() or None
        focus = form.get(f"focus_{index}", "")[:100].replace(" ", "") or None
        try:
            with file_path(file.stream) as path:
                row = await media.upload(
                    runtime(),
                    viewer_id,
                    path,
                    synchronous=True,
                    description=description,
                    focus=focus,
                )
        except media.MediaError as exc:
            raise InvalidStatus(str(exc)) from None
        if len(chosen) > 1 and row["type"] not in ("image", "gifv"):
            raise InvalidStatus(
                "Validation failed: A post carries up to four images, or one video or audio"
            )
        ids.append(str(row["id"]))
    return ids


def _status_path(bundle: StatusBundle) -> str:
    return local_path(status_entity(runtime().config, bundle, bundle.order[0]))


@blueprint.route("/compose/suggestions")
@viewer_page(SIGNED_IN)
async def compose_suggestions(viewer: Row) -> Response:
    """What the compose box's script offers for a word being typed: accounts for `@name`,
    hashtags for `#tag` (the same search as `/api/v2/search`, nothing resolved remotely)."""
    q = request.args.get("q", "").strip()[:MAX_SUGGESTION_QUERY]
    if len(q) < 2 or q[0] not in "@#":
        return json_response([])
    rt = runtime()
    kind = "accounts" if q[0] == "@" else "hashtags"
    try:
        found = await search.search(
            rt, viewer["account_id"], search.SearchRequest(q=q, type=kind, limit=SUGGESTIONS)
        )
    except search.InvalidSearch:
        return json_response([])
    if kind == "accounts":
        return json_response(
            [
                {
                    "value": "@" + acct(rt.config, a),
                    "label": a["display_name"] or a["username"],
                }
                for a in found.accounts
            ]
        )
    return json_response(
        [{"value": "#" + t.tag["name"], "label": "#" + t.tag["name"]} for t in found.hashtags]
    )


@blueprint.route("/compose")
@viewer_page(SIGNED_IN)
async def compose_page(viewer: Row) -> Response:
    """The compose form alone (the reply and quote buttons lead here)."""
    reply_to = parse_id(request.args.get("in_reply_to_id", ""))
    quote = parse_id(request.args.get("quote_id", ""))
    context = await compose_context(viewer, reply_to=reply_to, quote=quote)
    return await page("compose.html", compose=context)


def _back_or(default: str) -> Callable[[Any], str]:
    def where(form: Any) -> str:
        return back_field(form) if form.get("back") else default

    return where


@blueprint.route("/compose", methods=["POST"])
@form_post(SIGNED_IN, back=_back_or("/home"))
async def compose_post(post: FormPost) -> Response:
    """Post (or schedule): the files first (each with its alt text), then the status;
    refused, the form comes back with what was typed and why."""
    viewer = post.account
    try:
        media_ids = await _uploads(viewer["account_id"])
        done = await scheduled.post_or_schedule(
            runtime(), viewer["account_id"], _draft(post.form, media_ids), application_id=None
        )
    except (InvalidStatus, StatusNotFound, NotAllowed) as exc:
        context = await compose_context(
            viewer,
            reply_to=parse_id(post.form.get("in_reply_to_id", "")),
            quote=parse_id(post.form.get("quoted_status_id", "")),
            values=_form_values(post.form),
            error=str(exc) or "This post cannot be published.",
        )
        return await page("compose.html", 422, compose=context)
    finally:
        # The body's file and the files' copies are removed now, however this ended.
        close_spooled(request.body)
    if isinstance(done, scheduled.ScheduledView):
        return post.done("scheduled")
    if post.form.get("in_reply_to_id"):
        return post.done("posted", to=_status_path(done))
    return post.done("posted")


async def _own_source(viewer: Row, segment: str) -> Row | None:
    status_id = parse_id(segment)
    if status_id is None:
        return None
    try:
        return await statuses.source(runtime(), status_id, viewer["account_id"])
    except (StatusNotFound, NotAllowed):
        return None


@blueprint.route("/statuses/<segment>/edit")
@viewer_page(SIGNED_IN)
async def edit_page(viewer: Row, segment: str) -> Response:
    """One's own post in the compose form, to change its text, warning or language."""
    row = await _own_source(viewer, segment)
    if row is None:
        return await not_found_page("This post does not exist or is not yours.")
    values = {
        "status": row["text"],
        "spoiler_text": row["spoiler_text"],
        "language": row["language"] or "",
        "visibility": row["visibility"],
    }
    context = await compose_context(viewer, values=values, editing={"id": str(row["id"])})
    return await page("compose.html", compose=context)


@blueprint.route("/statuses/<segment>/edit", methods=["POST"])
@form_post(SIGNED_IN, back="/statuses/{segment}/edit")
async def edit_post(post: FormPost, segment: str) -> Response:
    viewer = post.account
    status_id = parse_id(segment)
    if status_id is None:
        return await not_found_page()
    try:
        bundle = await statuses.edit(
            runtime(), viewer["account_id"], status_id, _draft(post.form, [], editing=True)
        )
    except StatusNotFound:
        return await not_found_page("This post does not exist.")
    except NotAllowed:
        return await post.failed("You can only edit your own posts.", 403)
    except InvalidStatus as exc:
        context = await compose_context(
            viewer, values=_form_values(post.form), editing={"id": segment}, error=str(exc)
        )
        return await page("compose.html", 422, compose=context)
    return post.done("edited", to=_status_path(bundle))


# Actions on a post ---------------------------------------------------------------------------

Action = Callable[[Any, int, int], Awaitable[Any]]
ACTIONS: dict[str, tuple[Action, str]] = {
    "favourite": (lambda rt, me, s: interactions.set_favourite(rt, me, s, True), "favourited"),
    "unfavourite": (lambda rt, me, s: interactions.set_favourite(rt, me, s, False), "done"),
    "reblog": (lambda rt, me, s: interactions.reblog(rt, me, s, None), "boosted"),
    "unreblog": (interactions.unreblog, "done"),
    "bookmark": (lambda rt, me, s: interactions.set_bookmark(rt, me, s, True), "bookmarked"),
    "unbookmark": (lambda rt, me, s: interactions.set_bookmark(rt, me, s, False), "done"),
    "pin": (lambda rt, me, s: interactions.set_pin(rt, me, s, True), "pinned"),
    "unpin": (lambda rt, me, s: interactions.set_pin(rt, me, s, False), "done"),
    "mute": (lambda rt, me, s: interactions.set_conversation_mute(rt, me, s, True), "muted"),
    "unmute": (lambda rt, me, s: interactions.set_conversation_mute(rt, me, s, False), "done"),
    "delete": (lambda rt, me, s: statuses.delete(rt, me, s), "deleted"),
}


@blueprint.route("/statuses/<segment>/<verb>", methods=["POST"])
@form_post(SIGNED_IN, back=_back_or("/home"))
async def status_action(post: FormPost, segment: str, verb: str) -> Response:
    """Boost, favourite, bookmark, pin, mute the conversation or delete: the API's service
    call, then back to the page the button was on."""
    status_id = parse_id(segment)
    if status_id is None or (verb not in ACTIONS and verb != "report"):
        return await not_found_page()
    rt = runtime()
    me = post.account["account_id"]
    try:
        if verb == "report":
            await _report(me, status_id, post.form)
            return post.done("reported")
        act, notice = ACTIONS[verb]
        await act(rt, me, status_id)
    except StatusNotFound:
        return await post.failed("This post does not exist or you cannot see it.", 404)
    except (NotAllowed, InvalidStatus, AccountNotFound) as exc:
        return await post.failed(str(exc) or "This action is not allowed.", 403)
    if verb == "delete" and post.back.endswith(f"/{status_id}"):
        return post.done(notice, to="/home")
    return post.done(notice)


@blueprint.route("/statuses/<segment>/report")
@viewer_page(SIGNED_IN)
async def report_page(viewer: Row, segment: str) -> Response:
    """The report form for one post (why, and a word to the moderators)."""
    target = await _reply_target(viewer["account_id"], parse_id(segment))
    if target is None:
        return await not_found_page("This post does not exist or you cannot see it.")
    return await page("report.html", item=target)


async def _report(me: int, status_id: int, form: Any) -> None:
    """Report a post to the moderators (its author is the account reported)."""
    bundle = await statuses.show(runtime(), status_id, me)
    author = bundle.statuses[status_id]["account_id"]
    category = form.get("category", "other")
    await reports.file_report(
        runtime(),
        me,
        reports.ReportRequest(
            target_id=author,
            status_ids=[status_id],
            comment=form.get("comment", "")[:1000],
            category=category if category in REPORT_CATEGORIES else "other",
        ),
    )


# Actions on an account -----------------------------------------------------------------------


async def _relation(verb: str, me: int, target: int) -> None:
    rt = runtime()
    if verb == "unfollow":
        await follow_service.unfollow(rt, me, target)
    elif verb == "follow":
        await follow_service.follow(rt, me, target, follow_service.FollowOptions())
    elif verb == "mute":
        await follow_service.mute(rt, me, target, True, 0)
    elif verb == "unmute":
        await follow_service.unmute(rt, me, target)
    elif verb == "block":
        await follow_service.block(rt, me, target)
    else:
        await follow_service.unblock(rt, me, target)


RELATION_VERBS = ("follow", "unfollow", "mute", "unmute", "block", "unblock")


@blueprint.route("/@<handle>/relationship", methods=["POST"])
@blueprint.route("/@<handle>/follow", methods=["POST"])
@form_post(SIGNED_IN, back="/@{handle}")
async def relationship(post: FormPost, handle: str) -> Response:
    """Follow, unfollow, mute, unmute, block or unblock from a profile page."""
    verb = post.form.get("action", "")
    account = await profiles.public_profile(runtime(), handle)
    if account is None or verb not in RELATION_VERBS:
        return await not_found_page("No such account on this server.")
    if account["id"] == post.account["account_id"]:
        return await post.failed("That is you.", 422)
    try:
        await _relation(verb, post.account["account_id"], account["id"])
    except (follow_service.CannotFollow, AccountNotFound):
        return await post.failed("You cannot follow this account.", 403)
    return post.done(verb)
