"""What the discovery endpoints report: instance facts gathered from settings and the store."""

from __future__ import annotations

import base64

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from ..config import Config
from ..ids import now_ms
from ..runtime import Runtime
from ..store import Connection
from ..store import accounts as account_rows
from ..store import instance as instance_rows
from ..store.rows import AccountRow
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
