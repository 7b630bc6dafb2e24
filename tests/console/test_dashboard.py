"""Dashboard: memories and sessions per namespace, the index, the queues, the models, the charts."""

from __future__ import annotations

import re

import django_rq
import pytest
from django.test import Client
from rq import Queue, SimpleWorker

from memoryserver.observability.metrics import reset_metrics
from memoryserver.redis import get_redis
from providers.embeddings import get_embedder
from server.worker import MemoryWorker
from tests.console.conftest import html, put_session, store_memories
from tests.console.jobs import explode, succeed


def test_counts_per_namespace(console: Client):
    store_memories(
        {"text": "one", "namespace": "alpha"},
        {"text": "two", "namespace": "alpha"},
        {"text": "three", "namespace": "beta"},
    )
    put_session("s1", namespace="alpha")
    put_session("s2", namespace="gamma", user_id="u1")
    put_session("s3", namespace="gamma")

    response = console.get("/console/")
    assert response.status_code == 200
    rows = {row.namespace: (row.memories, row.sessions) for row in response.context["namespaces"]}
    assert rows == {"alpha": (2, 1), "beta": (1, 0), "gamma": (0, 2)}
    assert '/console/memories/?namespace=alpha">2</a>' in html(response)


def test_index_status_and_models(console: Client):
    store_memories({"text": "one"}, {"text": "two"})
    response = console.get("/console/")
    index = response.context["index"]
    assert index["exists"] and index["num_docs"] == 2 and not index["indexing"]
    page = html(response)
    assert "<dt>Documents (num_docs)</dt><dd>2</dd>" in page
    assert "ready" in page
    assert get_embedder().identity in page
    features = dict(response.context["features"])
    assert features["chat_model"].enabled is False
    assert "<dt>summarization</dt>" in page and "off: needs a chat model (see chat_model)" in page
    assert page.count("No chat model is configured") == 1  # said once, not per feature


def test_a_missing_index_is_reported(console: Client, redis_client):
    redis_client.execute_command("FT.DROPINDEX", "memory_idx")
    response = console.get("/console/")
    assert response.status_code == 200
    assert "The search index does not exist" in html(response)


def test_queue_lengths_and_failed_jobs(console: Client):
    default = django_rq.get_queue("default", connection=get_redis(), commit_mode="auto")
    default.enqueue(explode, "x")
    SimpleWorker([default], connection=get_redis()).work(burst=True)
    summarization = django_rq.get_queue("summarization", connection=get_redis(), commit_mode="auto")
    summarization.enqueue(succeed)
    summarization.enqueue(succeed)

    response = console.get("/console/")
    queues = {queue.name: (queue.queued, queue.failed) for queue in response.context["queues"]}
    assert queues == {"summarization": (2, 0), "extraction": (0, 0), "default": (0, 1)}
    assert response.context["failed_total"] == 1
    assert "Failed jobs: <strong>1</strong>" in html(response)


@pytest.fixture
def fresh_metrics():
    """This process's request histogram, empty (the live server observes into it)."""
    reset_metrics()
    yield
    reset_metrics()


def chart_desc(page: str, key: str) -> str:
    match = re.search(rf'<desc id="chart-{key}-desc">([^<]*)</desc>', page)
    assert match, f"no chart '{key}' in the page"
    return match.group(1)


def test_the_dashboard_draws_namespaces_jobs_and_latency(console: Client, api, fresh_metrics):
    store_memories(
        {"text": "one", "namespace": "alpha"},
        {"text": "two", "namespace": "alpha"},
        {"text": "three", "namespace": "beta"},
    )
    put_session("s1", namespace="alpha")
    default = Queue("default", connection=get_redis())
    default.enqueue(explode, "x")
    MemoryWorker([default], connection=get_redis()).work(burst=True)
    summarization = django_rq.get_queue("summarization", connection=get_redis(), commit_mode="auto")
    summarization.enqueue(succeed)
    summarization.enqueue(succeed)
    for text in ("one", "two", "three"):
        assert api.post("/long-term-memory/search", json={"text": text}).status_code == 200
    assert api.post("/long-term-memory", json={"memories": [{"text": "four"}]}).status_code == 200

    response = console.get("/console/")
    page = html(response)
    assert chart_desc(page, "memories") == "alpha: memories 2; beta: memories 1; default: memories 1"
    assert chart_desc(page, "sessions") == "alpha: sessions 1"
    waiting = sum(queue.queued for queue in response.context["queues"])  # the writes may queue work too
    assert waiting >= 2 and chart_desc(page, "queued").endswith(f"last {waiting}.")
    assert chart_desc(page, "failed").endswith("highest 1, last 1.")
    latency = chart_desc(page, "latency")
    assert latency.startswith("Search (3): p50 ") and "Memory writes (1): p50 " in latency
    assert "No working-memory writes yet." in page
    for key in ("memories", "sessions", "queued", "failed", "latency"):
        assert f'data-chart="{key}"' in page


def test_an_empty_dashboard_says_so_instead_of_drawing(console: Client, fresh_metrics):
    page = html(console.get("/console/"))
    assert "<svg" not in page
    for empty in (
        "No memories yet.",
        "No sessions yet.",
        "No job waited in the last hour.",
        "No job failed in the last hour.",
        "No searches yet. No long-term memory writes yet. No working-memory writes yet.",
    ):
        assert empty in page
