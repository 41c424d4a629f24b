"""The instance's front page: what it is about, its rules, who runs it, how to join."""

from __future__ import annotations

import nh3
from quart import Response

from ...serializers.accounts import account_entity
from ...services import instance as instance_service
from ..browser import page, pages_blueprint, signed_in
from ..context import runtime

blueprint = pages_blueprint("home", __name__)


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


@blueprint.route("/privacy-policy")
async def privacy_policy() -> Response:
    """The privacy policy an admin wrote (or the default one)."""
    rt = runtime()
    facts = await instance_service.instance_facts(rt)
    content = facts.privacy_policy or instance_service.default_privacy_policy(rt.config)
    return await page("document.html", heading="Privacy policy", content=content)


@blueprint.route("/terms-of-service")
@blueprint.route("/terms-of-service/<date>")
async def terms_of_service(date: str | None = None) -> Response:
    """The terms of service in effect (or of a date), with the other versions linked."""
    facts = await instance_service.instance_facts(runtime())
    today = instance_service.today()
    version = instance_service.terms_shown(facts, date)
    if version is None:
        return await page(
            "message.html",
            status=404,
            heading="Not found",
            message="There are no terms of service for that date.",
        )
    return await page(
        "document.html",
        heading="Terms of service",
        content=version["content"],
        effective=version["effective_date"],
        upcoming=version["effective_date"] > today,
        versions=[t["effective_date"] for t in facts.terms],
    )
