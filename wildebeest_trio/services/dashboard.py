"""The dashboard's numbers: Mastodon's measures, dimensions and retention cohorts.

Measures read the daily counters the writes keep (`store.daily_counters`): one row per
day and key, whatever the history behind it. Dimensions that need rows (languages,
servers) read one id range of statuses (ids grow with time), never all of them.
"""

from __future__ import annotations

import platform
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from .. import roles
from ..ids import ms_to_min_id
from ..runtime import Runtime
from ..store import Connection
from ..store import admin as admin_rows
from ..store import daily_counters as counter_rows
from ..store import delivery as delivery_rows
from ..store import jobs as job_rows
from ..store.daily_counters import DAY_MS
from ..store.rows import DeliveryCountRow, JobQueueSampleRow
from ..version import VERSION
from .admin import AdminError, Staff

COUNTER_MEASURES = ("new_users", "interactions", "opened_reports", "resolved_reports")
# Measures of one hashtag (`tag_*[id]`) or one remote server (`instance_*[domain]`).
TARGET_MEASURES = tuple(admin_rows.TARGET_MEASURES)
MEASURES = ("active_users", *COUNTER_MEASURES, *TARGET_MEASURES)
TARGET_DIMENSIONS = tuple(admin_rows.TARGET_DIMENSIONS)
DIMENSIONS = ("languages", "servers", "software_versions", "space_usage", *TARGET_DIMENSIONS)
BYTE_MEASURES = ("instance_media_attachments",)
MAX_DAYS = 400
MAX_DIMENSION_ROWS = 50


@dataclass(frozen=True)
class Period:
    """Whole UTC days, first to last inclusive, as day numbers."""

    first: int
    last: int

    @property
    def days(self) -> int:
        return self.last - self.first + 1

    def before(self) -> Period:
        """The period of the same length just before this one."""
        return Period(self.first - self.days, self.first - 1)


def period(start_at: str, end_at: str) -> Period:
    """The days from `start_at` to `end_at` (ISO dates or times), at most `MAX_DAYS`."""
    try:
        first = date.fromisoformat(start_at[:10])
        last = date.fromisoformat(end_at[:10])
    except ValueError:
        raise AdminError("start_at and end_at must be dates") from None
    epoch = date(1970, 1, 1)
    found = Period((first - epoch).days, (last - epoch).days)
    if found.days < 1 or found.days > MAX_DAYS:
        raise AdminError(f"the period must be 1 to {MAX_DAYS} days")
    return found


def day_iso(day: int) -> str:
    return f"{(date(1970, 1, 1) + timedelta(days=day)).isoformat()}T00:00:00.000Z"


@dataclass(frozen=True)
class Measure:
    """One measure over a period: its total, the previous period's, and each day's value."""

    key: str
    total: int
    previous_total: int
    data: list[tuple[int, int]]


async def _series(conn: Connection, key: str, when: Period) -> dict[int, int]:
    if key == "active_users":
        rows = await counter_rows.active_counts(conn, when.first, when.last)
    else:
        rows = await counter_rows.counters(conn, key, when.first, when.last)
    return {r["day"]: int(r["value"]) for r in rows}


async def _total(conn: Connection, key: str, when: Period, series: dict[int, int]) -> int:
    if key == "active_users":
        # Someone active on several days counts once.
        return await counter_rows.distinct_active(conn, when.first, when.last)
    return sum(series.values())


def target_of(key: str, targets: dict[str, str]) -> int | str | None:
    """The hashtag id or domain a tag or instance measure (or dimension) is asked about,
    None when missing or invalid (Mastodon then leaves the key out)."""
    value = targets.get(key, "").strip()
    if key.startswith("tag_"):
        return int(value) if value.isdigit() and len(value) < 19 else None
    return value.lower()[:253] or None


