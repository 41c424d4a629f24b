"""The admin pages: instance settings, sign-ups, reports, accounts, trending links, domain
blocks, custom emoji, announcements and the job queue, for moderators and admins only."""

from __future__ import annotations

import time
from collections.abc import Awaitable
from typing import Any

from quart import Response, request

from ... import charts, roles
from ...ids import parse_id
from ...services import admin, admin_blocks, custom_emoji, relays, terms_mail, trends, webhooks
from ...services import dashboard as dashboard_service
from ...services import instance as instance_service
from ...services.types import Page, Row
from ..browser import FormPost, Notices, form_post, pages_blueprint, staff, viewer_page
from ..context import runtime

blueprint = pages_blueprint("admin", __name__)

NOTICES = Notices(
    {
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
        "link_approved": "The link may trend now.",
        "added": "Added.",
        "removed": "Removed.",
        "link_rejected": "The link will not trend.",
        "publisher_approved": "The publisher's links may trend now.",
        "publisher_rejected": "The publisher's links will trend only when approved one by one.",
        "webhook": "The webhook was saved.",
        "relay": "The relay was asked to let us in; it is pending until it answers.",
    }
)


MODERATORS = staff(admin.MODERATOR_ROLES)
ADMINS = staff(admin.ADMIN_ROLES)


def acting(viewer: Row) -> admin.Staff:
    """The signed-in staff member as the admin services take them."""
    return admin.Staff(int(viewer["account_id"]), str(viewer["role"]))


async def attempt(
    post: FormPost, action: Awaitable[object], notice: str, *, missing: str
) -> Response:
    """Run an admin service's action for a form: back with `notice`, or the page saying
    why not (404 for what is `missing`, 403 for a role without the permission, 422)."""
    try:
        await action
    except admin.NotFound:
        return await post.failed(missing, 404)
    except admin.Forbidden as exc:
        return await post.failed(str(exc), 403)
    except admin.AdminError as exc:
        return await post.failed(str(exc))
    return post.done(notice)


# Dashboard and instance settings ---------------------------------------------------------------


PERIODS = (7, 14, 30, 90)
MEASURE_NAMES = {
    "new_users": "New users",
    "active_users": "Active users",
    "interactions": "Interactions",
    "opened_reports": "Opened reports",
    "resolved_reports": "Resolved reports",
}


def _measure_chart(measure: dashboard_service.Measure) -> dict[str, Any]:
    days = [(dashboard_service.day_iso(day)[:10], value) for day, value in measure.data]
    return {
        "key": measure.key,
        "name": MEASURE_NAMES[measure.key],
        "total": measure.total,
        "previous_total": measure.previous_total,
        "days": days,
        "largest": max((value for _, value in days), default=0),
        "chart": charts.bar_chart([(day[5:], value) for day, value in days]),
    }


def _queue_chart(samples: list[Row], now: int) -> dict[str, Any]:
    depth = [(s["at"], s["pending"] + s["retrying"]) for s in samples]
    return {
        "samples": [
            {**s, "time": time.strftime("%H:%M", time.gmtime(s["at"] / 1000))} for s in samples
        ],
        "chart": charts.line_chart(depth, now - 86_400_000, now),
        "largest": max((d for _, d in depth), default=0),
    }


