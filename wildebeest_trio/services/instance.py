"""What the discovery endpoints report: instance facts gathered from settings and the store."""

from __future__ import annotations

import base64
import datetime as dt

import nh3
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from ..config import Config
from ..ids import ms_to_min_id, now_ms
from ..runtime import Runtime
from ..store import Connection
from ..store import accounts as account_rows
from ..store import activity as activity_rows
from ..store import instance as instance_rows
from ..store import terms as terms_rows
from ..store.rows import AccountRow, TermsOfServiceRow
from ..views import InstanceFacts, Site


def generate_vapid_keys() -> dict[str, str]:
    """A P-256 key pair for Web Push (VAPID), base64url as Mastodon publishes it."""
    key = ec.generate_private_key(ec.SECP256R1())
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    point = key.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    public = base64.urlsafe_b64encode(point).decode().rstrip("=")
    return {"private_pem": private, "public_key": public}


async def ensure_instance_keys(rt: Runtime) -> None:
    """Create the instance's VAPID key pair on first start (kept in the database)."""
    await rt.store.write(
        instance_rows.setting_if_absent, "vapid_keys", generate_vapid_keys(), now_ms()
    )


REGISTRATION_MODES = ("open", "approval", "closed")
MAX_TITLE = 200
MAX_DESCRIPTION = 1000


async def read_site(conn: Connection, config: Config) -> Site:
    """The current site settings (inside a unit, e.g. to title an e-mail)."""
    stored = await instance_rows.setting_object(conn, "site") or {}

    def text(key: str) -> str | None:
        value = stored.get(key)
        return value if isinstance(value, str) else None

    description = text("description")
    return Site(
        title=text("title") or config.instance_title,
        description=config.instance_description if description is None else description,
        registrations=text("registrations") or config.registrations,
    )


async def set_site(rt: Runtime, *, title: str, description: str, registrations: str) -> Site:
    """Change the site settings from the admin pages; ValueError for what cannot be stored."""
    title, description = title.strip(), description.strip()
    if not title:
        raise ValueError("The server needs a title")
    if len(title) > MAX_TITLE:
        raise ValueError(f"The title is at most {MAX_TITLE} characters")
    if len(description) > MAX_DESCRIPTION:
        raise ValueError(f"The description is at most {MAX_DESCRIPTION} characters")
    if registrations not in REGISTRATION_MODES:
        raise ValueError("Registrations are open, approval or closed")
    site = {"title": title, "description": description, "registrations": registrations}
    await rt.store.write(instance_rows.put_setting, "site", site, now_ms())
    return Site(**site)


async def site(rt: Runtime) -> Site:
    """The current site settings (cached with the other instance facts)."""
    return (await instance_facts(rt)).site


async def _read_facts(conn: Connection, config: Config, now: int) -> InstanceFacts:
    contact_name = await instance_rows.setting_text(conn, "contact_username")
    contact: AccountRow | None = None
    if contact_name:
        contact = await account_rows.local_account_by_username(conn, contact_name)
    if contact is None:
        contact = await account_rows.first_admin(conn)
    vapid = await instance_rows.setting_object(conn, "vapid_keys") or {}
    vapid_public_key = vapid.get("public_key")
    return InstanceFacts(
        stats=await instance_rows.stats(conn, now),
        rules=await instance_rows.rules(conn),
        contact=contact,
        vapid_public_key=vapid_public_key if isinstance(vapid_public_key, str) else None,
        extended_description=await instance_rows.setting_text(conn, "extended_description") or "",
        extended_description_updated_at=await instance_rows.setting_updated_at(
            conn, "extended_description"
        ),
        site=await read_site(conn, config),
        privacy_policy=await instance_rows.setting_text(conn, "privacy_policy") or "",
        privacy_policy_updated_at=await instance_rows.setting_updated_at(conn, "privacy_policy"),
        terms=await terms_rows.all_versions(conn),
    )


async def instance_facts(rt: Runtime) -> InstanceFacts:
    """The facts the instance endpoints show (cached briefly; local writes invalidate)."""

    async def load() -> InstanceFacts:
        return await rt.store.read(_read_facts, rt.config, now_ms())

    return await rt.instance_facts.get(load)


async def peers(rt: Runtime) -> list[str]:
    """Remote domains this server knows."""
    return await rt.store.read(instance_rows.peers)


async def add_rule(rt: Runtime, text: str, hint: str = "") -> int:
    """Add a server rule; its id."""
    text = text.strip()
    if not text:
        raise ValueError("a rule needs text")
    if len(text) > 300:
        raise ValueError("a rule is at most 300 characters")
    rule_id = rt.ids.next_id()
    await rt.store.write(instance_rows.insert_rule, rule_id, text, hint.strip(), now_ms())
    return rule_id


