"""The embedding API fails while memories are written: a clean 503, and nothing stored unsearchable."""

from __future__ import annotations

import pytest

from tests.fake_openai import Reply


@pytest.fixture
def api_embeddings(fake_openai, settings, redis_client):
    from longterm_app.services import ensure_memory_index
    from providers.embeddings import reset_embedders

    settings.EMBEDDING_PROVIDER = "openai"
    settings.EMBEDDING_BASE_URL = fake_openai.openai_base_url
    settings.EMBEDDING_MODEL = "text-embedding-3-small"
    settings.EMBEDDING_DIMENSIONS = 128
    reset_embedders()
    redis_client.flushdb()
    ensure_memory_index()
    yield fake_openai
    reset_embedders()
    redis_client.flushdb()


def test_a_failing_embedding_api_stores_nothing(api, api_embeddings):
    api_embeddings.push(*[Reply.error(500, "embedding backend down")] * 3, route="embeddings")
    response = api.post("/long-term-memory", json={"memories": [{"id": "m1", "text": "Alice likes tea"}]})
    assert response.status_code == 503, response.text
    body = response.json()
    assert body["status_code"] == 503 and "embedding" in body["detail"].lower()
    assert api.get("/long-term-memory/m1").status_code == 404
    assert api.post("/long-term-memory/search", json={}).json()["total"] == 0

    # The API is back: the same call now stores the memory, searchable at once.
    assert (
        api.post(
            "/long-term-memory", json={"memories": [{"id": "m1", "text": "Alice likes tea"}]}
        ).status_code
        == 200
    )
    found = api.post("/long-term-memory/search", json={"text": "tea"}).json()
    assert [m["id"] for m in found["memories"]] == ["m1"]


def test_a_failing_embedding_api_fails_a_search_cleanly(api, api_embeddings):
    api_embeddings.push(*[Reply.error(500)] * 3, route="embeddings")
    response = api.post("/long-term-memory/search", json={"text": "tea"})
    assert response.status_code == 503 and response.json()["status_code"] == 503
    assert (
        api.post("/long-term-memory/search", json={"text": "tea", "search_mode": "keyword"}).status_code
        == 200
    )


def test_a_rate_limited_embedding_api_says_when_to_retry(api, api_embeddings):
    # The scripted 429 asks for a wait of 1 ms (retry-after-ms: 1): the answer passes on
    # a whole second; a 500 names no wait and gets no Retry-After.
    api_embeddings.push(*[Reply.error(429, "slow down")] * 3, route="embeddings")
    limited = api.post("/v1/long-term-memory/search", json={"text": "tea"})
    assert limited.status_code == 503 and "rate-limiting" in limited.json()["detail"]
    assert limited.headers["Retry-After"] == "1"
    api_embeddings.push(*[Reply.error(500)] * 3, route="embeddings")
    failed = api.post("/v1/long-term-memory/search", json={"text": "tea"})
    assert failed.status_code == 503 and "Retry-After" not in failed.headers
