"""What an attempt makes of its job, and writing that down."""

from __future__ import annotations

import logging
import traceback
from dataclasses import dataclass
from typing import Literal

from ..store import Connection, Row
from ..store import jobs as job_rows
from .kinds import JobKind, PermanentFailure, RetryLater

log = logging.getLogger(__name__)

_ERROR_LIMIT = 2000


def _describe(exc: BaseException) -> str:
    text = "".join(traceback.format_exception_only(type(exc), exc)).strip()
    return text[:_ERROR_LIMIT]


@dataclass(frozen=True)
class Verdict:
    """What one attempt makes of its job: done, retried at `run_at`, or parked."""

    job_id: int
    state: Literal["done", "retry", "parked"]
    error: str = ""
    run_at: int = 0


def judge(kind: JobKind, job: Row, error: Exception | None, now: int) -> Verdict:
    """The verdict on an attempt that ended with `error` (None: success), logged."""
    if error is None:
        return Verdict(job["id"], "done")
    attempts = job["attempts"]
    if isinstance(error, PermanentFailure) or attempts >= job["max_attempts"]:
        log.warning(
            "job %d (%s) parked after %d attempts: %s",
            job["id"],
            kind.name,
            attempts,
            _describe(error),
        )
        return Verdict(job["id"], "parked", _describe(error))
    delay = error.delay if isinstance(error, RetryLater) else kind.backoff(attempts)
    log.info(
        "job %d (%s) attempt %d failed, retrying in %.0fs: %s",
        job["id"],
        kind.name,
        attempts,
        delay,
        _describe(error),
    )
    return Verdict(job["id"], "retry", _describe(error), now + int(delay * 1000))


async def record(conn: Connection, worker: str, verdicts: list[Verdict], now: int) -> None:
    """Write verdicts on jobs `worker` holds, in the caller's unit."""
    await job_rows.finish(
        conn,
        worker,
        done=[v.job_id for v in verdicts if v.state == "done"],
        retries=[(v.job_id, v.run_at, v.error) for v in verdicts if v.state == "retry"],
        parks=[(v.job_id, v.error) for v in verdicts if v.state == "parked"],
        now=now,
    )
