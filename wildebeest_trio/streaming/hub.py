"""The streaming hub: in-process fan-out of events to connected clients over Trio channels.

Events are published to *channels* named as Mastodon names its Redis channels
(`timeline:<account id>`, `timeline:public:local`, `timeline:hashtag:<tag>`...).
A connection subscribes to channels and labels each with the stream name the
client asked for (`["user"]`, `["hashtag", "trio"]`). Each connection has a
bounded queue: a client that stops reading is disconnected rather than allowed
to grow memory without bound.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from functools import cached_property

import trio
from wsproto.frame_protocol import FrameProtocol

from .peers import StreamPeers

log = logging.getLogger(__name__)

QUEUE_SIZE = 256


@dataclass(frozen=True)
class StreamMessage:
    """One event as a connection receives it."""

    stream: list[str]
    event: str
    payload: str

    # One message object is shared by every connection with the same stream label, so
    # each encoding is computed once per event and label, not once per connection.
    @cached_property
    def _frame(self) -> str:
        return json.dumps({"stream": self.stream, "event": self.event, "payload": self.payload})

    @cached_property
    def _wire(self) -> bytes:
        # A server's frames are not masked, so these bytes are the same on every connection.
        return bytes(FrameProtocol(client=False, extensions=[]).send_data(self._frame))

    @cached_property
    def _chunk(self) -> bytes:
        return f"event: {self.event}\ndata: {self.payload}\n\n".encode()

    def websocket_frame(self) -> str:
        """Mastodon's WebSocket message: the payload is a JSON-encoded string."""
        return self._frame

    def websocket_bytes(self) -> bytes:
        """That message as one WebSocket text frame, as it goes on the wire."""
        return self._wire

    def sse_chunk(self) -> bytes:
        return self._chunk


@dataclass(eq=False)
class Subscription:
    """One connection's interest: channels, their stream labels, and its queue.

    `hidden` holds the accounts this connection's user blocks or mutes: their events
    are not delivered to it. A connection that can write a message at once, without
    waiting (`write_now`), gets it that way while nothing is queued for it; the rest
    queue, in order. `on_overflow` ends a connection whose queue overflowed.
    """

    hidden: set[int] = field(default_factory=set)
    labels: dict[str, list[str]] = field(default_factory=dict)
    overflowed: bool = False
    write_now: Callable[[StreamMessage], bool] | None = None
    on_overflow: Callable[[], None] | None = None
    backlog: int = 0  # messages queued and not yet sent by `messages`'s consumer

    def __post_init__(self) -> None:
        self.send, self.receive = trio.open_memory_channel[StreamMessage](QUEUE_SIZE)

    def offer(self, message: StreamMessage, author_id: int | None = None) -> None:
        """Deliver or queue a message unless its author is hidden or the connection fell
        behind."""
        if self.overflowed or (author_id is not None and author_id in self.hidden):
            return
        if not self.backlog and self.write_now is not None and self.write_now(message):
            return
        try:
            self.send.send_nowait(message)
            self.backlog += 1
        except trio.WouldBlock:
            # A client that does not read is cut off, not buffered forever.
            self.overflowed = True
            self.send.close()
            if self.on_overflow is not None:
                self.on_overflow()
        except trio.ClosedResourceError:
            pass

    async def messages(self) -> AsyncIterator[StreamMessage]:
        """The queued messages, in order, until the queue closes. Each counts as queued
        until its consumer asks for the next one: a message offered meanwhile queues
        behind it rather than overtaking it through `write_now`."""
        async for message in self.receive:
            yield message
            self.backlog -= 1


class StreamHub:
    """Channel subscriptions of one process; `publish_local` fans an event out."""

    def __init__(self) -> None:
        self._subscribers: dict[str, set[Subscription]] = {}
        # The other processes on this SQLite database (`assembly` names their folder).
        self.peers = StreamPeers(None)

    def subscribe(self, subscription: Subscription, channel: str, label: list[str]) -> None:
        subscription.labels[channel] = label
        self._subscribers.setdefault(channel, set()).add(subscription)

    def unsubscribe(self, subscription: Subscription, channel: str) -> None:
        subscription.labels.pop(channel, None)
        subscribers = self._subscribers.get(channel)
        if subscribers is not None:
            subscribers.discard(subscription)
            if not subscribers:
                del self._subscribers[channel]

    def drop(self, subscription: Subscription) -> None:
        """Forget a closed connection everywhere."""
        for channel in list(subscription.labels):
            self.unsubscribe(subscription, channel)
        subscription.send.close()

    def publish_local(
        self, channel: str, event: str, payload: str, author_id: int | None = None
    ) -> int:
        """Deliver to this process's subscribers; how many connections were offered it."""
        return self.publish_many([channel], event, payload, author_id)

    def publish_many(
        self, channels: list[str], event: str, payload: str, author_id: int | None = None
    ) -> int:
        """Deliver one event to the subscribers of several channels; how many offers."""
        messages: dict[tuple[str, ...], StreamMessage] = {}
        offered = 0
        for channel in channels:
            for subscription in list(self._subscribers.get(channel, ())):
                label = subscription.labels.get(channel)
                if label is None:
                    continue
                key = tuple(label)
                message = messages.get(key)
                if message is None:
                    message = messages[key] = StreamMessage(label, event, payload)
                subscription.offer(message, author_id)
                offered += 1
        return offered

    def connections(self) -> int:
        return len({s for subs in self._subscribers.values() for s in subs})
