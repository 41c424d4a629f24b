"""The ActivityPub documents this server serves, read for one request.

Each function runs its reads in one unit of work; `http/activitypub/` turns what they
return into responses. Only local actors are served, and neither a suspended account nor
an Application actor (the instance actor has a document of its own).
"""

from __future__ import annotations

from typing import Any, Literal

from ..runtime import Runtime
from ..serializers import activitypub as ap
from ..store import RowView
from ..store import accounts as account_rows
from ..store.rows import ActorRow
from . import activities
from .activities import StatusDocuments


async def served_actor(rt: Runtime, username: str) -> ActorRow | None:
    """The local account whose actor document `/users/<username>` serves, with its current
    public key; None when there is none to serve."""
    row = await rt.store.read(account_rows.local_actor, username)
    if row is None or row["actor_type"] == "Application" or row["suspended_at"] is not None:
        return None
    return row


async def moved_to_uri(rt: Runtime, actor: RowView) -> str | None:
    """The actor URI of the account `actor` moved to, if it moved."""
    if actor["moved_to_account_id"] is None:
        return None
    target = await rt.store.read(account_rows.account_by_id, actor["moved_to_account_id"])
    return target["uri"] if target else None


async def follows_page(
    rt: Runtime, actor: RowView, which: Literal["followers", "following"], page: int
) -> list[str]:
    """Page `page` (from 1) of the actor URIs in an actor's followers or following
    collection, newest follow first."""
    listing = account_rows.follower_uris if which == "followers" else account_rows.following_uris
    offset = (page - 1) * ap.FOLLOWS_PER_PAGE
    return await rt.store.read(listing, actor["id"], offset, ap.FOLLOWS_PER_PAGE)


async def status_documents(
    rt: Runtime, username: str, status_id: int, viewer_id: int | None
) -> StatusDocuments | None:
    """A local status's documents as `viewer_id` (None: anonymous) may have them; None
    when `username` wrote no such status."""
    return await rt.store.read(
        activities.status_documents, rt.config, username, status_id, viewer_id
    )


async def quote_authorization(rt: Runtime, username: str, quote_id: int) -> dict[str, Any] | None:
    """The QuoteAuthorization stamp a local author gave, while the approval stands."""
    return await rt.store.read(activities.quote_stamp, rt.config, username, quote_id)


async def outbox_items(
    rt: Runtime, actor: RowView, max_id: int | None, min_id: int | None
) -> tuple[list[dict[str, Any]], tuple[int, int] | None]:
    """One page of an actor's outbox and its (newest, oldest) status ids."""
    return await rt.store.read(activities.outbox_items, rt.config, actor, max_id, min_id)


async def featured_notes(rt: Runtime, actor: RowView) -> list[dict[str, Any]]:
    """The Notes of an actor's pinned public statuses."""
    return await rt.store.read(activities.featured_notes, rt.config, actor)
