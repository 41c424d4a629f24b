"""The settings pages of a signed-in user: profile, account (e-mail, password, two-factor),
import and export, aliases and moving, deleting the account."""

from __future__ import annotations

import json
from typing import Any

from quart import Response, request
from werkzeug.exceptions import RequestEntityTooLarge

from ...media.images import ImageError
from ...serializers.accounts import account_entity
from ...serializers.time import iso_ms
from ...services import (
    account_settings,
    archives,
    exports,
    imports,
    moves,
    notification_mail,
    oauth,
    profiles,
    sessions,
    totp,
    webauthn_keys,
)
from ...services.profile_images import store_avatar, store_header
from ...services.types import Row
from ..auth import Limit
from ..browser import (
    SESSION_COOKIE,
    SIGNED_IN,
    FormPost,
    Notices,
    clear_session_cookie,
    finish,
    form_post,
    page,
    pages_blueprint,
    redirect,
    signed_in,
    start_browser_session,
    viewer_page,
)
from ..context import json_response, runtime

blueprint = pages_blueprint("settings", __name__)

NOTICES = Notices(
    {
        "profile": "Your profile was saved.",
        "password": "Your password was changed; other browsers were signed out.",
        "email_sent": "Follow the link we sent to the new address to finish the change.",
        "email_changed": "Your e-mail address was changed.",
        "otp_disabled": "Two-factor authentication is off.",
        "key_added": "The security key was added.",
        "key_removed": "The security key was removed.",
        "alias": "Your aliases were updated.",
        "moved": "Your followers are being moved to the new account.",
        "session_revoked": "That session was logged out.",
        "import_started": "Your file is being imported; its progress shows below.",
        "archive_requested": "Your archive is being prepared; it shows below when ready.",
        "mail": "Your e-mail notification preferences were saved.",
    }
)
SETTINGS_LIMIT = Limit(30, 300)  # password-checked actions per IP and 5 minutes


@blueprint.route("/settings")
async def settings_home() -> Response:
    return redirect("/settings/profile")


# Profile ---------------------------------------------------------------------------------------


async def _profile_page(viewer: Row, status: int = 200, error: str | None = None) -> Response:
    rt = runtime()
    row = await profiles.account(rt, viewer["account_id"])
    assert row is not None
    fields = json.loads(row["fields_source"] or "[]")
    fields += [{"name": "", "value": ""}] * (profiles.MAX_FIELDS - len(fields))
    return await NOTICES.page(
        "settings/profile.html",
        status,
        error=error,
        account=account_entity(rt.config, row),
        row=row,
        fields=fields[: profiles.MAX_FIELDS],
        max_fields=profiles.MAX_FIELDS,
    )


@blueprint.route("/settings/profile")
@viewer_page()
async def profile_page(viewer: Row) -> Response:
    return await _profile_page(viewer)


@blueprint.route("/settings/profile", methods=["POST"])
@form_post(SIGNED_IN, back="/settings/profile")
async def profile_save(post: FormPost) -> Response:
    form, viewer = post.form, post.account
    rt = runtime()
    files = await request.files
    fields = [
        (str(form.get(f"fields[{i}][name]", "")), str(form.get(f"fields[{i}][value]", "")))
        for i in range(profiles.MAX_FIELDS)
    ]
    changes: dict[str, Any] = {
        "display_name": str(form.get("display_name", ""))[:1000],
        "note": str(form.get("note", ""))[:5000],
        "fields": fields,
    }
    for flag in ("locked", "bot", "discoverable", "hide_collections"):
        changes[flag] = form.get(flag) == "on"
    try:
        for kind, store in (("avatar", store_avatar), ("header", store_header)):
            upload = files.get(kind)
            if upload is not None and upload.filename:
                data = upload.read(rt.config.media_max_image_bytes + 1)
                if data:
                    changes[f"{kind}_key"] = await store(rt, data)
        await profiles.update(rt, viewer["account_id"], profiles.ProfileChanges(**changes))
    except ImageError as exc:
        return await _profile_page(viewer, 422, f"Image: {exc}")
    except profiles.ProfileError as exc:
        return await _profile_page(viewer, 422, f"{exc.field.replace('_', ' ')}: {exc}")
    return post.done("profile")