@blueprint.route("/admin")
@viewer_page(MODERATORS)
async def dashboard(viewer: Row) -> Response:
    rt = runtime()
    devops = viewer["role"] in admin.ADMIN_ROLES
    health = await admin.queue_health(rt) if devops else None
    days = parse_id(request.args.get("days", "")) or 30
    days = days if days in PERIODS else 30
    today = dashboard_service.today()
    now = int(time.time() * 1000)
    facts = await dashboard_service.overview(
        rt, acting(viewer), dashboard_service.Period(today - days + 1, today), now
    )
    deliveries = [{**d, "total": d["delivered"] + d["failed"]} for d in facts.deliveries]
    return await NOTICES.page(
        "admin/dashboard.html",
        sign_ups=len(await admin.pending_sign_ups(rt)),
        open_reports=len(await admin.reports(rt)),
        health=health,
        days=days,
        periods=PERIODS,
        first=dashboard_service.day_iso(facts.when.first)[:10],
        last=dashboard_service.day_iso(facts.when.last)[:10],
        measures=[_measure_chart(m) for m in facts.measures],
        deliveries=deliveries,
        delivery_days=min(days, dashboard_service.DELIVERY_DAYS),
        delivery_chart=charts.bar_chart([(d["domain"], d["total"]) for d in deliveries]),
        queue=_queue_chart(list(facts.queue), now) if devops else None,
        version=facts.version,
        database_size=None
        if facts.database_bytes is None
        else charts.human_bytes(facts.database_bytes),
        media_size=None if facts.media_bytes is None else charts.human_bytes(facts.media_bytes),
    )


@blueprint.route("/admin/settings")
@viewer_page(ADMINS)
async def settings_page(_viewer: Row) -> Response:
    rt = runtime()
    facts = await instance_service.instance_facts(rt)
    return await NOTICES.page(
        "admin/settings.html",
        config=rt.config,
        site=facts.site,
        modes=instance_service.REGISTRATION_MODES,
        rules=facts.rules,
        extended=facts.extended_description,
        privacy_policy=facts.privacy_policy,
        terms=facts.terms,
        today=instance_service.today(),
    )


@blueprint.route("/admin/settings", methods=["POST"])
@form_post(ADMINS, back="/admin/settings")
async def settings_save(post: FormPost) -> Response:
    form = post.form
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
                return await post.failed("No such rule.", 404)
        elif action == "description":
            text = str(form.get("extended_description", ""))
            if len(text) > 20_000:
                return await post.failed("The description is too long.")
            await instance_service.set_extended_description(rt, text)
        elif action == "privacy_policy":
            await instance_service.set_privacy_policy(rt, str(form.get("privacy_policy", "")))
        elif action == "terms":
            await instance_service.put_terms(
                rt,
                effective_date=str(form.get("effective_date", ""))[:40],
                html=str(form.get("content", "")),
                changelog=str(form.get("changelog", "")),
            )
        elif action == "notify_terms":
            try:
                sent = await terms_mail.notify_users(rt, str(form.get("effective_date", ""))[:40])
            except terms_mail.TermsNotFound:
                return await post.failed("No such terms of service.", 404)
            if not sent:
                return await post.failed("The users were already told about these terms.", 409)
        elif action == "remove_terms":
            if not await instance_service.delete_terms(
                rt, str(form.get("effective_date", ""))[:40]
            ):
                return await post.failed("No such terms of service.", 404)
        else:
            return await post.failed("Unknown action.", 400)
    except ValueError as exc:
        return await post.failed(str(exc))
    return post.done("saved")


# Sign-ups --------------------------------------------------------------------------------------


@blueprint.route("/admin/sign_ups")
@viewer_page(MODERATORS)
async def sign_ups_page(_viewer: Row) -> Response:
    return await NOTICES.page(
        "admin/sign_ups.html", pending=await admin.pending_sign_ups(runtime())
    )


@blueprint.route("/admin/sign_ups/<id:user_id>/<action>", methods=["POST"])
@form_post(MODERATORS, back="/admin/sign_ups")
async def sign_up_decision(post: FormPost, user_id: int, action: str) -> Response:
    if action not in ("approve", "reject"):
        return await post.failed("No such sign-up.", 404)
    rt = runtime()
    try:
        account_id = await admin.account_of_user(rt, user_id)
        if action == "approve":
            await admin.approve(rt, acting(post.account), account_id)
        else:
            await admin.reject(rt, acting(post.account), account_id)
    except (admin.NotFound, admin.Forbidden):
        return await post.failed("No such sign-up.", 404)
    return post.done("approved" if action == "approve" else "rejected")


# Reports ---------------------------------------------------------------------------------------


