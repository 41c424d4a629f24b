"""The jobs table: enqueue inside the caller's transaction, claim with a lease, finish.

Jobs of a fan-out may share part of their payload (`job_shared_payloads`): it is stored
once, referred to by each job's `shared_id`, and removed once no job refers to it.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from typing import Any

from .base import Connection, fetch_as, fetchval_as, row_as, rows_as
from .effects import WORK_QUEUED, WorkQueued
from .paging import ids_among
from .rows import ClaimedJobRow, JobQueueSampleRow, JobRow

_CLAIMABLE = "((state = 'pending' AND run_at <= $1) OR (state = 'running' AND lease_until <= $1))"


async def enqueue(
    conn: Connection,
    *,
    job_id: int,
    kind: str,
    payload: dict[str, Any],
    now: int,
    max_attempts: int,
    run_at: int | None = None,
    dedupe_key: str | None = None,
) -> bool:
    """Add a job in the caller's transaction; False if `dedupe_key` is already queued."""
    added = await enqueue_many(
        conn,
        kind=kind,
        jobs=[(job_id, payload, dedupe_key)],
        now=now,
        max_attempts=max_attempts,
        run_at=run_at,
    )
    return added == 1


async def enqueue_many(
    conn: Connection,
    *,
    kind: str,
    jobs: Sequence[tuple[int, dict[str, Any], str | None]],
    now: int,
    max_attempts: int,
    run_at: int | None = None,
    shared: tuple[int, str] | None = None,
) -> int:
    """Add jobs of one kind, (id, payload, dedupe key) each, in one statement; how many.

    A job whose dedupe key is already queued is skipped. `shared` is (id, text): the
    part of the payloads the jobs have in common, stored once.
    """
    if not jobs:
        return 0
    shared_id = None
    if shared is not None:
        shared_id = shared[0]
        await conn.execute(
            "INSERT INTO job_shared_payloads (id, data, created_at) VALUES ($1, $2, $3)",
            shared_id,
            shared[1],
            now,
        )
    due = now if run_at is None else run_at
    columns = (
        "INSERT INTO jobs (id, kind, payload, state, attempts, max_attempts, run_at, "
        "dedupe_key, shared_id, created_at, updated_at) "
    )
    payloads = [json.dumps(payload, separators=(",", ":")) for _, payload, _ in jobs]
    if conn.dialect == "postgres":
        added = await conn.execute(
            columns + "SELECT u.id, $4, u.payload, 'pending', 0, $5, $6, u.dedupe_key, $7, $8, $8 "
            "FROM unnest($1::bigint[], $2::text[], $3::text[]) AS u (id, payload, dedupe_key) "
            "ON CONFLICT (dedupe_key) DO NOTHING",
            [job_id for job_id, _, _ in jobs],
            payloads,
            [dedupe for _, _, dedupe in jobs],
            kind,
            max_attempts,
            due,
            shared_id,
            now,
        )
    else:
        # SQLite has no arrays: the rows go as one JSON array (`WHERE true` lets the
        # parser tell the upsert clause from a join condition).
        rows = json.dumps(
            [[job[0], text, job[2]] for job, text in zip(jobs, payloads, strict=True)]
        )
        added = await conn.execute(
            columns + "SELECT value ->> 0, $2, value ->> 1, 'pending', 0, $3, $4, value ->> 2, $5, "
            "$6, $6 FROM json_each($1) WHERE true ON CONFLICT (dedupe_key) DO NOTHING",
            rows,
            kind,
            max_attempts,
            due,
            shared_id,
            now,
        )
    if added:
        conn.effects.add(WorkQueued(kind))
    elif shared_id is not None:
        await conn.execute("DELETE FROM job_shared_payloads WHERE id = $1", shared_id)
    return added


async def shared_payloads(conn: Connection, ids: Collection[int]) -> dict[int, str]:
    """The shared payload parts with these ids."""
    if not ids:
        return {}
    among, args = ids_among(conn, "id", 1, list(ids))
    rows = await conn.fetch(f"SELECT id, data FROM job_shared_payloads WHERE {among}", *args)
    return {r["id"]: r["data"] for r in rows}


async def purge_shared_payloads(conn: Connection) -> int:
    """Remove shared payload parts no job refers to any more; how many."""
    return await conn.execute(
        "DELETE FROM job_shared_payloads WHERE NOT EXISTS "
        "(SELECT 1 FROM jobs WHERE jobs.shared_id = job_shared_payloads.id)"
    )


