"""Reading and editing profiles: the account, its source text, preferences."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from ..federation import profile_links
from ..formatting import MentionTarget, plain_mentions, render_field_value, render_text
from ..ids import now_ms
from ..runtime import Runtime
from ..store import Connection, Row, RowView, outbox
from ..store import accounts as account_rows
from ..store import domain_blocks as block_rows
from ..store import featured_tags as featured_rows
from ..store import follows as follow_rows
from ..store import users as user_rows
from ..store.effects import INSTANCE_FACTS_CHANGED
from ..store.rows import AccountRow, FeaturedTagViewRow
from . import media

MAX_DISPLAY_NAME = 30
MAX_NOTE = 500
MAX_FIELDS = 4
MAX_FIELD_NAME = 255
MAX_FIELD_VALUE = 255
PRIVACY = ("public", "unlisted", "private", "direct")
# Mastodon's limit on `attribution_domains`, and what a domain name looks like.
MAX_ATTRIBUTION_DOMAINS = 10
DOMAIN_RE = re.compile(
    r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$"
)
QUOTE_POLICIES = ("public", "followers", "nobody")  # who may quote new posts (4.5)
DEFAULT_PREFERENCES = {
    "privacy": "public",
    "sensitive": False,
    "language": None,
    "quote_policy": "public",
}


# The profile settings Mastodon 4.6 shows in its Profile entity, and their defaults.
PROFILE_DEFAULTS: dict[str, Any] = {
    "avatar_description": "",
    "header_description": "",
    "show_featured": True,
    "show_media": True,
    "show_media_replies": True,
}
MAX_IMAGE_DESCRIPTION = 1500
# `GET /api/v1/accounts?id[]=`: at most this many at once (Mastodon's limit).
MAX_ACCOUNTS_AT_ONCE = 40
DIRECTORY_ORDERS = tuple(account_rows.DIRECTORY_ORDERS)


class ProfileError(ValueError):
    """A profile change that cannot be made; `field` names the input at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


async def account(rt: Runtime, account_id: int) -> Row | None:
    """An account by id, whatever its standing (callers hide suspended ones), with the
    account it moved to as `moved_account`."""

    async def unit(conn: Connection) -> Row | None:
        row = await account_rows.account_by_id(conn, account_id)
        return await _with_moved(conn, row)

    return await rt.store.read(unit)


async def _with_moved(conn: Connection, row: AccountRow | None) -> Row | None:
    """The account row with the account it moved to as `moved_account`."""
    if row is None:
        return None
    moved_to = row["moved_to_account_id"]
    moved = None if moved_to is None else await account_rows.account_by_id(conn, moved_to)
    return {**row, "moved_account": moved} if moved is not None else dict(row)


async def lookup(rt: Runtime, acct: str) -> Row | None:
    """An account by `user`, `@user`, `user@domain` (this domain means local)."""
    return await rt.store.read(lookup_in, rt.config.domain, acct)


async def lookup_in(conn: Connection, our_domain: str, acct: str) -> Row | None:
    """`lookup`'s read, for a unit that reads more beside it."""
    text = acct.strip().lstrip("@")
    username, _, domain = text.partition("@")
    if not username:
        return None
    domain_or_none = None if domain.lower() in ("", our_domain) else domain
    row = await account_rows.account_by_acct(conn, username, domain_or_none)
    return await _with_moved(conn, row)


async def public_profile(rt: Runtime, acct: str) -> Row | None:
    """The account a public profile page shows for `acct`: None when unknown, suspended,
    or on a domain this server suspends."""
    return await rt.store.read(public_profile_in, rt.config.domain, acct)


async def public_profile_in(conn: Connection, our_domain: str, acct: str) -> Row | None:
    """`public_profile`'s read (one unit), for a unit that reads more beside it."""
    row = await lookup_in(conn, our_domain, acct)
    if row is None or row["suspended_at"] is not None:
        return None
    if row["domain"] is not None and await block_rows.is_suspended(conn, row["domain"]):
        return None
    return row


@dataclass(frozen=True)
class Credentials:
    """What verify_credentials adds to the account: the user's source data and role."""

    account: RowView
    user: RowView
    preferences: dict[str, Any]
    follow_requests_count: int = 0


def _preferences_of(user: RowView) -> dict[str, Any]:
    settings = json.loads(user["settings"] or "{}")
    return {**DEFAULT_PREFERENCES, **settings.get("preferences", {})}


async def preferences(conn: Connection, account_id: int) -> dict[str, Any]:
    """A local account's posting defaults (privacy, sensitive, language, quote policy)."""
    user = await user_rows.user_by_account(conn, account_id)
    return _preferences_of(user) if user is not None else dict(DEFAULT_PREFERENCES)


