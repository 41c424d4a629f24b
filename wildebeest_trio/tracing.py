"""Optional OpenTelemetry traces (WB_OTEL_ENDPOINT): a span per request, per database unit
and per outgoing delivery, sent over OTLP/HTTP to the admin's collector.

Off by default, and the packages are optional (`pip install 'wildebeest-trio[otel]'`):
without an endpoint every hook is one global check and a shared null context.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator
from typing import Any

log = logging.getLogger(__name__)

_NULL = contextlib.nullcontext()
_tracer: Any = None
_provider: Any = None
_propagator: Any = None


def enabled() -> bool:
    return _tracer is not None


def setup(endpoint: str, *, role: str) -> bool:
    """Send spans to `endpoint` (an OTLP/HTTP collector: `http://host:4318`); whether on."""
    global _tracer, _provider, _propagator
    if not endpoint:
        return False
    try:
        # Optional packages: imported only when an admin asked for traces.
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
        from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
    except ImportError:
        log.warning(
            "WB_OTEL_ENDPOINT is set but OpenTelemetry is not installed "
            "(pip install 'wildebeest-trio[otel]'): no traces"
        )
        return False
    shutdown()
    url = endpoint.rstrip("/")
    if not url.endswith("/v1/traces"):
        url += "/v1/traces"
    resource = Resource.create(
        {"service.name": "wildebeest-trio", "service.instance.id": f"{role}-{os.getpid()}"}
    )
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=url, timeout=10)))
    _provider = provider
    _tracer = provider.get_tracer("wildebeest_trio")
    _propagator = TraceContextTextMapPropagator()
    log.info("sending traces to %s", url)
    return True


def flush() -> None:
    """Send the spans ended so far (tests; a process about to exit)."""
    if _provider is not None:
        _provider.force_flush(10_000)


def shutdown() -> None:
    """Flush and stop sending."""
    global _tracer, _provider
    if _provider is not None:
        _provider.shutdown()
    _tracer = _provider = None


@contextlib.contextmanager
def _request(method: str, target: str, raw_headers: list[tuple[bytes, bytes]]) -> Iterator[Any]:
    headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in raw_headers}
    # A caller's `traceparent` makes this request's span its child.
    parent = _propagator.extract(headers) if "traceparent" in headers else None
    with _tracer.start_as_current_span(
        f"{method}",
        context=parent,
        kind=_server_kind(),
        attributes={"http.request.method": method, "url.path": target},
    ) as span:
        yield span


def _server_kind() -> Any:
    # Imported with the SDK; only reached once `setup` succeeded.
    from opentelemetry.trace import SpanKind

    return SpanKind.SERVER


def request_span(method: str, target: str, headers: list[tuple[bytes, bytes]]) -> Any:
    """A context manager: the span of one HTTP request (a null one when off); `finish_request`
    names it after its route and records its status."""
    if _tracer is None:
        return _NULL
    return _request(method, target, headers)


def finish_request(span: Any, route: str, status: int) -> None:
    if span is None:
        return
    span.update_name(f"{span.attributes.get('http.request.method', '')} {route}")
    span.set_attribute("http.route", route)
    span.set_attribute("http.response.status_code", status)
    if status >= 500:
        # Imported with the SDK (see `_server_kind`).
        from opentelemetry.trace import Status, StatusCode

        span.set_status(Status(StatusCode.ERROR))


def span(name: str, **attributes: Any) -> Any:
    """A context manager: an internal span (a delivery...), or a null one; `a_b=` attributes
    are sent as `a.b` (OpenTelemetry's dotted names)."""
    if _tracer is None:
        return _NULL
    dotted = {key.replace("_", "."): value for key, value in attributes.items()}
    return _tracer.start_as_current_span(name, attributes=dotted)


def unit_span(name: str, unit: Any) -> Any:
    """A database unit's span, named by its function (a null one when off)."""
    if _tracer is None:
        return _NULL
    label = getattr(unit, "__qualname__", None) or getattr(unit, "__name__", "unit")
    return _tracer.start_as_current_span(name, attributes={"code.function.name": str(label)})
