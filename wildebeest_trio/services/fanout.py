"""Live fan-out of statuses to streaming connections, once their unit has committed.

Channels follow Mastodon's FanOutOnWriteService: the author's and local followers'
home timelines get public, unlisted and private statuses; mentioned local accounts get
private and direct ones; public statuses also go to the public, local and hashtag
timelines. Boosts reach the booster's followers' homes. Per-connection filters (blocks,
mutes) are applied by the hub with the author id carried beside each event.

A unit that creates or edits a status records `StatusPublished`; the handler renders
the status once for every reader and publishes it. A unit that deletes one calls
`record_removal` before the rows go, while it can still see who received it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from ..ids import now_ms
from ..runtime import Runtime
from ..serializers.statuses import status_entity
from ..store import Connection, Effect
from ..store import statuses as status_rows
from ..store import streams as stream_rows
from ..store.rows import StatusAudience
from ..store.statuses import StatusBundle
from ..streaming.relay import StreamEvent, publish_events


@dataclass(frozen=True)
class StatusPublished(Effect):
    """A new (`update`) or edited (`status.update`) status for everyone who sees it live."""

    status_id: int
    event: str = "update"


async def _channels(conn: Connection, status_id: int) -> tuple[list[str], int] | None:
    audience = await stream_rows.status_audience(conn, status_id)
    if audience is None:
        return None
    # The lists it shows on, as each list's timeline would show it.
    lists = await status_rows.lists_showing(
        conn, status_id, audience["status"]["account_id"], now_ms()
    )
    return _audience_channels(audience, lists)


def _audience_channels(audience: StatusAudience, lists: list[int]) -> tuple[list[str], int]:
    status = audience["status"]
    visibility = status["visibility"]
    author = status["account_id"]
    channels = [f"timeline:{author}"] if status["local"] else []
    if visibility in ("public", "unlisted", "private"):
        channels += [f"timeline:{f}" for f in audience["followers"]]
    if visibility in ("private", "direct"):
        channels += [f"timeline:{m}" for m in audience["mentioned"]]
    if visibility == "direct":
        channels += [f"timeline:direct:{m}" for m in audience["mentioned"]]
        channels.append(f"timeline:direct:{author}")
    channels += [f"timeline:list:{list_id}" for list_id in lists]
    if visibility == "public" and status["reblog_of_id"] is None:
        scope = "local" if status["local"] else "remote"
        channels += ["timeline:public", f"timeline:public:{scope}"]
        if audience["with_media"]:
            channels += ["timeline:public:media", f"timeline:public:{scope}:media"]
        for tag in audience["tags"]:
            channels.append(f"timeline:hashtag:{tag}")
            if status["local"]:
                channels.append(f"timeline:hashtag:{tag}:local")
    return list(dict.fromkeys(channels)), author


async def publish_statuses(rt: Runtime, published: list[StatusPublished]) -> None:
    """The `StatusPublished` handler: one read for all of a unit's statuses, then publish."""

    async def unit(conn: Connection) -> list[tuple[list[str], int, StatusBundle, int, str]]:
        found = []
        for effect in published:
            reached = await _channels(conn, effect.status_id)
            row = await status_rows.status_by_id(conn, effect.status_id)
            if reached is None or row is None or row["deleted_at"] is not None:
                continue  # deleted since: its `delete` event follows
            # A stream payload is the same for every reader: no viewer's flags inside it.
            bundle = await status_rows.hydrate(conn, [row], None, rt.entities)
            found.append((*reached, bundle, effect.status_id, effect.event))
        return found

    events = [
        StreamEvent(
            # A `direct` stream hears of new direct statuses as `conversation` events
            # (services.conversations), as Mastodon's; deletions still reach it.
            tuple(c for c in channels if not c.startswith("timeline:direct:")),
            event,
            json.dumps(status_entity(rt.config, bundle, status_id)),
            author,
        )
        for channels, author, bundle, status_id, event in await rt.store.read(unit)
    ]
    await publish_events(rt, events)


async def record_removal(conn: Connection, status_id: int) -> None:
    """Inside the unit deleting a status, before it goes: tell the connections that saw
    it that it is gone (`delete` with its id), once the deletion commits."""
    reached = await _channels(conn, status_id)
    if reached is not None:
        channels, author = reached
        conn.effects.add(StreamEvent(tuple(channels), "delete", str(status_id), author))