async def credentials(rt: Runtime, account_id: int) -> Credentials | None:
    async def unit(conn: Connection) -> Credentials | None:
        row = await account_rows.account_by_id(conn, account_id)
        user = await user_rows.user_by_account(conn, account_id)
        if row is None or user is None:
            return None
        prefs = _preferences_of(user)
        requests = await follow_rows.pending_request_count(conn, account_id)
        return Credentials(row, user, prefs, requests)

    return await rt.store.read(unit)


async def _resolve_mentions(
    conn: Connection, rt: Runtime, text: str
) -> dict[tuple[str, str | None], MentionTarget]:
    pairs = [(u, None if d in (None, rt.config.domain) else d) for u, d in plain_mentions(text)]
    targets = {}
    for row in await account_rows.accounts_by_acct(conn, pairs):
        key = (row["username"].lower(), row["domain"].lower() if row["domain"] else None)
        targets[key] = MentionTarget(
            row["username"], row["domain"], row["url"] or row["uri"], row["id"]
        )
    return targets


def render_note(
    rt: Runtime, text: str, targets: dict[tuple[str, str | None], MentionTarget]
) -> str:
    def resolve(username: str, domain: str | None) -> MentionTarget | None:
        if domain is not None and domain.lower() == rt.config.domain:
            domain = None
        return targets.get((username.lower(), domain.lower() if domain else None))

    return render_text(
        text, resolve_mention=resolve, tag_url=lambda t: f"{rt.config.base_url}/tags/{t.lower()}"
    ).html


@dataclass
class ProfileChanges:
    """Validated `update_credentials` input; None means unchanged."""

    display_name: str | None = None
    note: str | None = None
    locked: bool | None = None
    bot: bool | None = None
    discoverable: bool | None = None
    indexable: bool | None = None
    hide_collections: bool | None = None
    fields: list[tuple[str, str]] | None = None
    avatar_key: str | None = None
    header_key: str | None = None
    privacy: str | None = None
    sensitive: bool | None = None
    language: str | None = None
    # Sites that may name this account as a page's author (Mastodon 4.3).
    attribution_domains: list[str] | None = None
    quote_policy: str | None = None
    # The profile's display settings (`PATCH /api/v1/profile`, 4.6), kept with the user.
    avatar_description: str | None = None
    header_description: str | None = None
    show_featured: bool | None = None
    show_media: bool | None = None
    show_media_replies: bool | None = None


def validate(changes: ProfileChanges) -> None:
    if changes.display_name is not None and len(changes.display_name) > MAX_DISPLAY_NAME:
        raise ProfileError(
            "display_name", f"is too long (maximum is {MAX_DISPLAY_NAME} characters)"
        )
    if changes.note is not None and len(changes.note) > MAX_NOTE:
        raise ProfileError("note", f"is too long (maximum is {MAX_NOTE} characters)")
    if changes.fields is not None:
        if len(changes.fields) > MAX_FIELDS:
            raise ProfileError("fields", f"at most {MAX_FIELDS} fields")
        for name, value in changes.fields:
            if len(name) > MAX_FIELD_NAME or len(value) > MAX_FIELD_VALUE:
                raise ProfileError("fields", "a field name or value is too long")
    if changes.attribution_domains is not None:
        if len(changes.attribution_domains) > MAX_ATTRIBUTION_DOMAINS:
            raise ProfileError("attribution_domains", f"at most {MAX_ATTRIBUTION_DOMAINS} domains")
        for domain in changes.attribution_domains:
            if not DOMAIN_RE.match(domain):
                raise ProfileError("attribution_domains", f"{domain} is not a valid domain")
    for name in ("avatar_description", "header_description"):
        text = getattr(changes, name)
        if text is not None and len(text) > MAX_IMAGE_DESCRIPTION:
            raise ProfileError(name, f"is too long (maximum is {MAX_IMAGE_DESCRIPTION} characters)")
    if changes.privacy is not None and changes.privacy not in PRIVACY:
        raise ProfileError("source[privacy]", f"must be one of {', '.join(PRIVACY)}")
    if changes.quote_policy is not None and changes.quote_policy not in QUOTE_POLICIES:
        raise ProfileError("source[quote_policy]", f"must be one of {', '.join(QUOTE_POLICIES)}")
    if changes.language is not None and not (
        changes.language == "" or (2 <= len(changes.language) <= 3 and changes.language.isalpha())
    ):
        raise ProfileError("source[language]", "must be an ISO 639 language code")


