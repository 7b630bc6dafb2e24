"""Observability: /metrics (auth, every metric), request ids, JSON logs without secrets, tracing off."""

from __future__ import annotations

import io
import json
import logging
import sys
import uuid
from collections.abc import Iterator

import pytest
from prometheus_client.parser import text_string_to_metric_families
from rq import Queue

from memoryserver.auth.api_tokens import create_token
from memoryserver.observability.logs import JsonFormatter, RequestIdFilter, TextFormatter, redact
from memoryserver.observability.request_id import current_request_id
from memoryserver.observability.tracing import traced
from memoryserver.queues import enqueue
from providers.llm.usage import Usage, record_usage
from server.worker import MemoryWorker

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(api, **headers: str) -> Samples:
    response = api.get("/metrics", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def test_metrics_need_a_token_unless_public(api, settings, redis_client):
    settings.AUTH_MODE = "token"
    refused = api.get("/metrics")
    assert refused.status_code == 401 and refused.headers["WWW-Authenticate"] == "Bearer"
    token, _ = create_token(
        redis_client, description="prometheus", scopes=["memory:read"], namespaces=["metrics"]
    )
    assert "agent_memory_redis_up" in api.get("/metrics", headers={"Authorization": f"Bearer {token}"}).text
    settings.METRICS_PUBLIC = True
    assert api.get("/metrics").status_code == 200


def test_requests_are_timed_by_route_name_and_status(api):
    before = scrape(api)
    assert api.get("/sessions/some-session/memory").status_code == 404
    assert api.get("/no/such/path").status_code == 404
    after = scrape(api)
    count = "agent_memory_http_request_duration_seconds_count"
    route = {"route": "working-memory", "method": "GET", "status": "404"}
    assert value(after, count, **route) == value(before, count, **route) + 1
    # The raw path never becomes a label value.
    assert not any("some-session" in str(labels) for _, labels in after)
    assert value(after, count, route="metrics", method="GET", status="200") >= 1


def test_searches_by_mode_and_embedded_texts_by_provider(api):
    before = scrape(api)
    api.post("/long-term-memory", json={"memories": [{"text": "The user likes green tea"}]})
    fresh = uuid.uuid4().hex  # queries no earlier test asked (search queries' vectors are cached)
    for mode in ("semantic", "keyword", "hybrid"):
        body = {"text": f"tea {mode} {fresh}", "search_mode": mode}
        assert api.post("/long-term-memory/search", json=body).status_code == 200
    api.post("/long-term-memory/search", json={"text": ""})
    after = scrape(api)
    for mode in ("semantic", "keyword", "hybrid", "filter"):
        searches = "agent_memory_searches_total"
        assert value(after, searches, mode=mode) == value(before, searches, mode=mode) + 1, mode
    embedded = "agent_memory_embedded_texts_total"
    # The stored memory, and the query of the semantic and hybrid searches.
    assert value(after, embedded, provider="local") >= value(before, embedded, provider="local") + 3
    cache = "agent_memory_query_embedding_cache_total"
    assert value(after, cache, result="miss") >= value(before, cache, result="miss") + 2
    # The same question again: its vector comes from the cache, the model embeds nothing.
    api.post("/long-term-memory/search", json={"text": f"tea semantic {fresh}", "search_mode": "semantic"})
    again = scrape(api)
    assert value(again, cache, result="hit") == value(after, cache, result="hit") + 1
    assert value(again, embedded, provider="local") == value(after, embedded, provider="local")


def test_queue_depth_failures_and_token_usage_come_from_redis(api, redis_client):
    enqueue("summarization", "sessions_app.tasks.summarize_session", namespace="n", session_id="s")
    # A job that fails at once (missing argument), queued without retries: it ends up failed.
    Queue("default", connection=redis_client).enqueue("memoryserver.task_registry.typed")
    worker = MemoryWorker([Queue("default", connection=redis_client)], connection=redis_client, job_timeout=5)
    worker.work(burst=True)
    record_usage("summarization", "gpt-4o-mini", "openai", Usage(input_tokens=120, output_tokens=30))

    samples = scrape(api)
    assert value(samples, "agent_memory_queue_jobs", queue="summarization") == 1
    assert value(samples, "agent_memory_queue_jobs", queue="default") == 0
    assert value(samples, "agent_memory_queue_failed_jobs", queue="default") == 1
    assert value(samples, "agent_memory_job_failures_total", queue="default") == 1
    assert value(samples, "agent_memory_llm_tokens_total", task="summarization", kind="input") == 120
    assert value(samples, "agent_memory_llm_tokens_total", task="summarization", kind="output") == 30
    assert value(samples, "agent_memory_llm_calls_total", task="summarization") == 1
    assert value(samples, "agent_memory_redis_up") == 1


def test_request_ids_are_echoed_when_safe_and_generated_otherwise(api):
    assert (
        api.get("/health", headers={"X-Request-ID": "abc-123:x.y_z"}).headers["X-Request-ID"]
        == "abc-123:x.y_z"
    )
    for unsafe in ("has space", "x" * 65, "<script>"):
        generated = api.get("/health", headers={"X-Request-ID": unsafe}).headers["X-Request-ID"]
        assert generated != unsafe and len(generated) == 32
    first, second = (api.get("/health").headers["X-Request-ID"] for _ in range(2))
    assert first != second
    # Pages served by the full Django stack get one too.
    assert len(api.get("/docs").headers["X-Request-ID"]) == 32


@pytest.fixture
def log_stream() -> Iterator[tuple[logging.Logger, io.StringIO, logging.Handler]]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RequestIdFilter())
    logger = logging.getLogger("tests.observability")
    logger.addHandler(handler)
    logger.propagate = False
    yield logger, stream, handler
    logger.removeHandler(handler)
    logger.propagate = True


