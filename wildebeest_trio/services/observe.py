"""What an operator watches: the metrics exposition and whether the server is ready."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import trio

from .. import metrics
from ..ids import now_ms
from ..runtime import Runtime
from ..store import jobs as job_rows

# A scrape or a readiness probe waits this long for the database, then says so.
DATABASE_LIMIT = 5.0


async def metrics_text(rt: Runtime) -> bytes:
    """Prometheus' text format: the processes' metrics and the job queue as it stands."""
    rows: list[tuple[str, str, int, float | None]] = []
    with trio.move_on_after(DATABASE_LIMIT):
        rows = await rt.store.read(job_rows.queue_by_kind, now_ms())
    # The files of every process are read and summed: a thread keeps the loop free.
    return await trio.to_thread.run_sync(metrics.exposition, metrics.queue_families(rows))


@dataclass
class Readiness:
    """The answer of `GET /health/ready`: ready, or why not."""

    ready: bool
    reason: str = ""
    checks: dict[str, Any] = field(default_factory=dict)


async def readiness(rt: Runtime) -> Readiness:
    """Ready when the database answers and due jobs are being worked (some worker holds a
    job, or none has waited past `ready_job_delay`)."""
    now = now_ms()
    stalled: int | None = None
    answered = False
    with trio.move_on_after(DATABASE_LIMIT):
        try:
            stalled = await rt.store.read(job_rows.stalled_since, now)
            answered = True
        except Exception as exc:
            return Readiness(False, f"database unavailable: {type(exc).__name__}")
    if not answered:
        return Readiness(False, f"database did not answer within {DATABASE_LIMIT:.0f} s")
    waited = 0.0 if stalled is None else (now - stalled) / 1000
    checks = {"database": "ok", "oldest_unworked_job_seconds": round(waited, 1)}
    if waited > rt.config.ready_job_delay:
        return Readiness(
            False,
            f"job queue not worked: a due job has waited {waited:.0f} s and no worker holds "
            "a job (is a `serve` or `worker` process running?)",
            checks,
        )
    return Readiness(True, "", checks)