@blueprint.route("/admin/reports")
@viewer_page(MODERATORS)
async def reports_page(_viewer: Row) -> Response:
    resolved = request.args.get("resolved") == "1"
    return await NOTICES.page(
        "admin/reports.html",
        reports=await admin.reports(runtime(), resolved=resolved),
        resolved=resolved,
    )


@blueprint.route("/admin/reports/<id:report_id>/<action>", methods=["POST"])
@form_post(MODERATORS, back="/admin/reports")
async def report_decision(post: FormPost, report_id: int, action: str) -> Response:
    viewer = post.account
    if action not in ("resolve", "reopen"):
        return await post.failed("No such report.", 404)
    try:
        await admin.resolve_report(runtime(), acting(viewer), report_id, reopen=action == "reopen")
    except admin.NotFound:
        return await post.failed("No such report.", 404)
    except admin.Forbidden as exc:
        return await post.failed(str(exc), 403)
    return post.done("resolved" if action == "resolve" else "reopened")


# Accounts --------------------------------------------------------------------------------------


@blueprint.route("/admin/accounts")
@viewer_page(MODERATORS)
async def accounts_page(viewer: Row) -> Response:
    query = request.args.get("q", "")[:100]
    origin = request.args.get("origin", "")
    status = request.args.get("status", "")
    page_number = parse_id(request.args.get("page", "0")) or 0
    rows = await admin.accounts(
        runtime(), query=query, origin=origin, status=status, page=page_number
    )
    mine = roles.role(str(viewer["role"]))
    return await NOTICES.page(
        "admin/accounts.html",
        accounts=rows,
        assignable=[r for r in roles.ROLES.values() if mine.overrides(r)]
        if mine.can(roles.MANAGE_ROLES)
        else [],
        q=query,
        origin=origin,
        standing=status,
        page_number=page_number,
        more=len(rows) == 50,
    )


@blueprint.route("/admin/accounts/<id:account_id>/role", methods=["POST"])
@form_post(MODERATORS, back="/admin/accounts")
async def account_role(post: FormPost, account_id: int) -> Response:
    role = str(post.form.get("role", ""))[:20]
    return await attempt(
        post,
        admin.set_role(runtime(), acting(post.account), account_id, role),
        "changed",
        missing="No such local account.",
    )


@blueprint.route("/admin/accounts/<id:account_id>/<action>", methods=["POST"])
@form_post(MODERATORS, back="/admin/accounts")
async def account_action(post: FormPost, account_id: int, action: str) -> Response:
    staff_member = acting(post.account)
    if action not in admin.ACTION_TYPES + admin.UNDO_ACTIONS or action == "none":
        return await post.failed("No such account or action.", 404)
    try:
        if action in admin.UNDO_ACTIONS:
            changed = await admin.undo_on_account(runtime(), staff_member, account_id, action)
        else:
            changed = await admin.act_on_account(
                runtime(),
                staff_member,
                account_id,
                admin.AccountAction(action, text=str(post.form.get("text", ""))[:5000]),
            )
    except admin.NotFound:
        return await post.failed("No such account.", 404)
    except (admin.AdminError, admin.Forbidden) as exc:
        return await post.failed(str(exc), 403)
    return post.done("changed" if changed else "unchanged")


# Trending links --------------------------------------------------------------------------------


@blueprint.route("/admin/trends/links")
@viewer_page(MODERATORS)
async def trending_links_page(viewer: Row) -> Response:
    return await NOTICES.page(
        "admin/trending_links.html",
        links=await trends.links_to_review(runtime()),
        publishers=await trends.publishers(runtime(), acting(viewer), 100, 0),
    )


@blueprint.route("/admin/trends/publishers/<id:provider_id>/<action>", methods=["POST"])
@form_post(MODERATORS, back="/admin/trends/links")
async def publisher_review(post: FormPost, provider_id: int, action: str) -> Response:
    if action not in ("approve", "reject"):
        return await post.failed("No such publisher.", 404)
    return await attempt(
        post,
        trends.review_publisher(runtime(), acting(post.account), provider_id, action == "approve"),
        "publisher_approved" if action == "approve" else "publisher_rejected",
        missing="No such publisher.",
    )