# E-mail notifications, and the one-click way out of them ------------------------------------


@blueprint.route("/settings/notifications")
@viewer_page()
async def notifications_page(viewer: Row) -> Response:
    rt = runtime()
    return await NOTICES.page(
        "settings/notifications.html",
        switches=await notification_mail.preferences(rt, viewer["account_id"]),
        labels=notification_mail.LABELS,
        admin=viewer["role"] in notification_mail.STAFF_ROLES,
    )


@blueprint.route("/settings/notifications", methods=["POST"])
@form_post(SIGNED_IN, back="/settings/notifications")
async def notifications_save(post: FormPost) -> Response:
    # Staff switches are left alone for others, who are not shown them.
    staff = post.account["role"] in notification_mail.STAFF_ROLES
    names = [n for n in notification_mail.DEFAULTS if staff or n not in notification_mail.STAFF]
    switches = {name: post.form.get(name) == "on" for name in names}
    await notification_mail.set_preferences(runtime(), post.account["account_id"], switches)
    return post.done("mail")


@blueprint.route("/unsubscribe", methods=["GET", "POST"])
async def unsubscribe() -> Response:
    """An e-mailed way out: GET asks to confirm, POST (the button, or a mail client's
    RFC 8058 one-click `List-Unsubscribe=One-Click`) turns that kind of mail off. The
    signed token is the authority: no sign-in, no CSRF token."""
    rt = runtime()
    token = request.args.get("token", "")[:1000]
    kind = request.args.get("type", "")[:40]
    try:
        if request.method == "GET":
            await notification_mail.check_unsubscribe(rt, token, kind)
            return await page(
                "unsubscribe.html", viewer=None, label=notification_mail.LABELS[kind], done=False
            )
        email = await notification_mail.unsubscribe(rt, token, kind)
    except notification_mail.UnsubscribeInvalid as exc:
        return await page("message.html", 400, viewer=None, heading="Unsubscribe", message=str(exc))
    return await page(
        "unsubscribe.html",
        viewer=None,
        label=notification_mail.LABELS[kind],
        email=email,
        done=True,
    )


# Account: e-mail, password, two-factor ----------------------------------------------------------


async def _account_page(viewer: Row, status: int = 200, **context: Any) -> Response:
    rt = runtime()
    user = await account_settings.user_of(rt, viewer["account_id"])
    return await NOTICES.page(
        "settings/account.html",
        status,
        email=user["email"],
        pending_email=await account_settings.pending_email(rt, viewer["account_id"]),
        otp_enabled=await totp.is_enabled(rt, user["user_id"]),
        recovery_left=await totp.recovery_codes_left(rt, user["user_id"]),
        **context,
    )


@blueprint.route("/settings/account")
@viewer_page()
async def account_page(viewer: Row) -> Response:
    return await _account_page(viewer)


@blueprint.route("/settings/account/email", methods=["POST"])
@form_post(SIGNED_IN, back="/settings/account", limit=("settings", SETTINGS_LIMIT))
async def email_change(post: FormPost) -> Response:
    form, viewer = post.form, post.account
    try:
        at_once = await account_settings.request_email_change(
            runtime(),
            viewer["account_id"],
            str(form.get("current_password", "")),
            str(form.get("email", ""))[:320],
        )
    except account_settings.SettingsError as exc:
        return await _account_page(viewer, 422, email_error=str(exc))
    return post.done("email_changed" if at_once else "email_sent")


