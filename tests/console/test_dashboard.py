"""Dashboard: memories and sessions per namespace, the index, the queues, the models."""

from __future__ import annotations

import django_rq
from django.test import Client
from rq import SimpleWorker

from memoryserver.embeddings import get_embedder
from memoryserver.redis import get_redis
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
