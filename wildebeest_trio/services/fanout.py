"""Live fan-out of statuses to streaming connections (after the write has committed).

Channels follow Mastodon's FanOutOnWriteService: the author's and local followers'
home timelines get public, unlisted and private statuses; mentioned local accounts get
private and direct ones; public statuses also go to the public, local and hashtag
timelines. Boosts reach the booster's followers' homes. Per-connection filters (blocks,
mutes) are applied by the hub with the author id carried beside each event.
"""

from __future__ import annotations

import json

from ..runtime import Runtime
from ..serializers.statuses import status_entity
from ..store import streams as stream_rows
from ..store.statuses import StatusBundle
from ..streaming.relay import publish_to


async def _channels(rt: Runtime, status_id: int) -> tuple[list[str], int] | None:
    audience = await rt.store.read(stream_rows.status_audience, status_id)
    if audience is None:
        return None
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
    if visibility == "public" and status["reblog_of_id"] is None:
        scope = "local" if status["local"] else "remote"
        channels += ["timeline:public", f"timeline:public:{scope}"]
        for tag in audience["tags"]:
            channels.append(f"timeline:hashtag:{tag}")
            if status["local"]:
                channels.append(f"timeline:hashtag:{tag}:local")
    return list(dict.fromkeys(channels)), author


async def status_published(
    rt: Runtime, bundle: StatusBundle, status_id: int, event: str = "update"
) -> None:
    """Send a new (`update`) or edited (`status.update`) status to everyone who sees it live."""
    found = await _channels(rt, status_id)
    if found is None:
        return
    channels, author = found
    payload = json.dumps(status_entity(rt.config, _anonymous(bundle), status_id))
    await publish_to(rt, channels, event, payload, author_id=author)


async def status_removed(rt: Runtime, status_id: int, channels: list[str], author: int) -> None:
    """Tell connections that saw a status that it is gone (`delete` with its id)."""
    await publish_to(rt, channels, "delete", str(status_id), author_id=author)


async def channels_of(rt: Runtime, status_id: int) -> tuple[list[str], int] | None:
    """Where a status went, computed before it is deleted (for `status_removed`)."""
    return await _channels(rt, status_id)


def _anonymous(bundle: StatusBundle) -> StatusBundle:
    # A stream payload is the same for every reader: no viewer's flags inside it.
    from dataclasses import replace

    return replace(
        bundle,
        favourited=set(),
        reblogged=set(),
        bookmarked=set(),
        pinned=set(),
        muted_conversations=set(),
        viewer_id=None,
    )
