"""Resolving WebFinger resources to local accounts."""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

from ..config import Config
from ..federation.instance_actor import INSTANCE_ACTOR_USERNAME, instance_actor
from ..runtime import Runtime
from ..store import accounts as account_rows
from ..store.rows import AccountRow


class BadResource(ValueError):
    """The resource is missing or not something WebFinger can name."""


def local_username(config: Config, resource: str) -> str | None:
    """The local username a resource names; None if it names another server, or a page
    of this one that is no account's (no such account, as on Mastodon: a 404).

    Accepts `acct:user@domain`, `user@domain`, `@user@domain`, and this server's
    profile (`/@user`) and actor (`/users/user`) URLs.
    """
    resource = unquote(resource.strip())
    if not resource:
        raise BadResource("resource is missing")
    if resource.startswith(("https://", "http://")):
        parts = urlsplit(resource)
        if parts.netloc.lower() != config.domain:
            return None
        path = parts.path.rstrip("/")
        for prefix in ("/@", "/users/"):
            if path.startswith(prefix):
                name = path[len(prefix) :]
                if name and "/" not in name:
                    return name
        return None
    text = resource.removeprefix("acct:").lstrip("@")
    user, sep, domain = text.rpartition("@")
    if not sep or not user or not domain or " " in text:
        raise BadResource("resource must be acct:user@domain or an account URL")
    if domain.lower() != config.domain:
        return None
    return user


def names_instance(config: Config, resource: str) -> bool:
    """Whether a resource names the server itself: its actor's name or URL, or the domain.

    The domain (alone or as a username) is what the actor was called before it took
    Mastodon's fixed name; servers that knew it so still find it.
    """
    text = unquote(resource.strip()).removeprefix("acct:")
    return text in (
        f"{INSTANCE_ACTOR_USERNAME}@{config.domain}",
        config.domain,
        f"{config.domain}@{config.domain}",
        config.base_url,
        f"{config.base_url}/actor",
    )


async def find(rt: Runtime, resource: str) -> AccountRow | None:
    """The local, unsuspended account a resource names (or the instance actor), or None."""
    if names_instance(rt.config, resource):
        return await instance_actor(rt)
    username = local_username(rt.config, resource)
    if username is None:
        return None
    row = await rt.store.read(account_rows.local_account_by_username, username)
    if row is None or row["suspended_at"] is not None:
        return None
    return row