@blueprint.route("/admin/trends/links/<id:card_id>/<action>", methods=["POST"])
@form_post(MODERATORS, back="/admin/trends/links")
async def trending_link_review(post: FormPost, card_id: int, action: str) -> Response:
    if action not in ("approve", "reject"):
        return await post.failed("No such link.", 404)
    try:
        await trends.review_link(runtime(), acting(post.account), card_id, action == "approve")
    except trends.LinkNotFound:
        return await post.failed("No such link.", 404)
    return post.done("link_approved" if action == "approve" else "link_rejected")


# Domain blocks ---------------------------------------------------------------------------------


@blueprint.route("/admin/domain_blocks")
@viewer_page(ADMINS)
async def domain_blocks_page(viewer: Row) -> Response:
    return await NOTICES.page(
        "admin/domain_blocks.html",
        blocks=await admin_blocks.domain_block_list(runtime(), acting(viewer)),
    )


@blueprint.route("/admin/domain_blocks", methods=["POST"])
@form_post(ADMINS, back="/admin/domain_blocks")
async def domain_block_change(post: FormPost) -> Response:
    form = post.form
    domain = str(form.get("domain", ""))[:300]
    staff_member = acting(post.account)
    missing = "That domain is not blocked."
    if form.get("action") == "remove":
        return await attempt(
            post,
            admin_blocks.delete_domain_block(runtime(), staff_member, domain),
            "unblocked",
            missing=missing,
        )
    fields = admin_blocks.DomainBlockFields(
        severity=str(form.get("severity", "suspend")),
        reject_media=form.get("reject_media") == "on",
        reject_reports=form.get("reject_reports") == "on",
        public_comment=str(form.get("public_comment", "")),
        private_comment=str(form.get("private_comment", "")),
        obfuscate=form.get("obfuscate") == "on",
    )
    return await attempt(
        post,
        admin_blocks.create_domain_block(
            runtime(), staff_member, domain, fields, replace_existing=True
        ),
        "blocked",
        missing=missing,
    )


# IP blocks, e-mail domain blocks, canonical e-mail blocks and domain allows ------------------

# Each page: its heading, the kind of block the admin services keep, and what a row shows.
BLOCK_PAGES: dict[str, tuple[str, admin_blocks.Kind[Any]]] = {
    "ip_blocks": ("IP blocks", admin_blocks.IP_BLOCKS),
    "email_domain_blocks": ("E-mail domain blocks", admin_blocks.EMAIL_DOMAIN_BLOCKS),
    "canonical_email_blocks": ("Canonical e-mail blocks", admin_blocks.CANONICAL_EMAIL_BLOCKS),
    "domain_allows": ("Allowed domains", admin_blocks.DOMAIN_ALLOWS),
}
BLOCK_PAGE_SIZE = 100


BLOCK_PATHS = (
    "/admin/<any(ip_blocks, email_domain_blocks, canonical_email_blocks, domain_allows):path>"
)


@blueprint.route(BLOCK_PATHS)
@viewer_page(ADMINS)
async def blocks_page(viewer: Row, path: str) -> Response:
    heading, kind = BLOCK_PAGES[path]
    max_id = parse_id(request.args.get("max_id", ""))
    rows = await admin_blocks.listing(
        runtime(), acting(viewer), kind, Page(BLOCK_PAGE_SIZE, max_id=max_id)
    )
    return await NOTICES.page(
        "admin/blocks.html",
        path=path,
        title=heading,
        rows=[{**r, "expires": _utc(r.get("expires_at"))} for r in rows],
        older=rows[-1]["id"] if len(rows) == BLOCK_PAGE_SIZE else None,
    )


def _utc(ms: int | None) -> str:
    return "" if ms is None else time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(ms / 1000))