@blueprint.route("/settings/account/confirm_email")
async def email_confirm() -> Response:
    try:
        email = await account_settings.confirm_email_change(
            runtime(), request.args.get("token", "")[:500]
        )
    except account_settings.SettingsError as exc:
        return await page("message.html", 400, heading="Confirmation failed", message=str(exc))
    return await page(
        "message.html", heading="Address changed", message=f"Your address is now {email}."
    )


@blueprint.route("/settings/account/password", methods=["POST"])
@form_post(SIGNED_IN, back="/settings/account", limit=("settings", SETTINGS_LIMIT))
async def password_change(post: FormPost) -> Response:
    form, viewer = post.form, post.account
    new = str(form.get("password", ""))
    if new != str(form.get("password_confirmation", "")):
        return await _account_page(viewer, 422, password_error="The two new passwords differ")
    rt = runtime()
    try:
        await account_settings.change_password(
            rt, viewer["account_id"], str(form.get("current_password", "")), new
        )
    except account_settings.SettingsError as exc:
        return await _account_page(viewer, 422, password_error=str(exc))
    # Every session ended with the change; this browser gets a fresh one.
    return await start_browser_session(post.done("password"), viewer["account_id"])


@blueprint.route("/settings/two_factor", methods=["GET"])
@viewer_page()
async def two_factor_page(viewer: Row) -> Response:
    rt = runtime()
    user = await account_settings.user_of(rt, viewer["account_id"])
    label = f"{viewer['username']}@{rt.config.domain}"
    return await NOTICES.page(
        "settings/two_factor.html",
        enabled=await totp.is_enabled(rt, user["user_id"]),
        setup=await totp.pending_setup(rt, user["user_id"], label),
        codes=None,
        error=None,
    )


@blueprint.route("/settings/two_factor", methods=["POST"])
@form_post(SIGNED_IN, back="/settings/two_factor", limit=("settings", SETTINGS_LIMIT))
async def two_factor_change(post: FormPost) -> Response:
    form, viewer = post.form, post.account
    rt = runtime()
    user = await account_settings.user_of(rt, viewer["account_id"])
    label = f"{viewer['username']}@{rt.config.domain}"
    action = form.get("action")
    try:
        if action == "setup":
            await account_settings.check_password(
                rt, viewer["account_id"], str(form.get("current_password", ""))
            )
            setup = await totp.begin_setup(rt, user["user_id"], label)
            return await NOTICES.page(
                "settings/two_factor.html", enabled=False, setup=setup, codes=None, error=None
            )
        if action == "confirm":
            codes = await totp.confirm_setup(rt, user["user_id"], str(form.get("code", "")))
            return await NOTICES.page(
                "settings/two_factor.html", enabled=True, setup=None, codes=codes, error=None
            )
        if action == "disable":
            await account_settings.check_password(
                rt, viewer["account_id"], str(form.get("current_password", ""))
            )
            await totp.disable(rt, user["user_id"])
            return post.done("otp_disabled", to="/settings/account")
    except (account_settings.SettingsError, totp.TotpError) as exc:
        return await NOTICES.page(
            "settings/two_factor.html",
            422,
            enabled=await totp.is_enabled(rt, user["user_id"]),
            setup=await totp.pending_setup(rt, user["user_id"], label),
            codes=None,
            error=str(exc),
        )
    return await page("message.html", 400, heading="Unknown action", message="Nothing changed.")


# Security keys ---------------------------------------------------------------------------------


async def _security_keys_page(
    viewer: Row, status: int = 200, error: str | None = None, nickname: str = ""
) -> Response:
    rt = runtime()
    user = await account_settings.user_of(rt, viewer["account_id"])
    enabled = await totp.is_enabled(rt, user["user_id"])
    return await NOTICES.page(
        "settings/security_keys.html",
        status,
        otp_enabled=enabled,
        keys=[
            {
                "id": k["id"],
                "nickname": k["nickname"],
                "added": iso_ms(k["created_at"]),
                "used": iso_ms(k["last_used_at"]) if k["last_used_at"] else None,
            }
            for k in await webauthn_keys.keys(rt, user["user_id"])
        ],
        # Only with the app on may a key be added (as Mastodon).
        challenge=await webauthn_keys.registration_challenge(rt, user) if enabled else None,
        error=error,
        nickname=nickname,
        with_script=True,
    )


