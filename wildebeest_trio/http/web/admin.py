"""The admin pages: instance settings, sign-ups, reports, accounts, domain blocks, custom
emoji, announcements and the job queue, for moderators and admins only."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from quart import Blueprint, Response, request

from ...ids import parse_id
from ...services import admin, custom_emoji
from ...services import instance as instance_service
from ...services.types import Row
from ..browser import check_csrf, page, redirect, signed_in
from ..context import runtime

blueprint = Blueprint("admin", __name__)

NOTICES = {
    "approved": "The sign-up was approved.",
    "rejected": "The sign-up was rejected and the account removed.",
    "resolved": "The report is resolved.",
    "reopened": "The report is open again.",
    "changed": "The account's standing changed.",
    "unchanged": "Nothing changed: the account was already in that state.",
    "blocked": "The domain is blocked.",
    "unblocked": "The domain block was lifted.",
    "emoji": "The emoji was saved.",
    "announced": "The announcement is published.",
    "deleted": "Deleted.",
    "retried": "The job is back in the queue.",
    "saved": "Saved.",
}


async def _staff(roles: tuple[str, ...]) -> tuple[Row | None, Response | None]:
    """The signed-in moderator or admin, or the response that turns the visitor away."""
    viewer = await signed_in()
    if viewer is None:
        return None, redirect("/auth/sign_in?" + urlencode({"next": request.path}))
    if viewer["role"] not in roles:
        return None, await page(
            "message.html",
            403,
            heading="Forbidden",
            message="This page is for the server's moderators and admins.",
        )
    return viewer, None


async def _render(template: str, status: int = 200, **context: Any) -> Response:
    notice = NOTICES.get(request.args.get("notice", ""))
    return await page(template, status, notice=notice, **context)


def _done(path: str, notice: str) -> Response:
    return redirect(f"{path}?notice={notice}", 303)


async def _error(template_path: str, message: str, status: int = 422) -> Response:
    return await page(
        "message.html",
        status,
        heading="That did not work",
        message=message,
        back=template_path,
    )


# Dashboard and instance settings ---------------------------------------------------------------


@blueprint.route("/admin")
async def dashboard() -> Response:
    viewer, refused = await _staff(admin.MODERATOR_ROLES)
    if refused:
        return refused
    rt = runtime()
    health = await admin.queue_health(rt) if viewer["role"] == "admin" else None
    return await _render(
        "admin/dashboard.html",
        sign_ups=len(await admin.pending_sign_ups(rt)),
        open_reports=len(await admin.reports(rt)),
        health=health,
    )


@blueprint.route("/admin/settings")
async def settings_page() -> Response:
    _, refused = await _staff(admin.ADMIN_ROLES)
    if refused:
        return refused
    rt = runtime()
    facts = await instance_service.instance_facts(rt)
    return await _render(
        "admin/settings.html",
        config=rt.config,
        site=facts.site,
        modes=instance_service.REGISTRATION_MODES,
        rules=facts.rules,
        extended=facts.extended_description,
    )


@blueprint.route("/admin/settings", methods=["POST"])
async def settings_save() -> Response:
    form = await request.form
    check_csrf(form)
    _, refused = await _staff(admin.ADMIN_ROLES)
    if refused:
        return refused
    rt = runtime()
    action = form.get("action", "")
    try:
        if action == "site":
            await instance_service.set_site(
                rt,
                title=str(form.get("title", ""))[:1000],
                description=str(form.get("description", ""))[:5000],
                registrations=str(form.get("registrations", "")),
            )
        elif action == "add_rule":
            await instance_service.add_rule(
                rt, str(form.get("text", ""))[:1000], str(form.get("hint", ""))[:1000]
            )
        elif action == "remove_rule":
            rule_id = parse_id(form.get("rule_id", ""))
            if rule_id is None or not await instance_service.remove_rule(rt, rule_id):
                return await _error("/admin/settings", "No such rule.", 404)
        elif action == "description":
            text = str(form.get("extended_description", ""))
            if len(text) > 20_000:
                return await _error("/admin/settings", "The description is too long.")
            await instance_service.set_extended_description(rt, text)
        else:
            return await _error("/admin/settings", "Unknown action.", 400)
    except ValueError as exc:
        return await _error("/admin/settings", str(exc))
    return _done("/admin/settings", "saved")


# Sign-ups --------------------------------------------------------------------------------------


@blueprint.route("/admin/sign_ups")
async def sign_ups_page() -> Response:
    _, refused = await _staff(admin.MODERATOR_ROLES)
    if refused:
        return refused
    return await _render("admin/sign_ups.html", pending=await admin.pending_sign_ups(runtime()))


@blueprint.route("/admin/sign_ups/<id:user_id>/<action>", methods=["POST"])
async def sign_up_decision(user_id: int, action: str) -> Response:
    form = await request.form
    check_csrf(form)
    _, refused = await _staff(admin.MODERATOR_ROLES)
    if refused:
        return refused
    if action not in ("approve", "reject"):
        return await _error("/admin/sign_ups", "No such sign-up.", 404)
    try:
        if action == "approve":
            await admin.approve_sign_up(runtime(), user_id)
        else:
            await admin.reject_sign_up(runtime(), user_id)
    except admin.NotFound:
        return await _error("/admin/sign_ups", "No such sign-up.", 404)
    return _done("/admin/sign_ups", "approved" if action == "approve" else "rejected")


# Reports ---------------------------------------------------------------------------------------


@blueprint.route("/admin/reports")
async def reports_page() -> Response:
    _, refused = await _staff(admin.MODERATOR_ROLES)
    if refused:
        return refused
    resolved = request.args.get("resolved") == "1"
    return await _render(
        "admin/reports.html",
        reports=await admin.reports(runtime(), resolved=resolved),
        resolved=resolved,
    )


@blueprint.route("/admin/reports/<id:report_id>/<action>", methods=["POST"])
async def report_decision(report_id: int, action: str) -> Response:
    form = await request.form
    check_csrf(form)
    viewer, refused = await _staff(admin.MODERATOR_ROLES)
    if refused:
        return refused
    if action not in ("resolve", "reopen"):
        return await _error("/admin/reports", "No such report.", 404)
    try:
        await admin.resolve_report(
            runtime(), viewer["account_id"], report_id, reopen=action == "reopen"
        )
    except admin.NotFound:
        return await _error("/admin/reports", "No such report.", 404)
    return _done("/admin/reports", "resolved" if action == "resolve" else "reopened")


# Accounts --------------------------------------------------------------------------------------


@blueprint.route("/admin/accounts")
async def accounts_page() -> Response:
    _, refused = await _staff(admin.MODERATOR_ROLES)
    if refused:
        return refused
    query = request.args.get("q", "")[:100]
    origin = request.args.get("origin", "")
    status = request.args.get("status", "")
    page_number = parse_id(request.args.get("page", "0")) or 0
    rows = await admin.accounts(
        runtime(), query=query, origin=origin, status=status, page=page_number
    )
    return await _render(
        "admin/accounts.html",
        accounts=rows,
        q=query,
        origin=origin,
        standing=status,
        page_number=page_number,
        more=len(rows) == 50,
    )


@blueprint.route("/admin/accounts/<id:account_id>/<action>", methods=["POST"])
async def account_action(account_id: int, action: str) -> Response:
    form = await request.form
    check_csrf(form)
    viewer, refused = await _staff(admin.MODERATOR_ROLES)
    if refused:
        return refused
    if action not in admin.ACCOUNT_ACTIONS:
        return await _error("/admin/accounts", "No such account or action.", 404)
    try:
        changed = await admin.set_account_standing(
            runtime(), viewer["account_id"], account_id, action
        )
    except admin.NotFound:
        return await _error("/admin/accounts", "No such account.", 404)
    except admin.AdminError as exc:
        return await _error("/admin/accounts", str(exc), 403)
    return _done("/admin/accounts", "changed" if changed else "unchanged")


# Domain blocks ---------------------------------------------------------------------------------


@blueprint.route("/admin/domain_blocks")
async def domain_blocks_page() -> Response:
    _, refused = await _staff(admin.ADMIN_ROLES)
    if refused:
        return refused
    return await _render(
        "admin/domain_blocks.html", blocks=await admin.domain_block_list(runtime())
    )


@blueprint.route("/admin/domain_blocks", methods=["POST"])
async def domain_block_change() -> Response:
    form = await request.form
    check_csrf(form)
    _, refused = await _staff(admin.ADMIN_ROLES)
    if refused:
        return refused
    domain = str(form.get("domain", ""))[:300]
    try:
        if form.get("action") == "remove":
            if not await admin.remove_domain_block(runtime(), domain):
                return await _error("/admin/domain_blocks", "That domain is not blocked.", 404)
            return _done("/admin/domain_blocks", "unblocked")
        await admin.add_domain_block(
            runtime(),
            domain,
            severity=str(form.get("severity", "suspend")),
            reject_media=form.get("reject_media") == "on",
            reject_reports=form.get("reject_reports") == "on",
            public_comment=str(form.get("public_comment", "")),
            private_comment=str(form.get("private_comment", "")),
        )
    except admin.AdminError as exc:
        return await _error("/admin/domain_blocks", str(exc))
    return _done("/admin/domain_blocks", "blocked")


# Custom emoji ----------------------------------------------------------------------------------


@blueprint.route("/admin/custom_emojis")
async def emojis_page() -> Response:
    _, refused = await _staff(admin.ADMIN_ROLES)
    if refused:
        return refused
    rt = runtime()
    return await _render(
        "admin/custom_emojis.html", emojis=await admin.emojis(rt), media_url=rt.media.url
    )


@blueprint.route("/admin/custom_emojis", methods=["POST"])
async def emoji_upload() -> Response:
    form = await request.form
    check_csrf(form)
    _, refused = await _staff(admin.ADMIN_ROLES)
    if refused:
        return refused
    files = await request.files
    upload = files.get("image")
    data = upload.read(custom_emoji.MAX_BYTES + 1) if upload is not None else b""
    try:
        await admin.add_emoji(
            runtime(), str(form.get("shortcode", ""))[:100], data, str(form.get("category", ""))
        )
    except admin.AdminError as exc:
        return await _error("/admin/custom_emojis", str(exc))
    return _done("/admin/custom_emojis", "emoji")


@blueprint.route("/admin/custom_emojis/<id:emoji_id>/<action>", methods=["POST"])
async def emoji_toggle(emoji_id: int, action: str) -> Response:
    form = await request.form
    check_csrf(form)
    _, refused = await _staff(admin.ADMIN_ROLES)
    if refused:
        return refused
    if action not in ("disable", "enable"):
        return await _error("/admin/custom_emojis", "No such emoji.", 404)
    try:
        await admin.set_emoji_disabled(runtime(), emoji_id, action == "disable")
    except admin.NotFound:
        return await _error("/admin/custom_emojis", "No such emoji.", 404)
    return _done("/admin/custom_emojis", "emoji")


# Announcements ---------------------------------------------------------------------------------


@blueprint.route("/admin/announcements")
async def announcements_page() -> Response:
    _, refused = await _staff(admin.ADMIN_ROLES)
    if refused:
        return refused
    return await _render(
        "admin/announcements.html", announcements=await admin.announcements(runtime())
    )


@blueprint.route("/admin/announcements", methods=["POST"])
async def announcement_create() -> Response:
    form = await request.form
    check_csrf(form)
    _, refused = await _staff(admin.ADMIN_ROLES)
    if refused:
        return refused
    try:
        await admin.create_announcement(runtime(), str(form.get("text", ""))[:10_000])
    except admin.AdminError as exc:
        return await _error("/admin/announcements", str(exc))
    return _done("/admin/announcements", "announced")


@blueprint.route("/admin/announcements/<id:announcement_id>/delete", methods=["POST"])
async def announcement_delete(announcement_id: int) -> Response:
    form = await request.form
    check_csrf(form)
    _, refused = await _staff(admin.ADMIN_ROLES)
    if refused:
        return refused
    try:
        await admin.delete_announcement(runtime(), announcement_id)
    except admin.NotFound:
        return await _error("/admin/announcements", "No such announcement.", 404)
    return _done("/admin/announcements", "deleted")


# Job queue -------------------------------------------------------------------------------------


@blueprint.route("/admin/jobs")
async def jobs_page() -> Response:
    _, refused = await _staff(admin.ADMIN_ROLES)
    if refused:
        return refused
    return await _render("admin/jobs.html", health=await admin.queue_health(runtime()))


@blueprint.route("/admin/jobs/<id:job_id>/retry", methods=["POST"])
async def job_retry(job_id: int) -> Response:
    form = await request.form
    check_csrf(form)
    _, refused = await _staff(admin.ADMIN_ROLES)
    if refused:
        return refused
    try:
        await admin.retry_job(runtime(), job_id)
    except admin.NotFound:
        return await _error("/admin/jobs", "No parked job with that id.", 404)
    return _done("/admin/jobs", "retried")