async def _add_block(rt: Any, staff_member: admin.Staff, path: str, form: Any) -> None:
    """Create one block or allow from the page's form, through the admin API's services."""
    if path == "ip_blocks":
        hours = parse_id(form.get("expires_in_hours", "")) if form.get("expires_in_hours") else None
        await admin_blocks.create_ip_block(
            rt,
            staff_member,
            admin_blocks.IpBlockFields(
                ip=str(form.get("ip", ""))[:100],
                severity=str(form.get("severity", "")),
                comment=str(form.get("comment", "")),
                expires_in=None if hours is None else min(hours, 24 * 3650) * 3600,
            ),
        )
    elif path == "email_domain_blocks":
        await admin_blocks.create_email_domain_block(
            rt,
            staff_member,
            str(form.get("domain", ""))[:300],
            allow_with_approval=form.get("allow_with_approval") == "on",
        )
    elif path == "canonical_email_blocks":
        await admin_blocks.create_canonical_block(
            rt, staff_member, email=str(form.get("email", ""))[:320]
        )
    else:
        await admin_blocks.create_domain_allow(rt, staff_member, str(form.get("domain", ""))[:300])


@blueprint.route(BLOCK_PATHS, methods=["POST"])
@form_post(ADMINS, back="/admin/{path}")
async def block_change(post: FormPost, path: str) -> Response:
    _, kind = BLOCK_PAGES[path]
    staff_member = acting(post.account)
    missing = "There is no such entry."
    if post.form.get("action") == "remove":
        # An id that cannot be one names no entry: the service answers NotFound.
        item_id = parse_id(post.form.get("id", "")) or 0
        return await attempt(
            post,
            admin_blocks.remove(runtime(), staff_member, kind, item_id),
            "removed",
            missing=missing,
        )
    return await attempt(
        post, _add_block(runtime(), staff_member, path, post.form), "added", missing=missing
    )


# Custom emoji ----------------------------------------------------------------------------------


@blueprint.route("/admin/custom_emojis")
@viewer_page(ADMINS)
async def emojis_page(_viewer: Row) -> Response:
    rt = runtime()
    return await NOTICES.page(
        "admin/custom_emojis.html", emojis=await admin.emojis(rt), media_url=rt.media.url
    )


@blueprint.route("/admin/custom_emojis", methods=["POST"])
@form_post(ADMINS, back="/admin/custom_emojis")
async def emoji_upload(post: FormPost) -> Response:
    form = post.form
    files = await request.files
    upload = files.get("image")
    data = upload.read(custom_emoji.MAX_BYTES + 1) if upload is not None else b""
    try:
        await admin.add_emoji(
            runtime(),
            acting(post.account),
            str(form.get("shortcode", ""))[:100],
            data,
            str(form.get("category", "")),
        )
    except admin.AdminError as exc:
        return await post.failed(str(exc))
    return post.done("emoji")


@blueprint.route("/admin/custom_emojis/<id:emoji_id>/<action>", methods=["POST"])
@form_post(ADMINS, back="/admin/custom_emojis")
async def emoji_toggle(post: FormPost, emoji_id: int, action: str) -> Response:
    if action not in ("disable", "enable"):
        return await post.failed("No such emoji.", 404)
    try:
        await admin.set_emoji_disabled(
            runtime(), acting(post.account), emoji_id, action == "disable"
        )
    except admin.NotFound:
        return await post.failed("No such emoji.", 404)
    return post.done("emoji")


# Announcements ---------------------------------------------------------------------------------


@blueprint.route("/admin/announcements")
@viewer_page(ADMINS)
async def announcements_page(_viewer: Row) -> Response:
    return await NOTICES.page(
        "admin/announcements.html", announcements=await admin.announcements(runtime())
    )


@blueprint.route("/admin/announcements", methods=["POST"])
@form_post(ADMINS, back="/admin/announcements")
async def announcement_create(post: FormPost) -> Response:
    form = post.form
    try:
        await admin.create_announcement(
            runtime(), acting(post.account), str(form.get("text", ""))[:10_000]
        )
    except admin.AdminError as exc:
        return await post.failed(str(exc))
    return post.done("announced")