async def claim(
    conn: Connection, *, kinds: list[str], worker: str, now: int, lease_ms: int, limit: int
) -> list[ClaimedJobRow]:
    """Lease up to `limit` due jobs of the given kinds (expired leases included)."""
    kind_list = ", ".join(f"${i}" for i in range(6, 6 + len(kinds)))
    pick = (
        f"SELECT id FROM jobs WHERE {_CLAIMABLE} AND kind IN ({kind_list}) ORDER BY run_at LIMIT $2"
    )
    if conn.dialect == "postgres":
        # Concurrent claimers skip each other's rows instead of waiting on them.
        pick += " FOR UPDATE SKIP LOCKED"
    else:
        # SQLite cannot read an OR of two indexes in run_at order: it would sort every
        # due job on each claim (2.4 ms with 2,200 queued, against 0.5 ms this way).
        # Each half walks its own index and stops at the limit.
        pick = (
            "SELECT id FROM (SELECT id, run_at FROM (SELECT id, run_at FROM jobs "
            f"WHERE state = 'pending' AND run_at <= $1 AND kind IN ({kind_list}) "
            "ORDER BY run_at LIMIT $2) UNION ALL SELECT id, run_at FROM (SELECT id, run_at "
            f"FROM jobs WHERE state = 'running' AND lease_until <= $1 AND kind IN ({kind_list}) "
            "ORDER BY lease_until LIMIT $2)) ORDER BY run_at LIMIT $2"
        )
    rows = await conn.fetch(
        f"UPDATE jobs SET state = 'running', attempts = attempts + 1, locked_by = $3, "
        f"lease_until = $4, updated_at = $5 WHERE id IN ({pick}) "
        "RETURNING id, kind, payload, attempts, max_attempts, shared_id",
        now,
        limit,
        worker,
        now + lease_ms,
        now,
        *kinds,
    )
    for row in rows:
        row["payload"] = json.loads(row["payload"])
    rows.sort(key=lambda r: r["id"])
    return rows_as(ClaimedJobRow, rows)


async def prepare_batches(conn: Connection, *, kinds: list[str], worker: str, now: int) -> None:
    """Run the statements a batched engine runs for every batch (claim, shared payloads,
    completion, lease extension) with arguments no row matches, so that the connection
    has them prepared (asyncpg prepares per connection; SQLite caches per connection)
    before the first batch waits on it. Changes nothing."""
    await claim(conn, kinds=kinds, worker=worker, now=now, lease_ms=0, limit=0)
    await shared_payloads(conn, [0])
    await finish(conn, worker, done=[0], now=now)
    await extend_leases(conn, [0], worker, now)


def _chunks(ids: Sequence[int], size: int = 500) -> list[Sequence[int]]:
    return [ids[i : i + size] for i in range(0, len(ids), size)]


async def extend_leases(conn: Connection, ids: Sequence[int], worker: str, until: int) -> set[int]:
    """Keep running jobs leased; the ids whose lease this worker still held."""
    kept: set[int] = set()
    for chunk in _chunks(ids):
        among, args = ids_among(conn, "id", 3, chunk)
        rows = await conn.fetch(
            f"UPDATE jobs SET lease_until = $1 WHERE locked_by = $2 AND state = 'running' "
            f"AND {among} RETURNING id",
            until,
            worker,
            *args,
        )
        kept.update(r["id"] for r in rows)
    return kept


async def finish(
    conn: Connection,
    worker: str,
    *,
    done: Sequence[int] = (),
    retries: Sequence[tuple[int, int, str]] = (),
    parks: Sequence[tuple[int, str]] = (),
    now: int,
) -> None:
    """Record attempts of jobs this worker holds: succeeded (removed), to retry at a time
    (id, run_at, error), or never to succeed (id, error: kept, out of the queue)."""
    for chunk in _chunks(done):
        among, args = ids_among(conn, "id", 2, chunk)
        await conn.execute(
            f"DELETE FROM jobs WHERE locked_by = $1 AND state = 'running' AND {among}",
            worker,
            *args,
        )
    if retries:
        await conn.executemany(
            "UPDATE jobs SET state = 'pending', run_at = $1, lease_until = NULL, "
            "locked_by = NULL, last_error = $2, updated_at = $3 WHERE id = $4 AND locked_by = $5 "
            "AND state = 'running'",
            [(run_at, error, now, job_id, worker) for job_id, run_at, error in retries],
        )
    if parks:
        await conn.executemany(
            "UPDATE jobs SET state = 'parked', lease_until = NULL, locked_by = NULL, "
            "last_error = $1, updated_at = $2 WHERE id = $3 AND locked_by = $4 "
            "AND state = 'running'",
            [(error, now, job_id, worker) for job_id, error in parks],
        )


async def release(conn: Connection, ids: Sequence[int], worker: str, now: int) -> None:
    """Give jobs back untried (shutdown): due now, the attempt not counted."""
    for chunk in _chunks(ids):
        among, args = ids_among(conn, "id", 3, chunk)
        await conn.execute(
            "UPDATE jobs SET state = 'pending', run_at = $1, lease_until = NULL, "
            "locked_by = NULL, attempts = attempts - 1, updated_at = $1 WHERE locked_by = $2 "
            f"AND state = 'running' AND {among}",
            now,
            worker,
            *args,
        )


