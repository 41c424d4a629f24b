"""Publishing stream events so that every process's connections see them.

On PostgreSQL an event goes out as a NOTIFY (after the publishing transaction
commits) and each process's relay, LISTENing on a dedicated connection, hands it
to its own hub; payloads too large for NOTIFY's 8,000 bytes are parked in a table
and fetched by reference. On SQLite (every process on one machine) an event goes
straight to the publishing process's hub and, as a Unix datagram, to each other
process serving streams (`peers.py`), whose relay hands it to its hub; payloads too
large for a datagram are parked the same way.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import trio

from ..ids import now_ms
from ..store import Connection, Effect
from ..store import streams as stream_rows
from .peers import DATAGRAM_LIMIT

if TYPE_CHECKING:
    from ..runtime import Runtime

log = logging.getLogger(__name__)

NOTIFY_LIMIT = 7000  # bytes of a NOTIFY payload, leaving room under PostgreSQL's 8000
PAYLOAD_TTL_MS = 10 * 60 * 1000
RELAY_BUFFER = 10_000


@dataclass(frozen=True)
class StreamEvent(Effect):
    """An event for the connections of some channels, sent once its unit has committed.

    `author_id` lets each connection drop events of accounts its user blocks or mutes.
    """

    channels: tuple[str, ...]
    event: str
    payload: str
    author_id: int | None = None

    @classmethod
    def to(
        cls, channel: str, event: str, payload: str, *, author_id: int | None = None
    ) -> StreamEvent:
        """An event for one channel."""
        return cls((channel,), event, payload, author_id)


async def publish(
    rt: Runtime, channel: str, event: str, payload: str, *, author_id: int | None = None
) -> None:
    """Send an event to every connection subscribed to `channel`, in any process, now.

    Changes record a `StreamEvent` on their unit instead, so nothing is sent for a
    change that rolled back.
    """
    await publish_events(rt, [StreamEvent.to(channel, event, payload, author_id=author_id)])


async def publish_to(
    rt: Runtime,
    channels: list[str],
    event: str,
    payload: str,
    *,
    author_id: int | None = None,
) -> None:
    """Send one event to the connections of several channels, in any process, now."""
    await publish_events(rt, [StreamEvent(tuple(channels), event, payload, author_id)])


async def publish_events(rt: Runtime, events: Iterable[StreamEvent]) -> None:
    """Send events to every process's connections (the `StreamEvent` effect's handler).

    On PostgreSQL one unit NOTIFYs them all; one NOTIFY carries an event's whole channel
    list, so a status reaching a thousand home timelines costs one message, not a thousand.
    """
    events = [e for e in events if e.channels]
    if not events:
        return
    if rt.store.dialect != "postgres":
        for e in events:
            rt.streams.publish_many(list(e.channels), e.event, e.payload, e.author_id)
        await _tell_peers(rt, events)
        return
    messages, parked = _messages(rt, events, NOTIFY_LIMIT)

    async def unit(conn: Connection) -> None:
        for message in messages + await _park(conn, parked):
            await stream_rows.notify(conn, message)

    await rt.store.write(unit)


async def _tell_peers(rt: Runtime, events: list[StreamEvent]) -> None:
    """SQLite: send events to the other processes on this machine serving streams."""
    peers = rt.streams.peers
    paths = peers.others()
    if not paths:
        return
    messages, parked = _messages(rt, events, DATAGRAM_LIMIT)
    if parked:
        messages += await rt.store.write(_park, parked)
    for message in messages:
        peers.send(message.encode(), paths)


def _messages(
    rt: Runtime, events: list[StreamEvent], limit: int
) -> tuple[list[str], list[tuple[int, StreamEvent]]]:
    """Events as messages of at most `limit` bytes, and (with new ids) those too large."""
    messages: list[str] = []
    parked: list[tuple[int, StreamEvent]] = []
    for e in events:
        message = json.dumps(
            {"c": e.channels, "e": e.event, "p": e.payload, "a": e.author_id},
            separators=(",", ":"),
        )
        if len(message.encode()) <= limit:
            messages.append(message)
        else:
            parked.append((rt.ids.next_id(), e))
    return messages, parked


async def _park(conn: Connection, parked: list[tuple[int, StreamEvent]]) -> list[str]:
    """Store large events for the relays to read; the messages that refer to them."""
    for payload_id, e in parked:
        # A parked row's `channel` holds the JSON list of channels.
        listed = json.dumps(e.channels, separators=(",", ":"))
        await stream_rows.park_payload(conn, payload_id, listed, e.event, e.payload, now_ms())
    return [json.dumps({"ref": i, "a": e.author_id}) for i, e in parked]


async def run_relay(
    rt: Runtime, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
) -> None:
    """Relay other processes' events to this process's hub until cancelled: NOTIFYs on
    PostgreSQL, datagrams on SQLite (none for an in-memory database)."""
    # One message per event (not per channel), so this absorbs bursts of thousands of
    # posts; a relay further behind than that drops, rather than blocking the listener.
    send, receive = trio.open_memory_channel[str](RELAY_BUFFER)

    def on_message(message: str) -> None:
        try:
            send.send_nowait(message)
        except trio.WouldBlock:
            log.warning("stream relay is behind; an event was dropped")

    async with trio.open_nursery() as nursery:
        if rt.store.dialect == "postgres":
            await nursery.start(rt.store.listen, stream_rows.NOTIFY_CHANNEL, on_message)  # type: ignore[attr-defined]
        else:
            await nursery.start(rt.streams.peers.receive, on_message)
        task_status.started()
        async for message in receive:
            try:
                data = json.loads(message)
                if "ref" in data:
                    row = await rt.store.read(stream_rows.parked_payload, int(data["ref"]))
                    if row is not None:
                        rt.streams.publish_many(
                            json.loads(row["channel"]), row["event"], row["payload"], data.get("a")
                        )
                else:
                    rt.streams.publish_many(data["c"], data["e"], data["p"], data.get("a"))
            except (ValueError, KeyError, TypeError):
                log.warning("malformed stream message ignored")


async def purge_parked(rt: Runtime) -> None:
    """Scheduler task: parked payloads older than ten minutes are no longer needed."""
    await rt.store.write(stream_rows.purge_payloads, now_ms() - PAYLOAD_TTL_MS)
