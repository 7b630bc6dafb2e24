"""Prometheus metrics, served at /metrics.

Kept by this process (each web, MCP or worker process has its own; see the README):

- `agent_memory_http_request_duration_seconds{route,method,status}`: API request latency,
  by URL pattern name (not the raw path), observed once in the lean API handler;
- `agent_memory_searches_total{mode}`: long-term searches: semantic, keyword, hybrid, or
  filter (no query text);
- `agent_memory_embedded_texts_total{provider}`: texts embedded, by embedding provider.
- `agent_memory_query_embedding_cache_total{result}`: search queries whose vector came from
  the per-process cache (`hit`) or the model (`miss`).

Read from Redis when scraped, so they are the same whichever process answers:

- `agent_memory_queue_jobs{queue}`: jobs waiting in each task queue;
- `agent_memory_queue_failed_jobs{queue}`: jobs in each queue's failed registry;
- `agent_memory_job_failures_total{queue}`: job failures counted by the workers (retried ones too);
- `agent_memory_llm_tokens_total{task,kind}` and `agent_memory_llm_calls_total{task}`: model
  tokens (kind: input/output) and calls per task, from the LLM usage accounting;
- `agent_memory_redis_up`: 1 when those figures could be read, else 0.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Iterator

import prometheus_client
from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from memoryserver.errors import BackendUnavailable
from memoryserver.redis import REDIS_FAILED, get_redis

log = logging.getLogger(__name__)

CONTENT_TYPE = prometheus_client.CONTENT_TYPE_LATEST
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_FIGURES_UNREADABLE: tuple[type[Exception], ...] = (*REDIS_FAILED, BackendUnavailable)


class Metrics:
    """This process's metrics and the registry that exposes them with the Redis figures."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.request_seconds = Histogram(
            "agent_memory_http_request_duration_seconds",
            "API request latency by URL pattern name, method and status.",
            ["route", "method", "status"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.searches = Counter(
            "agent_memory_searches",
            "Long-term memory searches by mode (semantic, keyword, hybrid, filter).",
            ["mode"],
            registry=self.registry,
        )
        self.embedded_texts = Counter(
            "agent_memory_embedded_texts",
            "Texts embedded, by embedding provider.",
            ["provider"],
            registry=self.registry,
        )
        self.query_embedding_cache = Counter(
            "agent_memory_query_embedding_cache",
            "Search queries whose vector came from the per-process cache (hit) or the model (miss).",
            ["result"],
            registry=self.registry,
        )
        self.registry.register(RedisFigures())

    def observe_request(self, route: str, method: str, status: int, seconds: float) -> None:
        method = method if method in _METHODS else "other"
        self.request_seconds.labels(route, method, str(status)).observe(seconds)

    def render(self) -> bytes:
        """The text exposition of every metric (reads Redis: call it off the event loop)."""
        return prometheus_client.generate_latest(self.registry)


class RedisFigures(Collector):
    """Queue depth, failures and token usage, read from Redis at each scrape."""

    def describe(self) -> Iterable[Metric]:
        return []  # so registering does not read Redis

    def collect(self) -> Iterator[Metric]:
        try:
            figures = list(_read_redis_figures())
        except _FIGURES_UNREADABLE as error:
            log.warning("Metrics from Redis are missing from this scrape: %s", type(error).__name__)
            yield GaugeMetricFamily("agent_memory_redis_up", "Whether Redis figures could be read.", value=0)
            return
        yield from figures
        yield GaugeMetricFamily("agent_memory_redis_up", "Whether Redis figures could be read.", value=1)


def _read_redis_figures() -> Iterator[Metric]:

    from memoryserver.queues import queue_depths
    from memoryserver.repositories.jobs import job_failure_counts
    from memoryserver.repositories.llm_usage import read_totals

    waiting = GaugeMetricFamily(
        "agent_memory_queue_jobs", "Jobs waiting in each task queue.", labels=["queue"]
    )
    failed = GaugeMetricFamily(
        "agent_memory_queue_failed_jobs", "Jobs in each queue's failed registry.", labels=["queue"]
    )
    for name, (jobs_waiting, jobs_failed) in queue_depths().items():
        waiting.add_metric([name], jobs_waiting)
        failed.add_metric([name], jobs_failed)
    failures = CounterMetricFamily(
        "agent_memory_job_failures", "Job failures counted by the workers, by queue.", labels=["queue"]
    )
    for queue_name, count in sorted(job_failure_counts(get_redis("queue")).items()):
        failures.add_metric([queue_name], count)
    tokens = CounterMetricFamily(
        "agent_memory_llm_tokens",
        "Model tokens used, by task and kind (input/output).",
        labels=["task", "kind"],
    )
    calls = CounterMetricFamily("agent_memory_llm_calls", "Model calls, by task.", labels=["task"])
    for task, usage in read_totals(get_redis()).items():
        tokens.add_metric([task, "input"], usage["input_tokens"])
        tokens.add_metric([task, "output"], usage["output_tokens"])
        calls.add_metric([task], usage["calls"])
    yield from (waiting, failed, failures, tokens, calls)


_metrics: Metrics | None = None
_lock = threading.Lock()


def get_metrics() -> Metrics:
    """This process's metrics, created on first use."""
    global _metrics
    if _metrics is None:
        with _lock:
            if _metrics is None:
                prometheus_client.disable_created_metrics()
                _metrics = Metrics()
    return _metrics


def reset_metrics() -> None:
    """Forget every count (for tests)."""
    global _metrics
    with _lock:
        _metrics = None
