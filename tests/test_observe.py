"""What an operator watches: `GET /metrics`, `GET /health/ready` and JSON logs."""

from __future__ import annotations

import io
import json
import logging
import signal
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
import trio
from prometheus_client.parser import text_string_to_metric_families
from trio_websocket import open_websocket_url

from tests.conftest import make_config
from tests.test_cli import _env
from tests.test_delivery_processes import _serve
from tests.test_streaming import _token as stream_token
from wildebeest_trio import logs, metrics, tracing
from wildebeest_trio.assembly import open_server_runtime
from wildebeest_trio.http import create_app
from wildebeest_trio.ids import now_ms
from wildebeest_trio.runtime import Runtime
from wildebeest_trio.store import Connection
from wildebeest_trio.store import jobs as job_rows

FAR = {"client": ("203.0.113.9", 4000)}
NEAR = {"client": ("127.0.0.1", 4000)}


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def _value(text: str, name: str, **labels: str) -> float | None:
    return _samples(text).get((name, tuple(sorted(labels.items()))))


async def _scrape(client: Any) -> str:
    response = await client.get("/metrics", scope_base=NEAR)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    return str(await response.get_data(as_text=True))


async def test_metrics_count_requests_by_route_template_and_status(client: Any) -> None:
    before = _value(
        await _scrape(client),
        "wildebeest_http_requests_total",
        method="GET",
        route="/api/v1/accounts/<id:account_id>",
        status="404",
    )
    for _ in range(3):
        assert (await client.get("/api/v1/accounts/12345")).status_code == 404
    assert (await client.get("/no/such/page")).status_code == 404
    text = await _scrape(client)
    route = "/api/v1/accounts/<id:account_id>"
    after = _value(text, "wildebeest_http_requests_total", method="GET", route=route, status="404")
    assert after == (before or 0) + 3
    assert _value(text, "wildebeest_http_request_duration_seconds_count", method="GET", route=route)
    # A path no route matches is one series, whatever the path.
    assert _value(
        text, "wildebeest_http_requests_total", method="GET", route="unmatched", status="404"
    )
    assert "/no/such/page" not in text
    assert _value(text, "wildebeest_db_unit_duration_seconds_count", kind="read")
    assert _value(text, "wildebeest_process_resident_memory_bytes", role="serve")


async def test_metrics_are_only_for_allowed_addresses(client: Any) -> None:
    response = await client.get("/metrics", scope_base=FAR)
    assert response.status_code == 404
    assert await response.get_json() == {"error": "Record not found"}


async def test_metrics_show_the_job_queue_by_kind(rt: Runtime, client: Any) -> None:
    now = now_ms()

    async def unit(conn: Connection) -> None:
        for n, kind in enumerate(("test.a", "test.a", "test.b")):
            await job_rows.enqueue(
                conn,
                job_id=rt.ids.next_id(),
                kind=kind,
                payload={"n": n},
                now=now,
                max_attempts=3,
                run_at=now - 60_000,
            )

    await rt.store.write(unit)
    text = await _scrape(client)
    assert _value(text, "wildebeest_jobs", kind="test.a", state="pending") == 2
    assert _value(text, "wildebeest_jobs", kind="test.b", state="pending") == 1
    age = _value(text, "wildebeest_job_oldest_due_age_seconds", kind="test.a")
    assert age is not None and age >= 60


async def test_refused_and_accepted_inbox_deliveries_are_counted(client: Any) -> None:
    def refused(text: str, reason: str) -> float:
        found = _value(text, "wildebeest_inbox_deliveries_total", outcome="refused", reason=reason)
        return found or 0

    before = await _scrape(client)
    activity = {"type": "Create", "actor": "https://remote.example/users/a", "id": "x"}
    response = await client.post(
        "/inbox", data=json.dumps(activity), headers={"Content-Type": "application/activity+json"}
    )
    assert response.status_code == 401
    response = await client.post(
        "/inbox", data="not json", headers={"Content-Type": "application/activity+json"}
    )
    assert response.status_code == 400
    after = await _scrape(client)
    assert refused(after, "unsigned") == refused(before, "unsigned") + 1
    assert refused(after, "malformed") == refused(before, "malformed") + 1


