"""The `/auth/` pages: sign-up, sign-in (password, two-factor, or a trusted identity
header) and sign-out, and the pages behind e-mailed links."""

from __future__ import annotations

from urllib.parse import urlencode

from quart import Response, current_app, request

from ...services import account_mail, oauth, sessions, totp, webauthn_keys
from ...services import instance as instance_service
from ...services.access_jwt import AccessDenied, AccessIdentity, AccessVerifier
from ...services.accounts import AccountError, create_local_account
from ...services.registrations import RegistrationClosed, sign_up
from ...services.types import Row
from ..auth import (
    LOGIN_LIMIT_ACCOUNT,
    LOGIN_LIMIT_IP,
    SIGN_UP_LIMIT_IP,
    check_limit,
    client_ip,
)
from ..browser import (
    SESSION_COOKIE,
    FormPost,
    clear_session_cookie,
    forced_login,
    form_post,
    page,
    pages_blueprint,
    redirect,
    safe_next,
    signed_in,
    start_browser_session,
)
from ..context import runtime

blueprint = pages_blueprint("auth", __name__)


# E-mailed links --------------------------------------------------------------------------------


@blueprint.route("/auth/confirmation")
async def confirmation() -> Response:
    token = request.args.get("confirmation_token", "")[:500]
    try:
        user = await account_mail.confirm(runtime(), token)
    except account_mail.LinkInvalid as exc:
        return await page("message.html", 400, heading="Confirmation failed", message=str(exc))
    message = "Your e-mail address is confirmed."
    if not user["approved"]:
        message += " A moderator still has to approve your account before you can log in."
    else:
        message += " You can log in now."
    return await page("message.html", heading="Thank you!", message=message)


@blueprint.route("/auth/password/new", methods=["GET"])
async def password_new_page() -> Response:
    if not account_mail.mail_enabled(runtime()):
        return await page(
            "message.html",
            404,
            heading="Not available",
            message="This server sends no e-mail; ask its admin to reset it.",
        )
    return await page("password_new.html")


@blueprint.route("/auth/password/new", methods=["POST"])
@form_post(limit=("password_reset", LOGIN_LIMIT_IP))
async def password_new(post: FormPost) -> Response:
    if account_mail.mail_enabled(runtime()):
        email = str(post.form.get("email", ""))[:320]
        await account_mail.request_password_reset(runtime(), email)
    # The same answer whether or not the address is known: no account enumeration.
    return await page(
        "message.html",
        heading="Check your e-mail",
        message="If this address belongs to an account, a reset link is on its way.",
    )


@blueprint.route("/auth/password/edit", methods=["GET"])
async def password_edit_page() -> Response:
    token = request.args.get("reset_password_token", "")[:500]
    try:
        await account_mail.check_reset_link(runtime(), token)
    except account_mail.LinkInvalid as exc:
        return await page("message.html", 400, heading="Reset failed", message=str(exc))
    return await page("password_edit.html", token=token, error=None)


@blueprint.route("/auth/password/edit", methods=["POST"])
@form_post()
async def password_edit(post: FormPost) -> Response:
    form = post.form
    token = str(form.get("reset_password_token", ""))[:500]
    try:
        await account_mail.reset_password(runtime(), token, str(form.get("password", "")))
    except account_mail.LinkInvalid as exc:
        return await page("message.html", 400, heading="Reset failed", message=str(exc))
    except ValueError as exc:
        return await page("password_edit.html", 422, token=token, error=str(exc))
    return await page(
        "message.html",
        heading="Password changed",
        message="Your password was changed. Log in with the new one.",
    )


# Sign-up --------------------------------------------------------------------------------------


async def _sign_up_page(
    status: int = 200, errors: list[str] | None = None, form: dict[str, str] | None = None
) -> Response:
    rt = runtime()
    facts = await instance_service.instance_facts(rt)
    return await page(
        "sign_up.html",
        status,
        errors=errors or [],
        form=form or {"username": "", "email": "", "reason": ""},
        rules=facts.rules,
        approval=facts.site.registrations == "approval",
    )


@blueprint.route("/auth/sign_up", methods=["GET"])
async def sign_up_page() -> Response:
    if (await instance_service.site(runtime())).registrations == "closed":
        return await page(
            "message.html",
            403,
            heading="Registrations are closed",
            message="This server is not accepting new accounts.",
        )
    return await _sign_up_page()