@blueprint.route("/settings/security_keys")
@viewer_page()
async def security_keys_page(viewer: Row) -> Response:
    return await _security_keys_page(viewer)


@blueprint.route("/settings/security_keys", methods=["POST"])
@form_post(SIGNED_IN, limit=("settings", SETTINGS_LIMIT))
async def security_key_add(post: FormPost) -> Response:
    form, viewer = post.form, post.account
    rt = runtime()
    user = await account_settings.user_of(rt, viewer["account_id"])
    nickname = str(form.get("nickname", ""))[:1000]
    try:
        await webauthn_keys.register(
            rt,
            user["user_id"],
            nickname,
            str(form.get("credential", "")),
            str(form.get("challenge", "")),
        )
    except webauthn_keys.WebauthnError as exc:
        return await _security_keys_page(viewer, 422, str(exc), nickname.strip()[:100])
    return post.done("key_added")


@blueprint.route("/settings/security_keys/<id:key_id>/delete", methods=["POST"])
@form_post(SIGNED_IN, back="/settings/security_keys")
async def security_key_remove(post: FormPost, key_id: int) -> Response:
    rt = runtime()
    user = await account_settings.user_of(rt, post.account["account_id"])
    try:
        await webauthn_keys.remove(rt, user["user_id"], key_id)
    except webauthn_keys.WebauthnError as exc:
        return await post.failed(str(exc), 404)
    return post.done("key_removed")


# Sessions --------------------------------------------------------------------------------------


@blueprint.route("/settings/sessions")
@viewer_page()
async def sessions_page(viewer: Row) -> Response:
    rows = await sessions.live_sessions(runtime(), viewer["account_id"])
    listed = [
        {
            "id": row["id"],
            "user_agent": row["user_agent"] or "Unknown browser",
            "ip": row["ip"],
            "created_at": iso_ms(row["created_at"]),
            "last_seen_at": iso_ms(row["last_seen_at"]),
            "current": row["id"] == viewer["session_id"],
        }
        for row in rows
    ]
    return await NOTICES.page(
        "settings/sessions.html", sessions=listed, idle_days=runtime().config.session_idle_days
    )


@blueprint.route("/settings/sessions/<id:session_id>/revoke", methods=["POST"])
@form_post(SIGNED_IN, back="/settings/sessions")
async def session_revoke(post: FormPost, session_id: int) -> Response:
    """Log one browser out; this browser's own session ends as a sign-out does."""
    viewer = post.account
    await sessions.revoke_session(runtime(), viewer["account_id"], session_id)
    if session_id == viewer["session_id"]:
        response = redirect("/auth/sign_in", 303)
        clear_session_cookie(response)
        return response
    return post.done("session_revoked")


# Authorized applications ---------------------------------------------------------------------


@blueprint.route("/settings/applications", methods=["GET"])
@viewer_page()
async def applications_page(viewer: Row) -> Response:
    apps = await oauth.authorized_applications(runtime(), viewer["account_id"])
    return await page("applications.html", apps=apps)


@blueprint.route("/settings/applications/<id:app_id>/revoke", methods=["POST"])
@form_post(SIGNED_IN, back="/settings/applications")
async def revoke_application(post: FormPost, app_id: int) -> Response:
    await oauth.revoke_application_for_account(runtime(), app_id, post.account["account_id"])
    return redirect(post.back, 303)


# Import and export -----------------------------------------------------------------------------


@blueprint.route("/settings/export")
@viewer_page()
async def export_page(viewer: Row) -> Response:
    return await _export_page(viewer)


