"""The sign-up page and the instance's front page."""

from __future__ import annotations

import nh3
from quart import Blueprint, Response, request

from ...serializers.accounts import account_entity
from ...services import instance as instance_service
from ...services.accounts import AccountError
from ...services.registrations import RegistrationClosed, sign_up
from ..auth import SIGN_UP_LIMIT_IP, check_client_limit
from ..browser import check_csrf, page, signed_in
from ..context import runtime

blueprint = Blueprint("pages", __name__)


@blueprint.route("/")
@blueprint.route("/about")
async def home() -> Response:
    """About the instance: description, rules, who runs it, and how to join."""
    rt = runtime()
    facts = await instance_service.instance_facts(rt)
    contact = None
    if facts.contact is not None:
        contact = account_entity(rt.config, facts.contact)
    response = await page(
        "home.html",
        description=facts.site.description,
        extended=nh3.clean(facts.extended_description) if facts.extended_description else "",
        rules=facts.rules,
        account=await signed_in(),
        registrations=facts.site.registrations,
        registrations_open=facts.site.registrations != "closed",
        users=facts.stats["user_count"],
        statuses=facts.stats.get("status_count", 0),
        contact=contact,
    )
    response.headers["Vary"] = "Accept, Cookie"
    return response


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
async def sign_up_submit() -> Response:
    rt = runtime()
    form = await request.form
    check_csrf(form)
    check_client_limit("sign_up", SIGN_UP_LIMIT_IP)
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