@blueprint.route("/auth/sign_up", methods=["POST"])
@form_post(limit=("sign_up", SIGN_UP_LIMIT_IP))
async def sign_up_submit(post: FormPost) -> Response:
    rt = runtime()
    form = post.form
    values = {k: str(form.get(k, ""))[:1000] for k in ("username", "email", "reason")}
    try:
        await sign_up(
            rt,
            username=values["username"].strip(),
            email=values["email"].strip(),
            password=str(form.get("password", ""))[:1000],
            agreement=form.get("agreement") in ("1", "on", "true"),
            reason=values["reason"],
            locale="en",
            application_id=None,
            scopes=[],
            ip=client_ip(),
        )
    except RegistrationClosed as exc:
        return await page("message.html", 403, heading="Registrations are closed", message=str(exc))
    except AccountError as exc:
        return await _sign_up_page(
            422, [f"{exc.field.replace('_', ' ').capitalize()}: {exc}"], values
        )
    if (await instance_service.site(rt)).registrations == "approval":
        message = "Your account is waiting for a moderator's approval; you can log in after."
    else:
        message = "Your account is ready: you can log in now."
    return await page("message.html", heading="Welcome!", message=message)


# Signing in and out --------------------------------------------------------------------------


@blueprint.route("/auth/sign_in", methods=["GET"])
async def sign_in_page() -> Response:
    target = safe_next(request.args.get("next"))
    forced = forced_login(request.args)
    if await signed_in() is not None and request.args.get("next") and not forced:
        return redirect(target)
    via_header = await sign_in_with_header(target)
    if via_header is not None:
        return via_header
    return await _sign_in_form(200, target, "", None)


async def _sign_in_form(status: int, target: str, email: str, error: str | None) -> Response:
    """The form; a signed-in viewer is told that submitting it switches accounts."""
    rt = runtime()
    site = await instance_service.site(rt)
    return await page(
        "sign_in.html",
        status,
        next=target,
        email=email,
        error=error,
        registrations_open=site.registrations != "closed",
        mail_enabled=account_mail.mail_enabled(rt),
    )


@blueprint.route("/auth/sign_in", methods=["POST"])
@form_post(limit=("login", LOGIN_LIMIT_IP))
async def sign_in(post: FormPost) -> Response:
    rt = runtime()
    form = post.form
    email = str(form.get("email", ""))[:320]
    target = safe_next(form.get("next"))
    check_limit(f"login:account:{email.lower()}", LOGIN_LIMIT_ACCOUNT)
    try:
        user = await oauth.check_login(rt, email, str(form.get("password", ""))[:1000])
    except oauth.LoginError as exc:
        return await _sign_in_form(401, target, email, str(exc))
    if await totp.is_enabled(rt, user["user_id"]):
        return await two_factor_challenge(user, target)
    return await start_browser_session(redirect(target), user["account_id"])


@blueprint.route("/auth/sign_out", methods=["POST"])
@form_post()
async def sign_out(post: FormPost) -> Response:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        await sessions.end_session(runtime(), token)
    response = redirect("/")
    clear_session_cookie(response)
    return response


# Two-factor sign-in ----------------------------------------------------------------------------

TWO_FACTOR_COOKIE = "wb_2fa"


async def two_factor_challenge(user: Row, target: str) -> Response:
    """After a right password, when two-factor is on: ask for the code before a session.

    The short-lived cookie carries the proof of the password step.
    """
    response = redirect("/auth/two_factor?" + urlencode({"next": target}))
    response.set_cookie(
        TWO_FACTOR_COOKIE,
        sessions.two_factor_ticket(runtime(), user),
        httponly=True,
        samesite="Lax",
        secure=runtime().config.scheme == "https",
        path="/auth/two_factor",
        max_age=sessions.TWO_FACTOR_TTL,
    )
    return response


async def _password_step_user() -> Row | None:
    """The user whose password step this browser passed (from the cookie), or None."""
    return await sessions.two_factor_user(
        runtime(), request.cookies.get(TWO_FACTOR_COOKIE, "")[:200]
    )


async def _two_factor_form(user: Row, target: str, status: int, error: str | None) -> Response:
    """The code form, and the security-key form when the user has keys."""
    return await page(
        "two_factor_login.html",
        status,
        next=target,
        error=error,
        challenge=await webauthn_keys.sign_in_challenge(runtime(), user["user_id"]),
        with_script=True,
    )


@blueprint.route("/auth/two_factor", methods=["GET"])
async def two_factor_page() -> Response:
    user = await _password_step_user()
    if user is None:
        return redirect("/auth/sign_in")
    return await _two_factor_form(user, safe_next(request.args.get("next")), 200, None)


async def _second_factor_passed(user: Row, target: str) -> Response:
    response = await start_browser_session(redirect(target), user["account_id"])
    response.delete_cookie(TWO_FACTOR_COOKIE, path="/auth/two_factor")
    return response


