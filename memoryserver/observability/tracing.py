"""Optional OpenTelemetry tracing: a server span per HTTP request, exported over OTLP/HTTP.

On only when OTEL_EXPORTER_OTLP_ENDPOINT is set and the SDK is installed
(`pip install -r requirements/otel.txt`); otherwise `traced(app)` returns `app` itself,
so the request path carries no tracing code at all.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings

from memoryserver.observability.request_id import REQUEST_ID_SCOPE_KEY

log = logging.getLogger(__name__)

# The lean API handler leaves the URL pattern name here, to name the span after the route.
ROUTE_SCOPE_KEY = "memoryserver.route"


def tracer_or_none() -> Any | None:
    """A tracer exporting to OTEL_EXPORTER_OTLP_ENDPOINT, or None when tracing is off."""
    endpoint = getattr(settings, "OTEL_EXPORTER_OTLP_ENDPOINT", None)
    if not endpoint:
        return None
    try:
        from opentelemetry import trace
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
    except ImportError as error:
        log.warning(
            "OTEL_EXPORTER_OTLP_ENDPOINT is set but tracing is off: %s. "
            "Install requirements/otel.txt to export traces.",
            error,
        )
        return None
    provider = TracerProvider(resource=Resource.create({"service.name": settings.OTEL_SERVICE_NAME}))
    exporter = OTLPSpanExporter(endpoint=f"{endpoint.rstrip('/')}/v1/traces")
    provider.add_span_processor(BatchSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    log.info("Tracing: spans go to %s as service '%s'", endpoint, settings.OTEL_SERVICE_NAME)
    return trace.get_tracer("memoryserver")


def flush_spans() -> None:
    """Export the spans still buffered (at shutdown: a signal-ended process skips atexit)."""
    try:
        from opentelemetry import trace
    except ImportError:
        return
    provider = trace.get_tracer_provider()
    force_flush = getattr(provider, "force_flush", None)  # only the SDK's provider buffers
    if force_flush is not None:
        force_flush(5000)


def traced(app: Any) -> Any:
    """`app` with a span per HTTP request when tracing is configured, else `app` unchanged."""
    tracer = tracer_or_none()
    return app if tracer is None else TracingMiddleware(app, tracer)


class TracingMiddleware:
    """ASGI middleware: one SERVER span per HTTP request, continuing an incoming `traceparent`."""

    def __init__(self, app: Any, tracer: Any) -> None:
        self.app = app
        self.tracer = tracer

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        from opentelemetry import propagate, trace

        carrier = {
            name.decode("latin-1"): value.decode("latin-1") for name, value in scope.get("headers", [])
        }
        method = scope.get("method", "GET")
        with self.tracer.start_as_current_span(
            method, context=propagate.extract(carrier), kind=trace.SpanKind.SERVER
        ) as span:
            span.set_attribute("http.request.method", method)
            span.set_attribute("url.path", scope.get("path", ""))

            async def send_traced(message: dict[str, Any]) -> None:
                if message["type"] == "http.response.start":
                    span.set_attribute("http.response.status_code", message["status"])
                await send(message)

            await self.app(scope, receive, send_traced)
            route = scope.get(ROUTE_SCOPE_KEY)
            if route:
                span.update_name(f"{method} {route}")
                span.set_attribute("http.route", route)
            request_id = scope.get(REQUEST_ID_SCOPE_KEY)
            if request_id:
                span.set_attribute("request.id", request_id)