@blueprint.route("/admin/announcements/<id:announcement_id>/delete", methods=["POST"])
@form_post(ADMINS, back="/admin/announcements")
async def announcement_delete(post: FormPost, announcement_id: int) -> Response:
    try:
        await admin.delete_announcement(runtime(), acting(post.account), announcement_id)
    except admin.NotFound:
        return await post.failed("No such announcement.", 404)
    return post.done("deleted")


# Job queue -------------------------------------------------------------------------------------


@blueprint.route("/admin/jobs")
@viewer_page(ADMINS)
async def jobs_page(_viewer: Row) -> Response:
    return await NOTICES.page("admin/jobs.html", health=await admin.queue_health(runtime()))


@blueprint.route("/admin/jobs/<id:job_id>/retry", methods=["POST"])
@form_post(ADMINS, back="/admin/jobs")
async def job_retry(post: FormPost, job_id: int) -> Response:
    try:
        await admin.retry_job(runtime(), acting(post.account), job_id)
    except admin.NotFound:
        return await post.failed("No parked job with that id.", 404)
    return post.done("retried")


# Audit log -------------------------------------------------------------------------------------


@blueprint.route("/admin/action_logs")
@viewer_page(MODERATORS)
async def action_logs_page(viewer: Row) -> Response:
    max_id = parse_id(request.args.get("max_id", ""))
    entries = await admin.audit_log(runtime(), acting(viewer), max_id=max_id)
    return await NOTICES.page(
        "admin/action_logs.html",
        entries=[
            {**e, "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(e["created_at"] / 1000))}
            for e in entries
        ],
        older=entries[-1]["id"] if len(entries) == 100 else None,
    )


# Webhooks --------------------------------------------------------------------------------------


@blueprint.route("/admin/webhooks")
@viewer_page(ADMINS)
async def webhooks_page(viewer: Row) -> Response:
    found = await webhooks.webhooks(runtime(), acting(viewer))
    return await NOTICES.page(
        "admin/webhooks.html",
        events=webhooks.EVENTS,
        webhooks=[{**w, "event_names": webhooks.events_of(w)} for w in found],
    )


@blueprint.route("/admin/webhooks", methods=["POST"])
@form_post(ADMINS, back="/admin/webhooks")
async def webhook_create(post: FormPost) -> Response:
    form = post.form
    creating = webhooks.create_webhook(
        runtime(),
        acting(post.account),
        str(form.get("url", ""))[:3000],
        [str(e)[:50] for e in form.getlist("events")[: len(webhooks.EVENTS) + 1]],
    )
    return await attempt(post, creating, "webhook", missing="No such webhook.")


@blueprint.route("/admin/webhooks/<id:webhook_id>/<action>", methods=["POST"])
@form_post(ADMINS, back="/admin/webhooks")
async def webhook_change(post: FormPost, webhook_id: int, action: str) -> Response:
    if action not in webhooks.ACTIONS:
        return await post.failed("No such webhook or action.", 404)
    return await attempt(
        post,
        webhooks.change_webhook(runtime(), acting(post.account), webhook_id, action),
        "deleted" if action == "destroy" else "webhook",
        missing="No such webhook.",
    )


# Relays ----------------------------------------------------------------------------------------


@blueprint.route("/admin/relays")
@viewer_page(ADMINS)
async def relays_page(viewer: Row) -> Response:
    return await NOTICES.page(
        "admin/relays.html", relays=await relays.relays(runtime(), acting(viewer))
    )


@blueprint.route("/admin/relays", methods=["POST"])
@form_post(ADMINS, back="/admin/relays")
async def relay_add(post: FormPost) -> Response:
    address = str(post.form.get("address", ""))[:3000]
    style = str(post.form.get("style", "mastodon"))[:20]
    adding = relays.add_relay(runtime(), acting(post.account), address, style)
    return await attempt(post, adding, "relay", missing="No such relay.")


@blueprint.route("/admin/relays/<id:relay_id>/delete", methods=["POST"])
@form_post(ADMINS, back="/admin/relays")
async def relay_remove(post: FormPost, relay_id: int) -> Response:
    removing = relays.remove_relay(runtime(), acting(post.account), relay_id)
    return await attempt(post, removing, "deleted", missing="No such relay.")
