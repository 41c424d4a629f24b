"""The admin pages: instance settings, sign-ups, reports, accounts, trending links, domain
blocks, custom emoji, announcements and the job queue, for moderators and admins only."""

from __future__ import annotations

import time
from collections.abc import Awaitable

from quart import Blueprint, Response, request

from ... import roles
from ...ids import parse_id
from ...services import admin, admin_blocks, custom_emoji, relays, terms_mail, trends, webhooks
from ...services import instance as instance_service
from ...services.types import Row
from ..browser import FormPost, Notices, form_post, staff, viewer_page
from ..context import runtime

blueprint = Blueprint("admin", __name__)

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
        "link_rejected": "The link will not trend.",
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


@blueprint.route("/admin")
@viewer_page(MODERATORS)
async def dashboard(viewer: Row) -> Response:
    rt = runtime()
    health = await admin.queue_health(rt) if viewer["role"] in admin.ADMIN_ROLES else None
    return await NOTICES.page(
        "admin/dashboard.html",
        sign_ups=len(await admin.pending_sign_ups(rt)),
        open_reports=len(await admin.reports(rt)),
        health=health,
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
async def trending_links_page(_viewer: Row) -> Response:
    return await NOTICES.page(
        "admin/trending_links.html", links=await trends.links_to_review(runtime())
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
    try:
        if form.get("action") == "remove":
            await admin_blocks.delete_domain_block(runtime(), staff_member, domain)
            return post.done("unblocked")
        await admin_blocks.create_domain_block(
            runtime(),
            staff_member,
            domain,
            admin_blocks.DomainBlockFields(
                severity=str(form.get("severity", "suspend")),
                reject_media=form.get("reject_media") == "on",
                reject_reports=form.get("reject_reports") == "on",
                public_comment=str(form.get("public_comment", "")),
                private_comment=str(form.get("private_comment", "")),
                obfuscate=form.get("obfuscate") == "on",
            ),
            replace_existing=True,
        )
    except admin.NotFound:
        return await post.failed("That domain is not blocked.", 404)
    except admin.Forbidden as exc:
        return await post.failed(str(exc), 403)
    except admin.AdminError as exc:
        return await post.failed(str(exc))
    return post.done("blocked")


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