def test_delivery_domains_have_a_bounded_label_count() -> None:
    metrics.configure(domains=3, role="serve")
    try:
        for n in range(50):
            for _ in range(metrics.DOMAIN_ADMISSION):
                metrics.delivery(f"busy{n}.example", "delivered")
        metrics.delivery("once.example", "refused")
    finally:
        metrics.configure(domains=20, role="serve")
    text = metrics.exposition().decode()
    domains = {
        labels["domain"]
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "wildebeest_deliveries_by_domain_total"
        for labels in [sample.labels]
    }
    assert "other" in domains
    assert "once.example" not in domains
    assert len(domains - {"other"}) <= 3 + len(metrics._labelled_domains - set(domains))
    assert len(metrics._labelled_domains) <= 20
    # Totals by result stay exact, whatever the domain label.
    assert (_value(text, "wildebeest_deliveries_total", result="delivered") or 0) >= 500


async def test_ready_when_the_database_answers_and_jobs_are_worked(client: Any) -> None:
    response = await client.get("/health/ready")
    assert response.status_code == 200
    body = await response.get_json()
    assert body["status"] == "ready"
    assert body["database"] == "ok"
    assert (await client.get("/health")).status_code == 200


async def test_not_ready_when_due_jobs_wait_and_no_worker_holds_one(
    tmp_path: Any, database_url: str
) -> None:
    config = make_config(tmp_path, database_url, ready_job_delay=30)
    async with open_server_runtime(config) as rt:
        app = create_app(rt)
        now = now_ms()

        async def unit(conn: Connection) -> None:
            await job_rows.enqueue(
                conn,
                job_id=rt.ids.next_id(),
                kind="test.stuck",
                payload={},
                now=now,
                max_attempts=3,
                run_at=now - 120_000,
            )

        await rt.store.write(unit)
        async with app.test_app() as test_app:
            client = test_app.test_client()
            response = await client.get("/health/ready")
            assert response.status_code == 503
            body = await response.get_json()
            assert body["status"] == "unready"
            assert "job queue not worked" in body["reason"]
            assert body["oldest_unworked_job_seconds"] >= 120
            # A worker takes a job: the queue is being worked again.
            await rt.store.write(
                job_rows.claim,
                kinds=["test.stuck"],
                worker="w1",
                now=now_ms(),
                lease_ms=60_000,
                limit=1,
            )
            assert (await client.get("/health/ready")).status_code == 200