async def update(rt: Runtime, account_id: int, changes: ProfileChanges) -> None:
    """Apply profile changes in one transaction (notes and fields rendered to HTML)."""
    validate(changes)
    now = now_ms()

    async def unit(conn: Connection) -> None:
        columns: dict[str, Any] = {}
        if changes.display_name is not None:
            columns["display_name"] = changes.display_name.strip()
        if changes.note is not None:
            targets = await _resolve_mentions(conn, rt, changes.note)
            columns["note_source"] = changes.note
            columns["note"] = render_note(rt, changes.note, targets)
        for flag in ("locked", "bot", "discoverable", "indexable", "hide_collections"):
            value = getattr(changes, flag)
            if value is not None:
                columns[flag] = value
        if changes.bot is not None:
            columns["actor_type"] = "Service" if changes.bot else "Person"
        if changes.attribution_domains is not None:
            columns["attribution_domains"] = json.dumps(
                list(dict.fromkeys(changes.attribution_domains))
            )
        if changes.fields is not None:
            kept = [(n.strip(), v.strip()) for n, v in changes.fields if n.strip() or v.strip()]
            columns["fields_source"] = json.dumps([{"name": n, "value": v} for n, v in kept])
            before_row = await account_rows.account_by_id(conn, account_id)
            fields = profile_links.carry_over(
                before_row["fields"] if before_row else None,
                [{"name": n, "value": render_field_value(v)} for n, v in kept],
            )
            columns["fields"] = json.dumps(fields)
            # Links not verified yet are checked by a job, after this answer.
            if any(not f["verified_at"] for f in fields):
                await profile_links.queue(conn, rt, account_id)
        replaced: list[str] = []
        if changes.avatar_key is not None or changes.header_key is not None:
            before: RowView = await account_rows.account_by_id(conn, account_id) or {}
            for column, new in (
                ("avatar_key", changes.avatar_key),
                ("header_key", changes.header_key),
            ):
                if new is None:
                    continue
                columns[column] = new or None
                if before.get(column) and before[column] != columns[column]:
                    replaced.append(before[column])
        await account_rows.update_profile(conn, account_id, columns, now)
        # The old pictures go once nothing else names them (the same bytes may be shared).
        await media.queue_release(conn, rt, replaced)
        if columns:
            # Followers' servers get the new profile (an Update of the actor).
            await outbox.record(conn, rt.ids, "account.updated", account_id, account_id)
            conn.effects.add(INSTANCE_FACTS_CHANGED)  # the contact account may be this one
        shown = {
            k: getattr(changes, k) for k in PROFILE_DEFAULTS if getattr(changes, k) is not None
        }
        if (
            changes.privacy is not None
            or changes.sensitive is not None
            or changes.language is not None
            or changes.quote_policy is not None
            or shown
        ):
            user = await user_rows.user_by_account(conn, account_id)
            settings = json.loads(user["settings"] or "{}") if user else {}
            if shown:
                settings.setdefault("profile", {}).update(shown)
            prefs = settings.setdefault("preferences", {})
            if changes.privacy is not None:
                prefs["privacy"] = changes.privacy
            if changes.sensitive is not None:
                prefs["sensitive"] = changes.sensitive
            if changes.language is not None:
                prefs["language"] = changes.language or None
            if changes.quote_policy is not None:
                prefs["quote_policy"] = changes.quote_policy
            await user_rows.update_settings(conn, account_id, json.dumps(settings), now)

    await rt.store.write(unit)


@dataclass(frozen=True)
class ProfileView:
    """What `GET /api/v1/profile` shows: the account, its display settings, featured tags."""

    account: AccountRow
    settings: dict[str, Any]
    featured_tags: list[FeaturedTagViewRow]


async def profile(rt: Runtime, account_id: int) -> ProfileView | None:
    """The signed-in person's own profile, with the source text of what they edit."""

    async def unit(conn: Connection) -> ProfileView | None:
        row = await account_rows.account_by_id(conn, account_id)
        user = await user_rows.user_by_account(conn, account_id)
        if row is None or user is None:
            return None
        stored = json.loads(user["settings"] or "{}").get("profile", {})
        settings = {k: stored.get(k, default) for k, default in PROFILE_DEFAULTS.items()}
        tags = list(await featured_rows.of_account(conn, account_id))
        return ProfileView(row, settings, tags)

    return await rt.store.read(unit)


async def accounts_by_ids(rt: Runtime, account_ids: list[int]) -> list[Row]:
    """The accounts among `account_ids` that exist and are not suspended, in the order
    asked (each once)."""
    wanted = list(dict.fromkeys(account_ids))[:MAX_ACCOUNTS_AT_ONCE]
    rows = await rt.store.read(follow_rows.accounts_by_ids, wanted)
    found = {r["id"]: r for r in rows if r["suspended_at"] is None}
    return [dict(found[i]) for i in wanted if i in found]


async def directory(
    rt: Runtime,
    *,
    order: str,
    local_only: bool,
    viewer_id: int | None,
    offset: int,
    limit: int,
) -> list[Row]:
    """A page of the profile directory: discoverable local and known remote accounts,
    recently active (`active`) or newest (`new`) first."""
    if order not in DIRECTORY_ORDERS:
        raise ValueError(f"order must be one of {', '.join(DIRECTORY_ORDERS)}")
    rows = await rt.store.read(
        account_rows.directory,
        order=order,
        local_only=local_only,
        viewer_id=viewer_id,
        now=now_ms(),
        offset=offset,
        limit=limit,
    )
    return [dict(r) for r in rows]
