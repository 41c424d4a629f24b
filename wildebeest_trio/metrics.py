"""Prometheus metrics of one process, and their text exposition for `GET /metrics`.

Every metric is labelled, so its values are made on first use: `use_processes` can
still switch this process to prometheus-client's multi-process mode (values in
memory-mapped files under `PROMETHEUS_MULTIPROC_DIR`, summed over the processes at a
scrape) when `serve` is about to start delivery processes. Children are looked up in
dictionaries, not through `labels()`, so a request pays two dictionary lookups and an
observation.
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
    values,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

log = logging.getLogger(__name__)

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
# What `generate_latest` writes (the classic text format every Prometheus reads).
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# Mastodon's API answers in milliseconds; a minute is a stream or a stuck request.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
DB_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0)
OTHER = "other"
METHODS = frozenset(("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "WEBSOCKET"))
# A domain earns its own label after this many deliveries (a one-off goes to `other`).
DOMAIN_ADMISSION = 10
# Candidates counted towards admission; past it the counts start again.
_CANDIDATE_LIMIT = 4096

REGISTRY = CollectorRegistry(auto_describe=False)

HTTP_REQUESTS = Counter(
    "wildebeest_http_requests",
    "HTTP requests answered, by method, route template and status",
    ["method", "route", "status"],
    registry=REGISTRY,
)
HTTP_SECONDS = Histogram(
    "wildebeest_http_request_duration_seconds",
    "Time from a request's arrival to its last byte (a stream: its whole life)",
    ["method", "route"],
    buckets=LATENCY_BUCKETS,
    registry=REGISTRY,
)
DELIVERIES = Counter(
    "wildebeest_deliveries",
    "Outgoing deliveries by result (every one, exact)",
    ["result"],
    registry=REGISTRY,
)
DELIVERIES_BY_DOMAIN = Counter(
    "wildebeest_deliveries_by_domain",
    "Outgoing deliveries by remote domain (the busiest WB_METRICS_DOMAINS; rest `other`)",
    ["domain", "result"],
    registry=REGISTRY,
)
INBOX = Counter(
    "wildebeest_inbox_deliveries",
    "Incoming deliveries: accepted, or refused and why",
    ["outcome", "reason"],
    registry=REGISTRY,
)
STREAMS = Gauge(
    "wildebeest_stream_connections",
    "Open streaming connections (server-sent events or WebSocket)",
    ["transport"],
    multiprocess_mode="livesum",
    registry=REGISTRY,
)
DB_UNIT_SECONDS = Histogram(
    "wildebeest_db_unit_duration_seconds",
    "Database units of work: a read, or a write's transaction up to its commit",
    ["kind"],
    buckets=DB_BUCKETS,
    registry=REGISTRY,
)
RSS = Gauge(
    "wildebeest_process_resident_memory_bytes",
    "Resident memory of each process",
    ["role"],
    multiprocess_mode="liveall",
    registry=REGISTRY,
)

_touched = False
_http: dict[tuple[str, str, int], tuple[Any, Any]] = {}
_db: dict[str, Any] = {}
_deliveries: dict[tuple[str, str], tuple[Any, Any]] = {}
_labelled_domains: set[str] = set()
_candidates: dict[str, int] = {}
_domain_limit = 20
_role = "serve"


def _child(metric: Any, *labels: str) -> Any:
    global _touched
    _touched = True
    return metric.labels(*labels)


def multiprocess_dir() -> str | None:
    """The folder of multi-process values, when this process writes there."""
    return os.environ.get(MULTIPROC_ENV) or None


def configure(*, domains: int, role: str) -> None:
    """This process's bound on domain labels and its role (`serve`, `worker`, `delivery`)."""
    global _domain_limit, _role
    _domain_limit = domains
    _role = role
    directory = multiprocess_dir()
    if directory is not None:
        # The admin's folder may not exist yet (a fresh tmpfs): values are written there.
        Path(directory).mkdir(parents=True, exist_ok=True)


def use_processes(data_dir: Path) -> str | None:
    """Before starting more processes: their values and this one's go to one folder.

    An admin's `PROMETHEUS_MULTIPROC_DIR` is used as it is (they empty it when the
    service starts); otherwise `<data dir>/metrics`, emptied now. The children inherit
    the variable. None when this process already made values of its own (a test
    calling `serve` twice): it then stays single-process.
    """
    directory = multiprocess_dir()
    if directory is None:
        if _touched:
            log.warning("metrics stay single-process: values were made before the switch")
            return None
        path = data_dir / "metrics"
        shutil.rmtree(path, ignore_errors=True)
        path.mkdir(parents=True, exist_ok=True)
        directory = str(path)
        os.environ[MULTIPROC_ENV] = directory
        # What prometheus-client reads the variable for at import, done now.
        values.ValueClass = values.MultiProcessValue()  # type: ignore[no-untyped-call]
    return directory