async def park(conn: Connection, job_id: int, *, error: str, now: int) -> None:
    """A job will not succeed: keep it, with its last error, out of the queue."""
    await conn.execute(
        "UPDATE jobs SET state = 'parked', lease_until = NULL, locked_by = NULL, "
        "last_error = $1, updated_at = $2 WHERE id = $3",
        error,
        now,
        job_id,
    )


async def park_exhausted(conn: Connection, now: int) -> int:
    """Park running jobs whose lease ran out on their last allowed attempt."""
    return await conn.execute(
        "UPDATE jobs SET state = 'parked', lease_until = NULL, locked_by = NULL, "
        "last_error = COALESCE(last_error, 'worker lost on the last attempt'), updated_at = $1 "
        "WHERE state = 'running' AND lease_until <= $1 AND attempts >= max_attempts",
        now,
    )


async def unpark(conn: Connection, job_id: int, now: int) -> bool:
    """Put a parked job back in the queue with fresh attempts (admin retry)."""
    changed = await conn.execute(
        "UPDATE jobs SET state = 'pending', attempts = 0, run_at = $1, updated_at = $1 "
        "WHERE id = $2 AND state = 'parked'",
        now,
        job_id,
    )
    if changed == 1:
        conn.effects.add(WORK_QUEUED)
    return changed == 1


async def get(conn: Connection, job_id: int) -> JobRow | None:
    """One job, as stored."""
    row = await conn.fetchrow("SELECT * FROM jobs WHERE id = $1", job_id)
    if row is not None:
        row["payload"] = json.loads(row["payload"])
    return None if row is None else row_as(JobRow, row)


async def counts(conn: Connection, now: int) -> dict[str, int]:
    """Queue health: pending (due or not), retrying, running, parked."""
    row = await conn.fetchrow(
        "SELECT "
        "COUNT(*) FILTER (WHERE state = 'pending' AND attempts = 0) AS pending, "
        "COUNT(*) FILTER (WHERE state = 'pending' AND attempts > 0) AS retrying, "
        "COUNT(*) FILTER (WHERE state = 'running' AND lease_until > $1) AS running, "
        "COUNT(*) FILTER (WHERE state = 'parked') AS parked "
        "FROM jobs",
        now,
    )
    assert row is not None
    return {k: int(v or 0) for k, v in row.items()}


async def sample_queue(conn: Connection, now: int, keep_after: int) -> None:
    """Record the queue's depth now (the dashboard's chart) and forget samples before
    `keep_after`, so the table holds a day of them."""
    found = await counts(conn, now)
    await conn.execute(
        "INSERT INTO job_queue_samples (at, pending, retrying, running, parked) "
        "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (at) DO NOTHING",
        now,
        found["pending"],
        found["retrying"],
        found["running"],
        found["parked"],
    )
    await conn.execute("DELETE FROM job_queue_samples WHERE at < $1", keep_after)


async def queue_samples(conn: Connection, since: int) -> list[JobQueueSampleRow]:
    """The queue's sampled depth since a time, oldest first."""
    return await fetch_as(
        conn,
        JobQueueSampleRow,
        "SELECT * FROM job_queue_samples WHERE at >= $1 ORDER BY at",
        since,
    )


async def next_due(conn: Connection) -> int | None:
    """When the next pending job falls due, or None."""
    return await fetchval_as(conn, int, "SELECT MIN(run_at) FROM jobs WHERE state = 'pending'")


async def queue_by_kind(conn: Connection, now: int) -> list[tuple[str, str, int, float | None]]:
    """The queue for metrics: `(kind, state, count, seconds the oldest due one waited)`;
    running jobs whose lease ran out count as `expired`."""
    rows = await conn.fetch(
        "SELECT kind, "
        "CASE WHEN state = 'running' AND lease_until <= $1 THEN 'expired' "
        "WHEN state = 'pending' AND attempts > 0 THEN 'retrying' ELSE state END AS state, "
        "COUNT(*) AS n, MIN(CASE WHEN state = 'pending' AND run_at <= $1 THEN run_at END) "
        "AS oldest FROM jobs GROUP BY 1, 2",
        now,
    )
    return [
        (
            str(row["kind"]),
            str(row["state"]),
            int(row["n"]),
            None if row["oldest"] is None else max(0, now - int(row["oldest"])) / 1000,
        )
        for row in rows
    ]


async def stalled_since(conn: Connection, now: int) -> int | None:
    """When the oldest due pending job fell due, if no worker holds any job (None when
    nothing waits or some job is held: the queue is being worked)."""
    row = await conn.fetchrow(
        "SELECT MIN(run_at) FILTER (WHERE state = 'pending' AND run_at <= $1) AS due, "
        "COUNT(*) FILTER (WHERE state = 'running' AND lease_until > $1) AS held FROM jobs",
        now,
    )
    if row is None or row["due"] is None or int(row["held"] or 0) > 0:
        return None
    return int(row["due"])