async def test_not_ready_when_the_database_fails(
    client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def down(conn: Connection, now: int) -> None:
        raise ConnectionRefusedError("the database is down")

    monkeypatch.setattr(job_rows, "stalled_since", down)
    response = await client.get("/health/ready")
    assert response.status_code == 503
    body = await response.get_json()
    assert body == {"status": "unready", "reason": "database unavailable: ConnectionRefusedError"}


@pytest.fixture
def json_lines() -> Iterator[io.StringIO]:
    """What JSON logging writes, as `WB_LOG_FORMAT=json` sets it up."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(logs.JsonFormatter())
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield out
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)


async def test_json_logs_carry_the_request_id_on_every_line(
    client: Any, json_lines: io.StringIO
) -> None:
    activity = {"type": "Create", "actor": "https://remote.example/users/a", "id": "x"}
    response = await client.post(
        "/inbox",
        data=json.dumps(activity),
        headers={"Content-Type": "application/activity+json", "User-Agent": "test/1"},
    )
    assert response.status_code == 401
    request_id = response.headers["X-Request-Id"]
    lines = [json.loads(line) for line in json_lines.getvalue().splitlines()]
    mine = [line for line in lines if line.get("request_id") == request_id]
    loggers = {line["logger"] for line in mine}
    # The inbox's refusal, logged deep inside the request, and the access log line.
    assert "wildebeest_trio.federation.inbox" in loggers
    assert "wildebeest_trio.access" in loggers
    access = next(line for line in mine if line["logger"] == "wildebeest_trio.access")
    assert access["status"] == 401
    assert access["request"] == "POST /inbox"
    assert access["user_agent"] == "test/1"
    assert access["level"] == "info"
    assert isinstance(access["duration_ms"], float)
    # Lines outside any request have no id.
    logging.getLogger("wildebeest_trio.test").info("outside")
    last = json.loads(json_lines.getvalue().splitlines()[-1])
    assert last["message"] == "outside" and "request_id" not in last


def test_serve_with_delivery_processes_shows_every_process_in_json_logs(
    tmp_path: Path,
) -> None:
    """`serve` with a delivery process: /metrics sums both (multi-process mode), and
    WB_LOG_FORMAT=json writes one JSON object a line, the access log included."""
    env = _env(
        tmp_path,
        f"sqlite:///{tmp_path / 'db.sqlite'}",
        WB_DELIVERY_PROCESSES="1",
        WB_LOG_FORMAT="json",
    )
    env.pop(metrics.MULTIPROC_ENV, None)
    log_path = tmp_path / "serve.log"
    base = f"http://{env['WB_LISTEN']}"
    server = _serve(env, log_path)
    try:
        deadline = time.monotonic() + 60
        roles: set[str] = set()
        while roles != {"serve", "delivery"}:
            assert time.monotonic() < deadline, f"roles seen: {roles}"
            assert server.poll() is None, log_path.read_text()
            time.sleep(0.2)
            try:
                response = httpx.get(f"{base}/metrics", timeout=5)
            except httpx.HTTPError:
                continue
            assert response.status_code == 200
            roles = {
                sample.labels["role"]
                for family in text_string_to_metric_families(response.text)
                for sample in family.samples
                if sample.name == "wildebeest_process_resident_memory_bytes"
            }
        assert (tmp_path / "data" / "metrics").is_dir()
        assert httpx.get(f"{base}/health/ready", timeout=5).json()["status"] == "ready"
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    lines = [json.loads(line) for line in log_path.read_text().splitlines() if line.strip()]
    access = [line for line in lines if line["logger"] == "wildebeest_trio.access"]
    assert any(line["request"] == "GET /health/ready" and line["status"] == 200 for line in access)
    assert all(line["request_id"] for line in access)


@pytest.fixture
def collector() -> Iterator[tuple[str, list[bytes]]]:
    """An OTLP/HTTP collector on loopback: its URL, and the request bodies it received."""
    received: list[bytes] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            received.append(self.rfile.read(length))
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", received
    finally:
        server.shutdown()
        server.server_close()


async def test_traces_reach_the_collector_with_the_callers_trace(
    client: Any, collector: tuple[str, list[bytes]]
) -> None:
    trace_pb2 = pytest.importorskip("opentelemetry.proto.collector.trace.v1.trace_service_pb2")
    url, received = collector
    assert tracing.setup(url, role="serve")
    try:
        trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
        response = await client.get(
            "/api/v1/accounts/12345",
            headers={"traceparent": f"00-{trace_id}-00f067aa0ba902b7-01"},
        )
        assert response.status_code == 404
        await trio.to_thread.run_sync(tracing.flush)
    finally:
        await trio.to_thread.run_sync(tracing.shutdown)
    spans = []
    for body in received:
        request = trace_pb2.ExportTraceServiceRequest.FromString(body)
        for resource in request.resource_spans:
            for scope in resource.scope_spans:
                spans += scope.spans
    mine = [s for s in spans if s.trace_id.hex() == trace_id]
    names = {s.name for s in mine}
    assert "GET /api/v1/accounts/<id:account_id>" in names
    assert "db.read" in names  # the request's database units, in its trace
    root = next(s for s in mine if s.name.startswith("GET "))
    attributes = {a.key: a.value for a in root.attributes}
    assert attributes["http.response.status_code"].int_value == 404
    assert not tracing.enabled()


async def test_open_streams_are_counted(rt: Runtime, live_server: str) -> None:
    token = await stream_token(rt)

    async def streams(client: httpx.AsyncClient, transport: str) -> float:
        text = (await client.get("/metrics")).text
        return _value(text, "wildebeest_stream_connections", transport=transport) or 0

    async with httpx.AsyncClient(base_url=live_server, timeout=10) as client:
        before = await streams(client, "sse")
        async with client.stream(
            "GET", "/api/v1/streaming/public/local", params={"access_token": token}
        ) as response:
            lines = response.aiter_lines()  # kept: a dropped iterator closes the stream
            assert await lines.__anext__() == ":)"
            assert await streams(client, "sse") == before + 1
        with trio.fail_after(10):
            while await streams(client, "sse") != before:
                await trio.sleep(0.05)
        url = live_server.replace("http://", "ws://") + f"/api/v1/streaming?access_token={token}"
        async with open_websocket_url(url):
            with trio.fail_after(10):
                while await streams(client, "websocket") < 1:
                    await trio.sleep(0.05)
