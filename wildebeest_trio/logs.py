"""Logging set-up: text or JSON lines, and the request each line belongs to.

The HTTP middleware sets `CURRENT` to a `RequestContext` when a request arrives; every
task the request starts inherits it (Trio copies the context into child tasks), so a
line logged anywhere while serving it carries its request id in JSON.
"""

from __future__ import annotations

import contextvars
import itertools
import logging
import os
import sys
import traceback
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# What a record always has; anything else on it was passed with `extra=` and is kept.
_STANDARD = frozenset(
    logging.LogRecord("", 0, "", 0, "", (), None).__dict__.keys() | {"message", "asctime"}
)


@dataclass(slots=True)
class RequestContext:
    """One request as the logs and metrics see it; the app fills `route` in."""

    request_id: str
    route: str | None = None


CURRENT: contextvars.ContextVar[RequestContext | None] = contextvars.ContextVar(
    "wildebeest_request", default=None
)


def _process_prefix() -> str:
    return os.urandom(8).hex()


# Request ids: this process's random prefix and a counter, 32 hexadecimal digits as a
# uuid4's (unique across processes and restarts, without a system call per request).
_prefix = _process_prefix()
_counter = itertools.count(1)


def _after_fork() -> None:
    global _prefix, _counter
    _prefix = _process_prefix()
    _counter = itertools.count(1)


os.register_at_fork(after_in_child=_after_fork)


def new_request_id() -> str:
    """An id no other request of any process shares."""
    return f"{_prefix}{next(_counter):016x}"


def new_request() -> RequestContext:
    """A context for a request that just arrived, made current."""
    context = RequestContext(new_request_id())
    CURRENT.set(context)
    return context


def current_request_id() -> str | None:
    context = CURRENT.get()
    return None if context is None else context.request_id


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message, request id, extras."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = current_request_id()
        if request_id is not None:
            entry["request_id"] = request_id
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = "".join(traceback.format_exception(*record.exc_info)).strip()
        return orjson.dumps(entry, default=str).decode()


def setup(level: str, fmt: str = "text") -> None:
    """Log to standard error at `level`, as `text` lines or `json` objects."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
    # basicConfig's rule: a root logger that already has handlers (a test's) keeps them.
    logging.basicConfig(level=getattr(logging, level.upper()), handlers=[handler])


__all__ = [
    "CURRENT",
    "JsonFormatter",
    "RequestContext",
    "current_request_id",
    "new_request_id",
    "setup",
]
