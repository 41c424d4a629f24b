"""Times as Mastodon writes them."""

from __future__ import annotations

from datetime import UTC, datetime


def iso_ms(ms: int | None) -> str | None:
    """RFC 3339 with milliseconds and `Z`: `2019-12-08T03:48:33.901Z`."""
    if ms is None:
        return None
    dt = datetime.fromtimestamp(ms / 1000, tz=UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def iso_midnight(ms: int) -> str:
    """The day of a time, at midnight UTC (Mastodon's account `created_at`)."""
    dt = datetime.fromtimestamp(ms / 1000, tz=UTC)
    return dt.strftime("%Y-%m-%dT00:00:00.000Z")


def iso_date(ms: int | None) -> str | None:
    """`YYYY-MM-DD` (Mastodon's `last_status_at`)."""
    if ms is None:
        return None
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d")
