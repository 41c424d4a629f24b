"""Times as Mastodon writes them.

`isoformat` rather than `strftime`: a page of statuses formats over a hundred times, and
the C `isoformat` is several times faster.
"""

from __future__ import annotations

from datetime import UTC, datetime


def iso_ms(ms: int | None) -> str | None:
    """RFC 3339 with milliseconds and `Z`: `2019-12-08T03:48:33.901Z`."""
    if ms is None:
        return None
    seconds, millis = divmod(int(ms), 1000)
    return f"{datetime.fromtimestamp(seconds, tz=UTC).isoformat()[:19]}.{millis:03d}Z"


def iso_midnight(ms: int) -> str:
    """The day of a time, at midnight UTC (Mastodon's account `created_at`)."""
    return f"{datetime.fromtimestamp(int(ms) // 1000, tz=UTC).date().isoformat()}T00:00:00.000Z"


def iso_date(ms: int | None) -> str | None:
    """`YYYY-MM-DD` (Mastodon's `last_status_at`)."""
    if ms is None:
        return None
    return datetime.fromtimestamp(int(ms) // 1000, tz=UTC).date().isoformat()
