"""Publishing stream events so that every process's connections see them.

On PostgreSQL an event goes out as a NOTIFY (after the publishing transaction
commits) and each process's relay, LISTENing on a dedicated connection, hands it
to its own hub; payloads too large for NOTIFY's 8,000 bytes are parked in a table
and fetched by reference. On SQLite, one process serves every stream, so events
go straight to the local hub.
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING

import trio

from ..ids import now_ms
from ..store import Connection
from ..store import streams as stream_rows

if TYPE_CHECKING:
    from ..runtime import Runtime

log = logging.getLogger(__name__)

NOTIFY_LIMIT = 7000  # bytes of a NOTIFY payload, leaving room under PostgreSQL's 8000
PAYLOAD_TTL_MS = 10 * 60 * 1000
RELAY_BUFFER = 10_000


async def publish(
    rt: Runtime, channel: str, event: str, payload: str, *, author_id: int | None = None
) -> None:
    """Send an event to every connection subscribed to `channel`, in any process.

    `author_id` lets each connection drop events of accounts its user blocks or mutes.
    """
    await publish_to(rt, [channel], event, payload, author_id=author_id)


async def publish_to(
    rt: Runtime,
    channels: list[str],
    event: str,
    payload: str,
    *,
    author_id: int | None = None,
) -> None:
    """Send one event to the connections of several channels, in any process.

    One NOTIFY carries the whole list, so a status reaching a thousand home timelines
    costs one message, not a thousand.
    """
    if not channels:
        return
    if rt.store.dialect != "postgres":
        rt.streams.publish_many(channels, event, payload, author_id)
        return
    message = json.dumps(
        {"c": channels, "e": event, "p": payload, "a": author_id}, separators=(",", ":")
    )
    if len(message.encode()) <= NOTIFY_LIMIT:
        await rt.store.write(stream_rows.notify, message)
        return
    payload_id = rt.ids.next_id()
    # A parked row's `channel` holds the JSON list of channels.
    listed = json.dumps(channels, separators=(",", ":"))

    async def unit(conn: Connection) -> None:
        await stream_rows.park_payload(conn, payload_id, listed, event, payload, now_ms())
        await stream_rows.notify(conn, json.dumps({"ref": payload_id, "a": author_id}))

    await rt.store.write(unit)


async def run_relay(
    rt: Runtime, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
) -> None:
    """Relay NOTIFYs to this process's hub until cancelled (PostgreSQL only)."""
    if rt.store.dialect != "postgres":
        task_status.started()
        await trio.sleep_forever()
    # One message per event (not per channel), so this absorbs bursts of thousands of
    # posts; a relay further behind than that drops, rather than blocking the listener.
    send, receive = trio.open_memory_channel[str](RELAY_BUFFER)

    def on_message(message: str) -> None:
        try:
            send.send_nowait(message)
        except trio.WouldBlock:
            log.warning("stream relay is behind; an event was dropped")

    async with trio.open_nursery() as nursery:
        await nursery.start(rt.store.listen, stream_rows.NOTIFY_CHANNEL, on_message)  # type: ignore[attr-defined]
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