async def measures(
    rt: Runtime,
    staff: Staff,
    keys: list[str],
    when: Period,
    targets: dict[str, str] | None = None,
) -> list[Measure]:
    """The asked measures Mastodon knows and we keep, in the order asked; a tag or instance
    measure needs its target in `targets` (key -> tag id or domain)."""
    staff.require(roles.VIEW_DASHBOARD)
    targets = targets or {}
    wanted = [
        k
        for k in dict.fromkeys(keys)
        if k in MEASURES and (k not in TARGET_MEASURES or target_of(k, targets) is not None)
    ]

    async def unit(conn: Connection) -> list[Measure]:
        found = []
        for key in wanted:
            previous = when.before()
            target = target_of(key, targets)
            if target is not None:
                series = await admin_rows.target_measure(conn, key, target, when.first, when.last)
                before = await admin_rows.target_measure(
                    conn, key, target, previous.first, previous.last
                )
                total, previous_total = sum(series.values()), sum(before.values())
            else:
                series = await _series(conn, key, when)
                total = await _total(conn, key, when, series)
                previous_total = await _total(
                    conn, key, previous, await _series(conn, key, previous)
                )
            found.append(
                Measure(
                    key,
                    total,
                    previous_total,
                    [(day, series.get(day, 0)) for day in range(when.first, when.last + 1)],
                )
            )
        return found

    return await rt.store.read(unit)


@dataclass(frozen=True)
class Dimension:
    """One dimension: its keys, their human names and values, the largest first."""

    key: str
    data: list[tuple[str, str, int]]


async def dimensions(
    rt: Runtime,
    staff: Staff,
    keys: list[str],
    when: Period,
    limit: int,
    targets: dict[str, str] | None = None,
) -> list[Dimension]:
    """The asked dimensions, in the order asked; a tag or instance dimension needs its
    target in `targets`, as measures do."""
    staff.require(roles.VIEW_DASHBOARD)
    targets = targets or {}
    wanted = [
        k
        for k in dict.fromkeys(keys)
        if k in DIMENSIONS and (k not in TARGET_DIMENSIONS or target_of(k, targets) is not None)
    ]
    limit = max(1, min(limit, MAX_DIMENSION_ROWS))
    first_id = ms_to_min_id(when.first * DAY_MS)
    last_id = ms_to_min_id((when.last + 1) * DAY_MS)

    async def unit(conn: Connection) -> list[Dimension]:
        found = []
        for key in wanted:
            if key == "languages":
                rows = await admin_rows.status_languages(conn, first_id, last_id, limit)
                data = [(r["key"], r["key"] or "Unknown", r["value"]) for r in rows]
            elif key == "servers":
                rows = await admin_rows.status_servers(conn, first_id, last_id, limit)
                data = [(r["key"], r["key"], r["value"]) for r in rows]
            elif key in TARGET_DIMENSIONS:
                target = target_of(key, targets)
                assert target is not None
                rows = await admin_rows.target_dimension(
                    conn, key, target, first_id, last_id, limit
                )
                local = rt.config.domain
                data = [(r["key"] or "", _human(key, r["key"], local), r["value"]) for r in rows]
            elif key == "space_usage":
                data = [
                    (name, human, await counter_rows.latest(conn, counter) or 0)
                    for name, human, counter in (
                        (
                            conn.dialect,
                            "PostgreSQL" if conn.dialect == "postgres" else "SQLite",
                            "database_bytes",
                        ),
                        ("media", "Media storage", "media_bytes"),
                    )
                ]
            else:
                data = [
                    ("mastodon", VERSION, 1),
                    ("python", platform.python_version(), 1),
                    ("database", conn.dialect, 1),
                ]
            found.append(Dimension(key, data))
        return found

    return await rt.store.read(unit)


def _human(key: str, value: str, local: str) -> str:
    """A dimension key as people read it: a language's code or "Unknown", a server's
    name (this one for local posts)."""
    if key == "tag_servers":
        return value or local
    if key.endswith("_languages"):
        return value or "Unknown"
    return value


@dataclass(frozen=True)
class Cohort:
    """The users who signed up in one period and how many were active in each later one."""

    period: int  # first day
    size: int
    data: list[tuple[int, int]]  # (first day of a period, active users)


def _period_start(day: int, frequency: str) -> int:
    if frequency == "day":
        return day
    when = date(1970, 1, 1) + timedelta(days=day)
    return (when.replace(day=1) - date(1970, 1, 1)).days


