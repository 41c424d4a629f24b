"""The engine of a batched job kind: many jobs claimed, run and recorded per crossing.

A kind with thousands of small jobs (a delivery per inbox) spent more on bookkeeping
than on its work when each job was claimed, looked up and completed on its own: three
store crossings per job. One engine per process runs such a kind instead:

- a claim leases up to `size` due jobs (as many as there is room for, under `capacity`
  jobs in flight), and in the same transaction fetches their shared payload parts (each
  part once per process: it never changes) and runs the kind's `lookup`;
- the kind's `run` works through a batch and reports each job's outcome; batches run
  side by side, so a slow one does not hold up the next claim;
- outcomes are written together with their effects: while one write is under way (and
  for the kind's `gather` seconds after the first) the next outcomes gather, so under
  load each write carries many;
- leases of every job in flight are extended in one write; a job whose lease was lost
  is no longer recorded by this engine (another worker has it);
- before its first claim, an engine prepares its statements on the store's connections
  and runs the kind's `warm`, so the first batch after a start does not pay for them;
- on cancellation (shutdown), reported outcomes are written and the jobs not finished
  are handed back at once, their attempt not counted. A process that dies leaves its
  jobs leased: they are claimed again when the lease runs out.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from typing import TYPE_CHECKING, Any

import trio

from ..ids import now_ms
from ..store import Connection, Row, RowView
from ..store import jobs as job_rows
from .kinds import BatchedKind, Effect
from .outcomes import judge, record

if TYPE_CHECKING:
    from ..runtime import Runtime

log = logging.getLogger(__name__)

#: Shared payload parts kept per process (a fan-out's activity, a few KB each).
SHARED_CACHE = 64
#: Connections the engine's statements are prepared on at start: its claims, writes and
#: lease extensions overlap, each on a connection of its own (PostgreSQL's pool opens two).
WARM_CONNECTIONS = 2


class _Engine:
    def __init__(self, rt: Runtime, batched: BatchedKind) -> None:
        self.rt = rt
        self.batched = batched
        self.kind = batched.kind
        self.worker = f"{rt.owner}/{batched.kind.name}"
        self.capacity = max(1, batched.capacity(rt.config))
        self.size = max(1, min(batched.size, self.capacity))
        # Claim again once this much room is free: batches stay big under load.
        self.low_water = max(1, self.size // 2)
        self.in_flight: dict[int, Row] = {}
        self.outcomes: list[tuple[RowView, Exception | None, Effect | None]] = []
        self._outcome = trio.Event()
        self._room = trio.Event()
        self._shared: OrderedDict[int, str] = OrderedDict()

    # Reporting -------------------------------------------------------------------------

    def report(self, job: RowView, error: Exception | None, effect: Effect | None = None) -> None:
        """Note one job's outcome (once; later reports and lost leases are ignored)."""
        if self.in_flight.pop(job["id"], None) is None:
            return
        self.outcomes.append((job, error, effect))
        self._outcome.set()
        if self.capacity - len(self.in_flight) >= self.low_water:
            self._room.set()

    async def write_outcomes(self) -> None:
        """Write every outcome reported so far, with their effects, in one unit."""
        count = len(self.outcomes)
        if not count:
            return
        now = now_ms()
        batch = self.outcomes[:count]
        verdicts = [judge(self.kind, job, error, now) for job, error, _ in batch]
        effects = [effect for _, _, effect in batch if effect is not None]

        async def unit(conn: Connection) -> None:
            await record(conn, self.worker, verdicts, now)
            for effect in effects:
                await effect(conn)

        await self.rt.store.write(unit)
        # Only once written: a write cut short (shutdown) is tried again from the start.
        del self.outcomes[:count]

    async def record_loop(self) -> None:
        while True:
            await self._outcome.wait()
            if self.batched.gather:
                await trio.sleep(self.batched.gather)
            self._outcome = trio.Event()
            try:
                await self.write_outcomes()
            except Exception:
                # The jobs stay leased to us and are tried again once the lease runs out.
                log.exception("could not record %d %s outcomes", len(self.outcomes), self.kind)
                self.outcomes.clear()

    # Claiming --------------------------------------------------------------------------

    async def _claim(
        self, conn: Connection, limit: int, known: frozenset[int]
    ) -> tuple[list[Row], dict[int, str], Any]:
        lease_ms = int(self.rt.config.job_lease * 1000)
        jobs = await job_rows.claim(
            conn,
            kinds=[self.kind.name],
            worker=self.worker,
            now=now_ms(),
            lease_ms=lease_ms,
            limit=limit,
        )
        if not jobs:
            return [], {}, None
        wanted = {j["shared_id"] for j in jobs if j["shared_id"] is not None} - known
        shared = await job_rows.shared_payloads(conn, wanted)
        return jobs, shared, await self.batched.lookup(conn, jobs)

    def _attach_shared(self, jobs: list[Row], fetched: dict[int, str]) -> None:
        cache = self._shared
        for shared_id, text in fetched.items():
            cache[shared_id] = text
        for job in jobs:
            shared_id = job["shared_id"]
            if shared_id is not None:
                job["shared"] = cache.get(shared_id)
                if shared_id in cache:
                    cache.move_to_end(shared_id)
        while len(cache) > SHARED_CACHE:
            cache.popitem(last=False)

    async def claim_loop(self, nursery: trio.Nursery) -> None:
        signal = self.rt.job_signal
        while True:
            room = self.capacity - len(self.in_flight)
            if room < self.low_water:
                self._room = trio.Event()
                await self._room.wait()
                continue
            seen = signal.generation
            limit = min(self.size, room)
            jobs, fetched, facts = await self.rt.store.write(
                self._claim, limit, frozenset(self._shared)
            )
            if not jobs:
                await signal.wait_at_most(self.rt.config.job_poll_interval, seen)
                continue
            self._attach_shared(jobs, fetched)
            for job in jobs:
                self.in_flight[job["id"]] = job
            nursery.start_soon(self._run, jobs, facts)
            if len(jobs) < limit:
                # The queue had no more due: wait for news rather than poll it empty.
                await signal.wait_at_most(self.rt.config.job_poll_interval, seen)

    async def _run(self, jobs: list[Row], facts: Any) -> None:
        error: Exception | None = None
        try:
            await self.batched.run(self.rt, jobs, facts, self.report)
        except Exception as exc:
            log.exception("a batch of %d %s jobs failed", len(jobs), self.kind)
            error = exc
        for job in jobs:
            # Reports are taken once: these are the jobs the run did not report.
            self.report(job, error or RuntimeError("the batch ended without an outcome"))

    # Starting ------------------------------------------------------------------------

    async def warm(self, connections: int = WARM_CONNECTIONS) -> None:
        """Before the first claim: prepare the engine's and the kind's statements on the
        store's first `connections` connections (units side by side hold one each), then
        run the kind's own warm-up. A failure is logged, not raised: the first batch then
        pays instead."""
        try:
            async with trio.open_nursery() as nursery:
                for _ in range(connections):
                    nursery.start_soon(self.rt.store.write, self._prepare)
            if self.batched.warm is not None:
                await self.batched.warm(self.rt)
        except Exception:
            log.exception("warming the %s engine failed; going on cold", self.kind)

    async def _prepare(self, conn: Connection) -> None:
        kinds = [self.kind.name]
        await job_rows.prepare_batches(conn, kinds=kinds, worker=self.worker, now=now_ms())
        if self.batched.prepare is not None:
            await self.batched.prepare(conn)

    # Leases ----------------------------------------------------------------------------

    async def lease_loop(self) -> None:
        lease = self.rt.config.job_lease
        while True:
            await trio.sleep(lease / 3)
            held = list(self.in_flight)
            if not held:
                continue
            until = now_ms() + int(lease * 1000)
            kept = await self.rt.store.write(job_rows.extend_leases, held, self.worker, until)
            for job_id in set(held) - kept:
                if self.in_flight.pop(job_id, None) is not None:
                    log.warning("job %d: lease lost; its outcome will not be recorded", job_id)

    async def hand_back(self) -> None:
        """On the way out: write what was reported, give back what was not."""
        try:
            await self.write_outcomes()
        finally:
            unfinished = list(self.in_flight)
            self.in_flight.clear()
            if unfinished:
                await self.rt.store.write(job_rows.release, unfinished, self.worker, now_ms())


async def run_batched(rt: Runtime, batched: BatchedKind) -> None:
    """Run one batched kind's engine until cancelled."""
    engine = _Engine(rt, batched)
    await engine.warm()
    try:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(engine.record_loop)
            nursery.start_soon(engine.lease_loop)
            await engine.claim_loop(nursery)
    finally:
        with trio.CancelScope(shield=True):
            await engine.hand_back()