async def _export_page(viewer: Row, status: int = 200, error: str | None = None) -> Response:
    rt = runtime()
    found = await imports.imports_of(rt, viewer["account_id"])
    made = await archives.archives_of(rt, viewer["account_id"])
    return await NOTICES.page(
        "settings/export.html",
        status,
        kinds=exports.FILENAMES,
        types=IMPORT_TYPES,
        imports=found,
        archives=made,
        importing=any(i.state == "running" for i in found),
        building=any(a["state"] == "building" for a in made),
        max_file_bytes=imports.MAX_FILE_BYTES,
        error=error,
    )


@blueprint.route("/settings/export/<kind>.csv")
@viewer_page()
async def export_file(viewer: Row, kind: str) -> Response:
    if kind not in exports.KINDS:
        return await page("message.html", 404, heading="Not found", message="No such export.")
    chunks = exports.export_csv(runtime(), viewer["account_id"], kind)
    response = Response(chunks, content_type="text/csv; charset=utf-8")
    response.headers["Content-Disposition"] = f'attachment; filename="{exports.FILENAMES[kind]}"'
    return finish(response)


@blueprint.route("/settings/export/archive", methods=["POST"])
@form_post(SIGNED_IN, back="/settings/export")
async def request_archive(post: FormPost) -> Response:
    try:
        await archives.request(runtime(), post.account["account_id"])
    except archives.ArchiveRefused as exc:
        return await _export_page(post.account, 422, str(exc))
    return post.done("archive_requested")


@blueprint.route("/settings/export/archive/<id:archive_id>.zip")
@viewer_page()
async def download_archive(viewer: Row, archive_id: int) -> Response:
    """The owner's archive: a redirect to a short-lived signed URL (S3), else the file."""
    found = await archives.download(runtime(), viewer["account_id"], archive_id, viewer["username"])
    if found is None:
        return await page("message.html", 404, heading="Not found", message="No such archive.")
    if found.url is not None:
        return redirect(found.url, 303)
    response = Response(found.chunks, content_type="application/zip")
    response.headers["Content-Disposition"] = f'attachment; filename="{found.name}"'
    return finish(response)


# What each import type's form choice says (Mastodon's import types).
IMPORT_TYPES = {
    "following": "Accounts to follow",
    "blocking": "Accounts to block",
    "muting": "Accounts to mute",
    "domain_blocking": "Domains to hide",
    "bookmarks": "Bookmarks",
    "lists": "Lists",
    "archive": "Posts from a Mastodon archive (zip)",
}


#: The import form's body: Mastodon's largest file and the form's other fields. The app's
#: limit for every other route stays as it is (assembled in http/app.py).
IMPORT_FORM_BYTES = imports.MAX_FILE_BYTES + 64 * 1024
LARGER_BODIES = {"/settings/import": IMPORT_FORM_BYTES}


@blueprint.errorhandler(RequestEntityTooLarge)
async def _too_large(exc: RequestEntityTooLarge) -> Response | RequestEntityTooLarge:
    """A file past the import form's limit: the page says so, as for one that came in
    whole but is too large (Mastodon's message), rather than a bare 413."""
    viewer = await signed_in()
    if request.endpoint != "settings.import_file" or viewer is None:
        return exc
    return await _export_page(viewer, 413, imports.FILE_TOO_LARGE)


@blueprint.route("/settings/import/<id:import_id>.json")
@viewer_page()
async def import_progress(viewer: Row, import_id: int) -> Response:
    """One import's progress for the settings page's script (which polls it while the
    import runs; without the script the page reloads itself)."""
    found = await imports.progress(runtime(), viewer["account_id"], import_id)
    if found is None:
        return json_response({"error": "Record not found"}, 404)
    body = {
        "id": str(found.id),
        "state": found.state,
        "total": found.total,
        "done": found.done,
        "failed": found.failed,
        "left": found.left,
        "failures": [{"what": f.what, "reason": f.reason} for f in found.failures],
    }
    return finish(json_response(body))


