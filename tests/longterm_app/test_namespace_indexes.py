"""Each namespace has an index of its own: a tenant's ranking never depends on other tenants."""

from __future__ import annotations

import time

import pytest

from longterm_app.index import namespace_index

TENANT = [
    {"id": "t1", "text": "Alice walks her dog in the park every morning"},
    {"id": "t2", "text": "Alice bought a new bicycle for the commute"},
    {"id": "t3", "text": "The dog sleeps in the garden after lunch"},
]


def store(api, namespace: str, memories: list[dict]) -> None:
    body = {"memories": [{**memory, "namespace": namespace} for memory in memories]}
    response = api.post("/long-term-memory", json=body)
    assert response.status_code == 200, response.text


def ranking(
    api, namespace: str, mode: str, text: str = "Alice dog park", limit: int = 3
) -> list[tuple[str, float]]:
    body = {"text": text, "namespace": {"eq": namespace}, "search_mode": mode, "limit": limit}
    response = api.post("/long-term-memory/search", json=body)
    assert response.status_code == 200, response.text
    return [(hit["id"], round(hit["score"], 6)) for hit in response.json()["memories"]]


@pytest.mark.parametrize("mode", ["keyword", "hybrid", "semantic"])
def test_other_tenants_writes_do_not_move_a_tenants_ranking(api, mode):
    store(api, "mine", TENANT)
    before = ranking(api, "mine", mode)
    # Another tenant makes "dog" and "park" common words of the whole store.
    store(api, "theirs", [{"id": f"o{i}", "text": f"dog park number {i} with a dog"} for i in range(60)])
    assert ranking(api, "mine", mode) == before


def test_a_namespaces_first_write_creates_its_index(api, redis_client):
    store(api, "team-a:x", TENANT)
    names = {name.decode() for name in redis_client.execute_command("FT._LIST")}
    assert namespace_index("team-a:x") in names and "memory_idx" in names


def test_a_vanished_namespace_index_is_recreated_by_the_next_search(api, redis_client):
    store(api, "mine", TENANT)
    before = ranking(api, "mine", "hybrid")
    redis_client.execute_command("FT.DROPINDEX", namespace_index("mine"))
    after = ranking(api, "mine", "hybrid")
    # RediSearch's keyword statistics right after a re-scan may differ slightly: same hits.
    assert after[0] == before[0] and {i for i, _ in after} == {i for i, _ in before}


@pytest.mark.parametrize("mode", ["keyword", "hybrid", "semantic"])
def test_searching_a_namespace_that_holds_nothing_creates_no_index(api, redis_client, mode):
    """A reader naming namespaces at will must not leave an index behind for each."""
    store(api, "real", TENANT)
    for number in range(3):
        assert ranking(api, f"nobody-{number}", mode) == []
    names = {name.decode() for name in redis_client.execute_command("FT._LIST")}
    assert not any(namespace_index(f"nobody-{number}") in names for number in range(3))
    assert namespace_index("real") in names


def test_searches_across_namespaces_use_the_global_index(api):
    store(api, "a", TENANT[:2])
    store(api, "b", TENANT[2:])
    body = {"text": "dog", "namespace": {"any": ["a", "b"]}, "search_mode": "keyword"}
    hits = api.post("/long-term-memory/search", json=body).json()["memories"]
    assert {hit["namespace"] for hit in hits} == {"a", "b"}


def test_rebuild_index_recreates_every_namespace_index(api, redis_client):
    from longterm_app.maintenance import rebuild_index
    from providers.embeddings import get_embedder

    store(api, "a", TENANT)
    before = ranking(api, "a", "hybrid")
    assert rebuild_index(redis_client, get_embedder(), reembed_vectors=False) == 3
    names = {name.decode() for name in redis_client.execute_command("FT._LIST")}
    assert namespace_index("a") in names
    after = ranking(api, "a", "hybrid")
    assert after[0] == before[0] and {i for i, _ in after} == {i for i, _ in before}


def test_a_new_namespace_is_searchable_at_once_however_large_the_store(api, redis_client):
    """Its index needs no scan of the other tenants' keys (SKIPINITIALSCAN): never 'rebuilding'."""
    store(api, "big", [{"id": f"b{i}", "text": f"memory number {i} of a large tenant"} for i in range(100)])
    pipe = redis_client.pipeline(transaction=False)
    for i in range(20_000):  # many other keys, which a scan would have to walk
        pipe.set(f"unrelated:{i}", "x")
    pipe.execute()
    store(api, "new-tenant", TENANT)
    info = redis_client.execute_command("FT.INFO", namespace_index("new-tenant"))
    fields = dict(zip(info[::2], info[1::2], strict=True)) if isinstance(info, list) else info
    assert int(fields[b"indexing"]) == 0
    assert ranking(api, "new-tenant", "hybrid")[0][0] == "t1"


@pytest.mark.parametrize(("condition", "found"), [({"ne": "mine"}, 0), ({"startswith": "mi"}, 3)])
def test_namespace_conditions_beside_eq_still_apply_on_the_namespace_index(api, condition, found):
    store(api, "mine", TENANT)
    body = {"text": "dog", "namespace": {"eq": "mine", **condition}, "limit": 5}
    for mode in ("keyword", "hybrid", "semantic"):
        response = api.post("/long-term-memory/search", json={**body, "search_mode": mode})
        assert response.status_code == 200, response.text
        assert len(response.json()["memories"]) == (found if mode != "keyword" else min(found, 2))


def test_a_small_namespaces_rewritten_memories_leave_no_stale_keyword_statistics(api):
    # A rewrite re-indexes a memory, and its old postings count in how rare each word looks
    # until RediSearch collects them, which by default never happens below 100 rewrites.
    dogs = [{"id": f"d{i}", "text": f"the dog{' sat' * i} by the door"} for i in range(4)]
    cats = [{"id": f"c{i}", "text": f"the cat{' sat' * i} on the mat"} for i in range(4)]
    store(api, "mine", dogs + cats)

    def twins_score_alike() -> bool:  # each dog memory scores as its cat twin, as when fresh
        scores = dict(ranking(api, "mine", "keyword", "dog cat", limit=8))
        return all(scores[f"d{i}"] == scores[f"c{i}"] for i in range(4))

    assert twins_score_alike()
    for memory in dogs:
        response = api.patch(f"/long-term-memory/{memory['id']}?namespace=mine", json={"topics": ["pets"]})
        assert response.status_code == 200, response.text
    assert not twins_score_alike()  # "dog" looks as common as "the" until collected
    deadline = time.monotonic() + 30
    while not twins_score_alike() and time.monotonic() < deadline:
        time.sleep(0.5)
    assert twins_score_alike()


def test_start_up_warns_when_redis_leaves_small_indexes_uncollected(redis_client):
    from longterm_app.services import index_settings_warning

    assert index_settings_warning() is None  # the local Redis collects every index
    redis_client.execute_command("FT.CONFIG", "SET", "FORK_GC_CLEAN_THRESHOLD", "100")
    try:
        warning = index_settings_warning()
    finally:
        redis_client.execute_command("FT.CONFIG", "SET", "FORK_GC_CLEAN_THRESHOLD", "0")
    assert (
        warning is not None and "more than 100" in warning and "search-fork-gc-clean-threshold 0" in warning
    )