def process_gone(pid: int) -> None:
    """A child process exited: its live gauges (streams, memory) no longer count."""
    directory = multiprocess_dir()
    if directory is not None:
        multiprocess.mark_process_dead(pid, directory)  # type: ignore[no-untyped-call]


def http_request(method: str, route: str, status: int, seconds: float) -> None:
    """Count one answered request and its duration (`route`: a template, or `unmatched`)."""
    if method not in METHODS:
        method = OTHER  # a client's invented method is not a new series
    key = (method, route, status)
    pair = _http.get(key)
    if pair is None:
        pair = _http[key] = (
            _child(HTTP_REQUESTS, method, route, str(status)),
            _child(HTTP_SECONDS, method, route),
        )
    pair[0].inc()
    pair[1].observe(seconds)


def db_unit(kind: str, seconds: float) -> None:
    """Observe one unit of work (`read` or `write`)."""
    histogram = _db.get(kind)
    if histogram is None:
        histogram = _db[kind] = _child(DB_UNIT_SECONDS, kind)
    histogram.observe(seconds)


def _domain_label(domain: str) -> str:
    if domain in _labelled_domains:
        return domain
    if len(_labelled_domains) >= _domain_limit:
        return OTHER
    seen = _candidates.get(domain, 0) + 1
    if seen >= DOMAIN_ADMISSION:
        _candidates.pop(domain, None)
        _labelled_domains.add(domain)
        return domain
    if len(_candidates) >= _CANDIDATE_LIMIT:
        _candidates.clear()
    _candidates[domain] = seen
    return OTHER


def delivery(domain: str, result: str) -> None:
    """Count one outgoing delivery: `delivered`, `refused` (an HTTP error), `failed`
    (no answer), `deferred` (breaker open) or `dropped` (cannot be sent)."""
    key = (_domain_label(domain), result)
    pair = _deliveries.get(key)
    if pair is None:
        pair = _deliveries[key] = (
            _child(DELIVERIES, result),
            _child(DELIVERIES_BY_DOMAIN, key[0], result),
        )
    pair[0].inc()
    pair[1].inc()


def inbox(outcome: str, reason: str = "") -> None:
    """Count one incoming delivery: `accepted`, or `refused` with a short reason."""
    _child(INBOX, outcome, reason).inc()


@contextmanager
def stream_connection(transport: str) -> Iterator[None]:
    """Count a streaming connection while it is open."""
    gauge = _child(STREAMS, transport)
    gauge.inc()
    try:
        yield
    finally:
        gauge.dec()


def resident_bytes() -> int:
    """This process's resident memory (Linux' /proc; elsewhere the peak)."""
    try:
        with open("/proc/self/statm", "rb") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        import resource  # only where /proc is missing

        return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024


def sample_process() -> None:
    """Record this process's memory now (a scrape, and every few seconds)."""
    _child(RSS, _role).set(resident_bytes())


class _Fixed(Collector):
    """Families made at the scrape (the job queue, from the database)."""

    def __init__(self, families: Iterable[Any]) -> None:
        self.families = list(families)

    def collect(self) -> Iterable[Any]:
        return self.families


def queue_families(rows: Iterable[tuple[str, str, int, float | None]]) -> list[Any]:
    """`(kind, state, count, oldest due age in seconds)` rows as gauge families."""
    depth = GaugeMetricFamily(
        "wildebeest_jobs", "Jobs in the queue by kind and state", labels=["kind", "state"]
    )
    age = GaugeMetricFamily(
        "wildebeest_job_oldest_due_age_seconds",
        "How long the oldest due pending job of each kind has waited",
        labels=["kind"],
    )
    ages: dict[str, float] = {}
    for kind, state, count, oldest in rows:
        depth.add_metric([kind, state], count)
        if oldest is not None:
            ages[kind] = max(ages.get(kind, 0.0), oldest)
    for kind, seconds in sorted(ages.items()):
        age.add_metric([kind], seconds)
    return [depth, age]


def exposition(extra: Iterable[Any] = ()) -> bytes:
    """The text format: this process's metrics (or every process's), then `extra`."""
    sample_process()
    directory = multiprocess_dir()
    registry = CollectorRegistry(auto_describe=False)
    if directory is not None:
        multiprocess.MultiProcessCollector(registry, path=directory)  # type: ignore[no-untyped-call]
    else:
        registry.register(_Own())
    registry.register(_Fixed(extra))
    return bytes(generate_latest(registry))


class _Own(Collector):
    """This process's metrics (single-process mode)."""

    def collect(self) -> Iterable[Any]:
        return REGISTRY.collect()


__all__ = [
    "CONTENT_TYPE",
    "configure",
    "db_unit",
    "delivery",
    "exposition",
    "http_request",
    "inbox",
    "process_gone",
    "queue_families",
    "sample_process",
    "stream_connection",
    "use_processes",
]