async def remove_rule(rt: Runtime, rule_id: int) -> bool:
    """Remove a server rule."""
    removed = await rt.store.write(instance_rows.delete_rule, rule_id, now_ms())
    return removed


async def set_extended_description(rt: Runtime, html: str) -> None:
    """Set the instance's long description (HTML)."""
    await rt.store.write(instance_rows.put_setting, "extended_description", html, now_ms())


MAX_POLICY = 100_000


def _clean_policy(html: str, what: str) -> str:
    html = html.strip()
    if len(html) > MAX_POLICY:
        raise ValueError(f"The {what} is at most {MAX_POLICY} characters")
    # Admins write HTML; scripts, styles and event handlers never reach a reader.
    return nh3.clean(html)


async def set_privacy_policy(rt: Runtime, html: str) -> None:
    """Set the privacy policy (HTML, sanitized); empty restores the default text."""
    await rt.store.write(
        instance_rows.put_setting, "privacy_policy", _clean_policy(html, "privacy policy"), now_ms()
    )


def default_privacy_policy(config: Config) -> str:
    """What the privacy policy says until an admin writes one."""
    return (
        f"<p>{config.domain} keeps what you post, the people you follow and the settings you "
        "choose, to run your account and to deliver your posts to the servers of the people "
        "who may see them. It keeps no more than that and sells nothing.</p>"
        "<p>Posts you delete are deleted here and a deletion is sent to the servers that "
        "received them. To remove your account, use the account settings page.</p>"
    )


def _parse_date(text: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text) if len(text) == 10 else None
    except ValueError:
        return None


async def put_terms(rt: Runtime, *, effective_date: str, html: str, changelog: str = "") -> None:
    """Add (or rewrite) the terms of service that take effect on `effective_date`."""
    date = _parse_date(effective_date.strip())
    if date is None:
        raise ValueError("The effective date is a date, YYYY-MM-DD")
    content = _clean_policy(html, "terms of service")
    if not content:
        raise ValueError("The terms of service need text")
    await rt.store.write(
        terms_rows.put_version,
        version_id=rt.ids.next_id(),
        effective_date=date.isoformat(),
        content=content,
        changelog=_clean_policy(changelog, "summary of changes"),
        now=now_ms(),
    )


async def delete_terms(rt: Runtime, effective_date: str) -> bool:
    """Withdraw the terms of service of a date."""
    removed: bool = await rt.store.write(terms_rows.delete_version, effective_date)
    return removed


def today() -> str:
    """Today's date in UTC, as terms of service are dated."""
    return dt.datetime.now(dt.UTC).date().isoformat()


def terms_in_effect(facts: InstanceFacts, on: str) -> TermsOfServiceRow | None:
    """The terms of service in effect on a date: the latest whose date has come, else
    (before the first takes effect) the first to come, as Mastodon shows it."""
    for version in facts.terms:
        if version["effective_date"] <= on:
            return version
    return facts.terms[-1] if facts.terms else None


def terms_of_date(facts: InstanceFacts, date: str) -> TermsOfServiceRow | None:
    """The version of the terms that takes effect on `date`."""
    return next((t for t in facts.terms if t["effective_date"] == date), None)


def terms_shown(facts: InstanceFacts, date: str | None) -> TermsOfServiceRow | None:
    """The version `/terms_of_service/:date` names, or the one in effect without a date."""
    return terms_in_effect(facts, today()) if date is None else terms_of_date(facts, date)


def terms_after(facts: InstanceFacts, version: TermsOfServiceRow) -> str | None:
    """The effective date of the version that replaces `version`, if any."""
    later = [
        t["effective_date"] for t in facts.terms if t["effective_date"] > version["effective_date"]
    ]
    return min(later) if later else None


ACTIVITY_WEEKS = 12


async def weekly_activity(rt: Runtime) -> list[dict[str, str]]:
    """The last twelve weeks, newest first: local statuses, people active, sign-ups
    (Mastodon's `GET /api/v1/instance/activity`)."""
    now = now_ms()
    this_week = activity_rows.week_start(now)
    since = this_week - (ACTIVITY_WEEKS - 1) * activity_rows.WEEK_MS
    counts = await rt.store.read(activity_rows.weekly_counts, since, ms_to_min_id(since))
    weeks = []
    for i in range(ACTIVITY_WEEKS):
        week = this_week - i * activity_rows.WEEK_MS
        weeks.append(
            {
                "week": str(week // 1000),
                "statuses": str(counts["statuses"].get(week, 0)),
                "logins": str(counts["logins"].get(week, 0)),
                "registrations": str(counts["registrations"].get(week, 0)),
            }
        )
    return weeks