async def retention(rt: Runtime, staff: Staff, when: Period, frequency: str) -> list[Cohort]:
    """Mastodon's retention cohorts (`frequency`: day or month) from the daily activity."""
    staff.require(roles.VIEW_DASHBOARD)
    if frequency not in ("day", "month"):
        raise AdminError("frequency must be day or month")

    async def unit(conn: Connection) -> list[Cohort]:
        sizes: dict[int, int] = {}
        for row in await admin_rows.cohort_sizes(conn, when.first, when.last):
            start = _period_start(int(row["key"]), frequency)
            sizes[start] = sizes.get(start, 0) + row["value"]
        starts = sorted({_period_start(d, frequency) for d in range(when.first, when.last + 1)})
        ends = {s: e - 1 for s, e in zip(starts, [*starts[1:], when.last + 1], strict=True)}
        active: dict[tuple[int, int], int] = {}
        if frequency == "day":
            for cohort in await admin_rows.cohort_activity(conn, when.first, when.last):
                active[(cohort["day"], cohort["active_day"])] = cohort["value"]
        else:
            # A month counts each user once: one distinct count per pair of months.
            for start in starts:
                for later in starts:
                    if later >= start and sizes.get(start):
                        active[(start, later)] = await admin_rows.cohort_active(
                            conn, (start, ends[start]), (later, ends[later])
                        )
        return [
            Cohort(
                start,
                sizes.get(start, 0),
                [(later, active.get((start, later), 0)) for later in starts if later >= start],
            )
            for start in starts
        ]

    return await rt.store.read(unit)


def today() -> int:
    return int(datetime.now(UTC).timestamp() * 1000) // DAY_MS


# The dashboard page ----------------------------------------------------------------------------

DASHBOARD_MEASURES = (
    "new_users",
    "active_users",
    "interactions",
    "opened_reports",
    "resolved_reports",
)
DELIVERY_DOMAINS = 10
# Deliveries are shown for the period's last week: a busy server delivers to thousands of
# domains a day, and a week of them is what the page can sum for every view.
DELIVERY_DAYS = 7
SPACE_KEYS = ("database_bytes", "media_bytes")


@dataclass(frozen=True)
class Overview:
    """What the admin dashboard shows for a period: Mastodon's measures, deliveries by
    domain, the job queue's last day, the software's version and the space used."""

    when: Period
    measures: list[Measure]
    deliveries: list[DeliveryCountRow]
    queue: list[JobQueueSampleRow]
    version: str
    database_bytes: int | None
    media_bytes: int | None


async def overview(rt: Runtime, staff: Staff, when: Period, now: int) -> Overview:
    """The dashboard's numbers: all read from counters and samples the writes and the
    scheduler keep, a few rows per day whatever the history."""
    found = await measures(rt, staff, list(DASHBOARD_MEASURES), when)

    async def unit(conn: Connection) -> Overview:
        return Overview(
            when=when,
            measures=found,
            deliveries=await delivery_rows.deliveries_by_domain(
                conn, max(when.first, when.last - DELIVERY_DAYS + 1), when.last, DELIVERY_DOMAINS
            ),
            queue=await job_rows.queue_samples(conn, now - DAY_MS),
            version=VERSION,
            database_bytes=await counter_rows.latest(conn, "database_bytes"),
            media_bytes=await counter_rows.latest(conn, "media_bytes"),
        )

    return await rt.store.read(unit)


async def measure_space(rt: Runtime) -> None:
    """Record the database's and the media's sizes (the scheduler does, hourly: summing the
    media is a scan no page view should pay for)."""

    async def unit(conn: Connection) -> None:
        now = int(datetime.now(UTC).timestamp() * 1000)
        await counter_rows.put(conn, "database_bytes", now, await admin_rows.database_bytes(conn))
        await counter_rows.put(conn, "media_bytes", now, await admin_rows.media_bytes(conn))

    await rt.store.write(unit)


async def forget_old_deliveries(rt: Runtime) -> None:
    """Drop delivery counts older than the longest period the dashboard offers."""
    await rt.store.write(delivery_rows.forget_delivery_counts, today() - MAX_DAYS)