@blueprint.route("/settings/import", methods=["POST"])
@form_post(SIGNED_IN, back="/settings/export")
async def import_file(post: FormPost) -> Response:
    form, viewer = post.form, post.account
    files = await request.files
    upload = files.get("file")
    data = upload.read() if upload is not None else b""
    try:
        if upload is None or not upload.filename:
            raise imports.ImportRefused("Choose a file")
        kind = str(form.get("type", ""))
        if kind == "archive":
            await imports.start_archive(runtime(), viewer["account_id"], upload.filename, data)
        else:
            mode = str(form.get("mode", "merge"))
            await imports.start(runtime(), viewer["account_id"], kind, mode, upload.filename, data)
    except imports.ImportRefused as exc:
        return await _export_page(viewer, 422, str(exc))
    return post.done("import_started")


# Aliases and moving ----------------------------------------------------------------------------


async def _aliases_page(viewer: Row, status: int = 200, error: str | None = None) -> Response:
    rt = runtime()
    row = await profiles.account(rt, viewer["account_id"])
    assert row is not None
    moved_to = None
    if row["moved_to_account_id"] is not None:
        target = await profiles.account(rt, row["moved_to_account_id"])
        moved_to = account_entity(rt.config, target) if target else None
    return await NOTICES.page(
        "settings/aliases.html",
        status,
        aliases=json.loads(row["also_known_as"] or "[]"),
        moved_to=moved_to,
        handle=f"{row['username']}@{rt.config.domain}",
        error=error,
    )


@blueprint.route("/settings/aliases")
@viewer_page()
async def aliases_page(viewer: Row) -> Response:
    return await _aliases_page(viewer)


@blueprint.route("/settings/aliases", methods=["POST"])
@form_post(SIGNED_IN, back="/settings/aliases", limit=("settings", SETTINGS_LIMIT))
async def aliases_change(post: FormPost) -> Response:
    """Add or remove an alias, or move to another account, through services/moves."""
    form, viewer = post.form, post.account
    rt = runtime()
    action = form.get("action")
    target = str(form.get("acct", "")).strip()[:400]
    me = await profiles.account(rt, viewer["account_id"])
    assert me is not None
    try:
        if action == "add":
            await moves.add_alias(rt, me["username"], target)
        elif action == "remove":
            await moves.remove_alias(rt, me["username"], target)
        elif action == "move":
            await account_settings.check_password(
                rt, viewer["account_id"], str(form.get("current_password", ""))
            )
            await moves.start_move(rt, me["username"], target)
            return post.done("moved")
        else:
            return await _aliases_page(viewer, 400, "Unknown action")
    except account_settings.SettingsError as exc:
        return await _aliases_page(viewer, 422, str(exc))
    except (ValueError, LookupError, PermissionError) as exc:
        return await _aliases_page(viewer, 422, str(exc) or "That account cannot be used")
    return post.done("alias")


# Deleting the account --------------------------------------------------------------------------


@blueprint.route("/settings/delete")
@viewer_page()
async def delete_page(_viewer: Row) -> Response:
    return await NOTICES.page("settings/delete.html", error=None)


@blueprint.route("/settings/delete", methods=["POST"])
@form_post(SIGNED_IN, back="/settings/delete", limit=("settings", SETTINGS_LIMIT))
async def delete_account(post: FormPost) -> Response:
    form, viewer = post.form, post.account
    rt = runtime()
    if viewer["role"] == "admin":
        return await NOTICES.page(
            "settings/delete.html", 403, error="An admin account cannot delete itself here."
        )
    try:
        await account_settings.delete_account(
            rt, viewer["account_id"], str(form.get("current_password", ""))
        )
    except account_settings.SettingsError as exc:
        return await NOTICES.page("settings/delete.html", 422, error=str(exc))
    response = await page(
        "message.html",
        viewer=None,
        heading="Account deleted",
        message="Your account and its posts are gone. Goodbye!",
    )
    if request.cookies.get(SESSION_COOKIE):
        clear_session_cookie(response)
    return response