async def _second_step(form: FormPost) -> tuple[str, Row | None, Response | None]:
    """The target, the user whose password step this browser passed (within its limit of
    tries), or where to go instead: back to the password without that step."""
    target = safe_next(form.form.get("next"))
    user = await _password_step_user()
    if user is None:
        return target, None, redirect("/auth/sign_in?" + urlencode({"next": target}))
    check_limit(f"login:otp:{user['user_id']}", LOGIN_LIMIT_ACCOUNT)
    return target, user, None


@blueprint.route("/auth/two_factor", methods=["POST"])
@form_post(limit=("login", LOGIN_LIMIT_IP))
async def two_factor_sign_in(post: FormPost) -> Response:
    target, user, elsewhere = await _second_step(post)
    if user is None:
        assert elsewhere is not None
        return elsewhere
    if not await totp.verify(runtime(), user["user_id"], str(post.form.get("code", ""))):
        return await _two_factor_form(user, target, 401, "That code is not right.")
    return await _second_factor_passed(user, target)


@blueprint.route("/auth/two_factor/webauthn", methods=["POST"])
@form_post(limit=("login", LOGIN_LIMIT_IP))
async def two_factor_key_sign_in(post: FormPost) -> Response:
    """The second step answered by a security key (its answer made by the page script)."""
    target, user, elsewhere = await _second_step(post)
    if user is None:
        assert elsewhere is not None
        return elsewhere
    if not await webauthn_keys.check_sign_in(
        runtime(),
        user["user_id"],
        str(post.form.get("credential", "")),
        str(post.form.get("challenge", "")),
    ):
        return await _two_factor_form(
            user, target, 401, "The security key was not accepted; try again or use a code."
        )
    return await _second_factor_passed(user, target)


# Trusted identity header (Cloudflare Access and the like) ---------------------------------------


def access_verifier() -> AccessVerifier | None:
    return current_app.extensions.get("wildebeest.access")  # type: ignore[no-any-return]


async def access_identity() -> AccessIdentity | None:
    """The identity a valid trusted header asserts, or None (mode off, no or bad header)."""
    verifier = access_verifier()
    if verifier is None:
        return None
    token = request.headers.get(verifier.header)
    if not token:
        return None
    try:
        return await verifier.verify(token)
    except AccessDenied as exc:
        current_app.logger.info("trusted identity header refused: %s", exc)
        return None


async def sign_in_with_header(target: str) -> Response | None:
    """Sign in through the trusted header, or send a newcomer to the first-login page."""
    identity = await access_identity()
    if identity is None:
        return None
    user = await sessions.user_with_email(runtime(), identity.email)
    if user is None:
        return redirect("/auth/first_login?" + urlencode({"next": target}))
    if user["disabled"] or user["suspended_at"] is not None or not user["approved"]:
        return await page(
            "message.html",
            403,
            heading="Account unavailable",
            message="Your account is disabled or waiting for approval.",
        )
    return await start_browser_session(redirect(target), user["account_id"])


@blueprint.route("/auth/first_login", methods=["GET"])
async def first_login_page() -> Response:
    identity = await access_identity()
    if identity is None:
        return await page(
            "message.html",
            403,
            heading="Not signed in",
            message="Your identity provider did not vouch for this request.",
        )
    suggestion = identity.email.split("@")[0]
    suggestion = "".join(c for c in suggestion if c.isalnum() or c == "_")[:30]
    return await page(
        "first_login.html",
        email=identity.email,
        next=safe_next(request.args.get("next")),
        username=suggestion,
        display_name="",
        error=None,
    )


@blueprint.route("/auth/first_login", methods=["POST"])
@form_post()
async def first_login(post: FormPost) -> Response:
    form = post.form
    # Re-checked here: the identity of the GET is not trusted for the POST.
    identity = await access_identity()
    if identity is None:
        return await page(
            "message.html",
            403,
            heading="Not signed in",
            message="Your identity provider did not vouch for this request.",
        )
    rt = runtime()
    target = safe_next(form.get("next"))
    username = str(form.get("username", "")).strip()[:100]
    display_name = str(form.get("display_name", "")).strip()[:100]
    if await sessions.user_with_email(rt, identity.email) is None:
        try:
            await create_local_account(
                rt,
                username,
                identity.email,
                password=None,
                generate_password=False,
                display_name=display_name,
            )
        except AccountError as exc:
            return await page(
                "first_login.html",
                422,
                email=identity.email,
                next=target,
                username=username,
                display_name=display_name,
                error=str(exc),
            )
    response = await sign_in_with_header(target)
    assert response is not None
    return response