def test_json_logs_are_one_object_per_line_with_the_request_id(log_stream):
    logger, stream, handler = log_stream
    handler.setFormatter(JsonFormatter())
    token = current_request_id.set("req-42")
    try:
        logger.warning("stored %d memories", 3, extra={"namespace": "team-a", "count": 3})
    finally:
        current_request_id.reset(token)
    logger.info("outside any request")
    try:
        raise ValueError("boom")
    except ValueError:
        logger.exception("failed")
    first, second, third = (json.loads(line) for line in stream.getvalue().splitlines())
    assert first["level"] == "WARNING" and first["logger"] == "tests.observability"
    assert first["message"] == "stored 3 memories" and first["request_id"] == "req-42"
    assert first["namespace"] == "team-a" and first["count"] == 3 and first["time"].endswith("+00:00")
    assert second["request_id"] is None
    assert "ValueError: boom" in third["exc_info"]


def test_text_logs_show_the_request_id(log_stream):
    logger, stream, handler = log_stream
    handler.setFormatter(TextFormatter())
    token = current_request_id.set("req-7")
    try:
        logger.warning("hello")
    finally:
        current_request_id.reset(token)
    assert stream.getvalue().rstrip().endswith("WARNING tests.observability [req-7]: hello")


JWT = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlLWJ5dGVz"
SECRETS = [
    ("Authorization: Bearer abc.def-ghi", "abc.def-ghi"),
    (f"token was {JWT}", JWT),
    ("api token ams_Zm9vYmFyYmF6cXV4", "ams_Zm9vYmFyYmF6cXV4"),
    ("OPENAI_API_KEY=sk-proj-abcdefghijklmnop", "sk-proj-abcdefghijklmnop"),
    ("connecting to redis://:hunter2@redis:6379/0", "hunter2"),
    ('{"client_secret": "s3cr3t-value"}', "s3cr3t-value"),
    ("password=letmein&user=bob", "letmein"),
    ("refresh_token=r-123456 SECRET_KEY=django-insecure-xyz", "django-insecure-xyz"),
]


@pytest.mark.parametrize(("text", "secret"), SECRETS)
def test_secrets_never_reach_a_log_line(text, secret, log_stream):
    assert secret not in redact(text) and "***" in redact(text)
    logger, stream, handler = log_stream
    for formatter in (JsonFormatter(), TextFormatter()):
        handler.setFormatter(formatter)
        logger.warning("seen: %s", text, extra={"api_key": secret, "detail": text})
    assert secret not in stream.getvalue()


def test_redaction_keeps_ordinary_text():
    text = (
        "GET /sessions/abc/memory 200; 3 memories in namespace team-a; tokens counted: 42; "
        "LLM call task=summarization input_tokens=120 output_tokens=30 max_tokens=5"
    )
    assert redact(text) == text


def test_tracing_is_off_without_an_endpoint(settings):
    settings.OTEL_EXPORTER_OTLP_ENDPOINT = None
    app = object()
    assert traced(app) is app


def test_tracing_without_the_sdk_warns_and_stays_off(settings, caplog, monkeypatch):
    settings.OTEL_EXPORTER_OTLP_ENDPOINT = "http://127.0.0.1:4318"
    # As if requirements/otel.txt were not installed (it is not part of base.txt).
    for module in ("opentelemetry.sdk", "opentelemetry.exporter.otlp.proto.http.trace_exporter"):
        monkeypatch.setitem(sys.modules, module, None)
    app = object()
    with caplog.at_level(logging.WARNING, logger="memoryserver.observability.tracing"):
        assert traced(app) is app
    assert "Install requirements/otel.txt" in caplog.text


def test_tracing_spans_are_named_after_the_route_when_the_sdk_is_installed():
    """Runs where requirements/otel.txt is installed; the base install skips it."""
    pytest.importorskip("opentelemetry.sdk", reason="requirements/otel.txt is not installed")
    import asyncio

    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from memoryserver.observability.tracing import ROUTE_SCOPE_KEY, TracingMiddleware

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))

    async def app(scope, receive, send):
        scope[ROUTE_SCOPE_KEY] = "working-memory"
        scope["memoryserver.request_id"] = "req-9"
        await send({"type": "http.response.start", "status": 404, "headers": []})

    async def send(message):
        pass

    parent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    scope = {
        "type": "http",
        "method": "GET",
        "path": "/sessions/s1/memory",
        "headers": [(b"traceparent", parent.encode())],
    }
    asyncio.run(TracingMiddleware(app, provider.get_tracer("test"))(scope, None, send))
    (span,) = exporter.get_finished_spans()
    assert span.name == "GET working-memory"
    assert span.attributes["http.response.status_code"] == 404 and span.attributes["request.id"] == "req-9"
    assert format(span.context.trace_id, "032x") == "0af7651916cd43dd8448eb211c80319c"
