"""Long-term memory over REST against the real Redis and the local embedding model."""

from __future__ import annotations

import json
import time

import pytest


def create(api, *memories, **params):
    response = api.post("/long-term-memory", json={"memories": list(memories)}, params=params)
    assert response.status_code in (200, 202), response.text
    return response.json()


def search(api, **body):
    response = api.post("/long-term-memory/search", json=body)
    assert response.status_code == 200, response.text
    return response.json()


def ids(result) -> list[str]:
    return [m["id"] for m in result["memories"]]


@pytest.fixture
def pets(api):
    create(
        api,
        {
            "id": "cat",
            "text": "Alice has a grey cat named Smokey",
            "topics": ["pets"],
            "user_id": "alice",
            "created_at": 1000,
        },
        {
            "id": "dog",
            "text": "Bob walks his dog Rex every morning",
            "topics": ["pets", "exercise"],
            "user_id": "bob",
            "created_at": 2000,
        },
        {
            "id": "tax",
            "text": "The quarterly tax report is due in April",
            "topics": ["finance"],
            "user_id": "alice",
            "created_at": 3000,
        },
    )


def test_create_then_get_returns_the_record_with_server_fields(api):
    result = create(
        api,
        {
            "id": "m1",
            "text": "User likes green tea",
            "memory_type": "semantic",
            "session_id": "s1",
            "topics": ["drinks"],
            "entities": ["tea"],
        },
    )
    assert result == {"status": "ok", "stored": ["m1"], "merged": [], "task_id": None}
    memory = api.get("/long-term-memory/m1").json()
    assert memory["text"] == "User likes green tea"
    assert memory["namespace"] == "default" and memory["session_id"] == "s1"
    assert len(memory["memory_hash"]) == 64
    assert memory["persisted_at"] is not None and memory["access_count"] == 0


def test_generated_ids_are_ulids(api):
    result = create(api, {"text": "no id given"})
    (memory_id,) = result["stored"]
    assert len(memory_id) == 26
    assert api.get(f"/long-term-memory/{memory_id}").status_code == 200


def test_memories_are_searchable_when_the_call_returns(api, pets):
    result = search(api, text="kitten")
    assert ids(result)[0] == "cat"
    assert result["total"] == 3
    assert 0 <= result["memories"][0]["dist"] < result["memories"][-1]["dist"]


def test_upsert_by_id_replaces(api):
    create(api, {"id": "m", "text": "first version"})
    create(api, {"id": "m", "text": "second version"})
    assert api.get("/long-term-memory/m").json()["text"] == "second version"
    assert search(api, text="version")["total"] == 1


def test_exact_duplicates_are_merged_not_stored_twice(api):
    create(api, {"id": "a", "text": "User prefers  dark mode", "user_id": "u1"})
    result = create(
        api,
        {"id": "b", "text": "user prefers dark MODE", "user_id": "u1"},
        {"id": "c", "text": "User prefers dark mode", "user_id": "u2"},
        {"id": "d", "text": "User prefers dark mode", "user_id": "u2"},
    )
    assert result["stored"] == ["c"]
    assert result["merged"] == [{"id": "b", "into": "a"}, {"id": "d", "into": "c"}]
    assert api.get("/long-term-memory/b").status_code == 404
    assert search(api, text="")["total"] == 2


def test_duplicate_of_a_deleted_memory_is_stored_again(api):
    create(api, {"id": "a", "text": "same text"})
    api.delete("/long-term-memory", params={"memory_ids": "a"})
    assert create(api, {"id": "b", "text": "same text"})["stored"] == ["b"]


def test_namespaces_keep_ids_apart(api):
    create(
        api,
        {"id": "m", "text": "in ns1", "namespace": "ns1"},
        {"id": "m", "text": "in ns2", "namespace": "ns2"},
    )
    assert api.get("/long-term-memory/m", params={"namespace": "ns1"}).json()["text"] == "in ns1"
    assert api.get("/long-term-memory/m", params={"namespace": "ns2"}).json()["text"] == "in ns2"
    assert api.get("/long-term-memory/m").status_code == 404


def test_filter_only_listing_is_newest_first(api, pets):
    result = search(api, text="", topics={"any": ["pets", "finance"]})
    assert ids(result) == ["tax", "dog", "cat"]
    assert result["total"] == 3 and result["next_offset"] is None


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"user_id": {"eq": "alice"}}, {"cat", "tax"}),
        ({"user_id": {"ne": "alice"}}, {"dog"}),
        ({"topics": {"any": ["finance", "exercise"]}}, {"tax", "dog"}),
        ({"topics": {"all": ["pets", "exercise"]}}, {"dog"}),
        ({"topics": {"all": ["pets", "finance"]}}, set()),
        ({"topics": {"eq": "PETS"}}, {"cat", "dog"}),
        ({"created_at": {"gt": 1000}}, {"dog", "tax"}),
        ({"created_at": {"gte": 1000, "lt": 3000}}, {"cat", "dog"}),
        ({"created_at": {"lte": 2000}}, {"cat", "dog"}),
        ({"created_at": {"eq": 2000}}, {"dog"}),
        ({"created_at": {"ne": 2000}}, {"cat", "tax"}),
        ({"created_at": {"between": [1500, 3000]}}, {"dog", "tax"}),
        ({"created_at": {"gte": "1970-01-01T00:33:20Z"}}, {"dog", "tax"}),
        ({"memory_type": {"eq": "episodic"}}, set()),
        ({"user_id": {"startswith": "al"}}, {"cat", "tax"}),
        ({"topics": {"startswith": "FIN"}}, {"tax"}),
        ({"topics": {"none": ["finance", "exercise"]}}, {"cat"}),
        ({"user_id": {"none": ["bob"]}, "topics": {"any": ["pets"]}}, {"cat"}),
        ({"namespace": {"eq": "default"}, "user_id": {"eq": "alice"}, "topics": {"any": ["pets"]}}, {"cat"}),
    ],
)
@pytest.mark.parametrize("mode", ["semantic", "keyword", "hybrid", "listing"])
def test_every_filter_in_every_mode(api, pets, filters, expected, mode):
    body = {"text": "" if mode == "listing" else "cat dog tax report walks", **filters}
    if mode != "listing":
        body["search_mode"] = mode
    result = search(api, **body)
    assert set(ids(result)) == expected
    assert result["total"] == len(expected)


def test_keyword_mode_ranks_by_bm25(api, pets):
    result = search(api, text="quarterly tax", search_mode="keyword")
    assert ids(result) == ["tax"] and result["total"] == 1
    assert result["memories"][0]["dist"] is None and result["memories"][0]["score"] > 0


def test_hybrid_mode_finds_by_meaning_and_by_words(api, pets):
    result = search(api, text="kitten Rex", search_mode="hybrid", limit=2)
    assert set(ids(result)) == {"cat", "dog"}
    assert all(m["dist"] is not None for m in result["memories"])


def test_paging_reports_true_totals_and_next_offset(api):
    create(api, *({"id": f"m{i}", "text": f"note number {i} about gardening"} for i in range(25)))
    first = search(api, text="gardening notes", limit=10)
    assert first["total"] == 25 and first["next_offset"] == 10 and len(first["memories"]) == 10
    last = search(api, text="gardening notes", limit=10, offset=20)
    assert len(last["memories"]) == 5 and last["next_offset"] is None
    pages = [search(api, text="gardening notes", limit=10, offset=o) for o in (0, 10, 20)]
    assert len({i for page in pages for i in ids(page)}) == 25


def test_distance_threshold_limits_results_and_total(api, pets):
    loose = search(api, text="a cat", distance_threshold=2.0)
    tight = search(api, text="a grey cat named Smokey", distance_threshold=0.15)
    assert loose["total"] == 3
    assert ids(tight) == ["cat"] and tight["total"] == 1
    hybrid = search(api, text="quarterly report", search_mode="hybrid", distance_threshold=0.05)
    assert ids(hybrid) == ["tax"] and hybrid["total"] == 1  # matched by words, outside the radius


def test_recency_boost_prefers_recent_memories(api):
    now = time.time()
    create(
        api,
        {
            "id": "old",
            "text": "The user moved to Berlin",
            "created_at": now - 400 * 86400,
            "last_accessed": now - 400 * 86400,
        },
        {
            "id": "new",
            "text": "The user moved to Lisbon",
            "created_at": now - 3600,
            "last_accessed": now - 3600,
        },
    )
    plain = search(api, text="user moved to Berlin")
    boosted = search(
        api,
        text="user moved to Berlin",
        recency_boost=True,
        recency_recency_weight=0.9,
        recency_semantic_weight=0.1,
    )
    assert ids(plain)[0] == "old"
    assert ids(boosted)[0] == "new"


def test_search_hits_are_marked_accessed(api, pets):
    before = api.get("/long-term-memory/cat").json()
    search(api, text="grey cat", limit=1)
    for _ in range(50):
        after = api.get("/long-term-memory/cat").json()
        if after["access_count"] == 1:
            break
        time.sleep(0.02)
    assert after["access_count"] == 1 and after["last_accessed"] > before["last_accessed"]
    assert api.get("/long-term-memory/tax").json()["access_count"] == 0


def wait_for_access_count(api, memory_id: str, count: int) -> dict:
    for _ in range(100):
        memory = api.get(f"/long-term-memory/{memory_id}").json()
        if memory["access_count"] >= count:
            return memory
        time.sleep(0.02)
    raise AssertionError(f"{memory_id} has access_count {memory['access_count']}, expected {count}")


def test_hits_are_counted_beside_the_indexed_document(api, redis_client):
    """A recent memory's hit is counted without rewriting (and so re-indexing) its document."""
    accessed = time.time() - 60
    create(api, {"id": "fresh", "text": "The user drinks oat milk", "last_accessed": accessed})
    for expected in (1, 2):
        search(api, text="oat milk")
        memory = wait_for_access_count(api, "fresh", expected)
    assert memory["access_count"] == 2 and memory["last_accessed"] > accessed + 30
    (key,) = redis_client.keys("memory:*:fresh")
    (stored,) = json.loads(redis_client.execute_command("JSON.GET", key, "$.record"))
    assert stored["access_count"] == 0 and stored["last_accessed"] == pytest.approx(accessed, abs=1e-3)


def test_search_reads_hit_counts_after_redis_lost_its_scripts(api, redis_client):
    """The counts are read by a script sent by its SHA: a Redis that forgot its scripts
    (restarted, SCRIPT FLUSH) gets it loaded again, and the search still answers them."""
    create(api, {"id": "kept", "text": "The user keeps bees on the roof"})
    search(api, text="bees on the roof")
    wait_for_access_count(api, "kept", 1)
    redis_client.execute_command("SCRIPT", "FLUSH")
    (hit,) = search(api, text="bees on the roof", recency_boost=True, limit=1)["memories"]
    assert hit["id"] == "kept" and hit["access_count"] >= 1


def test_a_stale_indexed_last_access_is_refreshed_by_a_hit(api):
    old = time.time() - 2 * 86400
    create(api, {"id": "stale", "text": "The user drinks oat milk", "last_accessed": old})
    recent = {"last_accessed": {"gt": time.time() - 600}}
    assert search(api, **recent)["total"] == 0
    search(api, text="oat milk")
    wait_for_access_count(api, "stale", 1)
    assert ids(search(api, **recent)) == ["stale"]


def test_access_counts_survive_an_edit_and_go_with_a_delete(api, redis_client):
    create(api, {"id": "edited", "text": "The user drinks oat milk"})
    search(api, text="oat milk")
    wait_for_access_count(api, "edited", 1)
    patched = api.patch("/long-term-memory/edited", json={"topics": ["drinks"]})
    assert patched.status_code == 200, patched.text
    assert api.get("/long-term-memory/edited").json()["access_count"] == 1  # not counted twice
    assert api.delete("/long-term-memory", params={"memory_ids": "edited"}).status_code == 200
    assert redis_client.keys("memory_access:*") == []
    create(api, {"id": "edited", "text": "The user drinks oat milk again"})
    assert api.get("/long-term-memory/edited").json()["access_count"] == 0


def test_patch_edits_and_reembeds(api, pets):
    before = api.get("/long-term-memory/tax").json()
    response = api.patch("/long-term-memory/tax", json={"text": "Alice adopted a parrot", "topics": ["pets"]})
    assert response.status_code == 200, response.text
    edited = response.json()
    assert edited["updated_at"] > before["updated_at"] and edited["memory_hash"] != before["memory_hash"]
    assert edited["created_at"] == before["created_at"]
    assert ids(search(api, text="pet bird", limit=1)) == ["tax"]
    assert create(api, {"id": "x", "text": "The quarterly tax report is due in April"})["stored"] == ["x"]


def test_patch_of_tags_keeps_the_vector(api, pets):
    api.patch("/long-term-memory/cat", json={"entities": ["Smokey"]})
    assert ids(search(api, text="grey cat", limit=1, entities={"eq": "smokey"})) == ["cat"]


def test_patch_into_a_duplicate_is_a_conflict_and_changes_nothing(api, pets):
    response = api.patch(
        "/long-term-memory/tax", json={"text": "Alice has a grey cat named Smokey", "user_id": "alice"}
    )
    assert response.status_code == 409
    assert "'cat'" in response.json()["detail"]
    assert api.get("/long-term-memory/tax").json()["text"].startswith("The quarterly")


def test_delete_by_ids(api, pets):
    response = api.delete("/long-term-memory", params={"memory_ids": "cat,dog,ghost"})
    assert response.json() == {"status": "ok", "deleted": 2, "missing": ["ghost"]}
    assert ids(search(api, text="")) == ["tax"]


def test_forget_a_user_with_a_dry_run_first(api, pets):
    dry = api.post("/long-term-memory/forget", json={"user_id": "alice"}).json()
    assert dry == {"dry_run": True, "matched": 2, "deleted": 0}
    assert search(api, text="")["total"] == 3
    done = api.post("/long-term-memory/forget", json={"user_id": "alice", "dry_run": False}).json()
    assert done == {"dry_run": False, "matched": 2, "deleted": 2}
    assert ids(search(api, text="")) == ["dog"]


def test_forget_needs_a_scope(api):
    response = api.post("/long-term-memory/forget", json={"dry_run": False})
    assert response.status_code == 422


def test_large_batches_are_indexed_by_a_worker(api, redis_client):
    import django_rq
    from rq import SimpleWorker

    result = create(api, *({"id": f"b{i}", "text": f"bulk memory {i}"} for i in range(150)))
    assert result["status"] == "queued" and result["task_id"]
    assert api.get(f"/tasks/{result['task_id']}").json()["status"] == "queued"
    queue = django_rq.get_queue("default", connection=redis_client)
    SimpleWorker([queue], connection=redis_client).work(burst=True)
    task = api.get(f"/tasks/{result['task_id']}").json()
    assert task["status"] == "finished" and len(task["result"]["stored"]) == 150
    assert search(api, text="bulk memory")["total"] == 150


def test_unknown_task_is_404(api):
    assert api.get("/tasks/nope").status_code == 404


TRICKY = [
    "a b",
    "x-y",
    "user@example.com",
    "{curly}",
    "pipe|value",
    "colon:value",
    "émoji 🎉",
    "quote'\"",
    "back\\slash",
    "star*",
    "paren(s)",
    "tilde~",
    "percent%",
    "semi;colon",
    "comma,separated",
    "_",
    "__",
    "snake_case",
]


@pytest.mark.parametrize("value", TRICKY)
def test_tag_values_with_special_characters(api, value):
    create(
        api,
        {"id": "hit", "text": "tagged memory", "topics": [value], "entities": [value, "other"]},
        {"id": "miss", "text": "tagged memory too", "topics": ["plain"], "entities": ["other"]},
    )
    assert ids(search(api, text="", topics={"eq": value})) == ["hit"]
    assert ids(search(api, text="", topics={"ne": value})) == ["miss"]
    assert ids(search(api, text="", topics={"any": [value, "nothing"]})) == ["hit"]
    assert ids(search(api, text="", entities={"all": [value, "other"]})) == ["hit"]
    assert ids(search(api, text="tagged", search_mode="hybrid", topics={"eq": value})) == ["hit"]


QUESTIONS = [
    "What's the user's favourite food?",
    'He said "don\'t" -- twice!',
    "state-of-the-art @mentions {braces} | pipes ~tilde *star* %fuzzy%",
    "(unbalanced [brackets",
    "-negated +plus =equals $dollar ^caret",
    "'single' \"double\" `back`",
    ":colon;semicolon,comma.period",
    "the a of to",
    "\\",
]


@pytest.mark.parametrize("question", QUESTIONS)
@pytest.mark.parametrize("mode", ["semantic", "keyword", "hybrid"])
def test_query_text_cannot_inject_syntax(api, pets, question, mode):
    result = search(api, text=question, search_mode=mode, user_id={"eq": "alice"})
    assert set(ids(result)) <= {"cat", "tax"}
    assert api.get("/health").status_code == 200


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"text": "x", "topics": {"startswith": "a"}}, "topics.startswith"),
        ({"text": "x", "topics": {}}, "topics"),
        ({"text": "x", "topics": {"any": "pets"}}, "topics.any"),
        ({"text": "x", "created_at": {"gt": "yesterday"}}, "created_at.gt"),
        ({"text": "x", "created_at": {"between": [3, 1]}}, "created_at"),
        ({"text": "x", "created_at": {"gt": float("inf")}}, "created_at.gt"),
        ({"text": "x", "limit": 0}, "limit"),
        ({"text": "x", "limit": 1000}, "limit"),
        ({"text": "x", "offset": -1}, "offset"),
        ({"text": "x", "search_mode": "fuzzy"}, "search_mode"),
        ({"text": "x", "distance_threshold": 3}, "distance_threshold"),
        ({"text": 5}, "text"),
        ({"text": "x", "colour": "red"}, "colour"),
    ],
)
def test_bad_search_requests_are_422(api, body, field):
    import json

    response = api.post(
        "/long-term-memory/search",
        content=json.dumps(body, allow_nan=True),
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 422, response.text
    assert field in [e["field"] for e in response.json()["errors"]]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"memories": []}, "memories"),
        ({"memories": [{"text": ""}]}, "memories.0.text"),
        ({"memories": [{"text": "x", "id": "bad id"}]}, "memories.0.id"),
        ({"memories": [{"text": "x"}] * 1001}, "memories"),
        ({"memories": [{"text": "x", "memory_type": "dream"}]}, "memories.0.memory_type"),
        ({}, "memories"),
        (
            {"memories": [{"id": "d", "text": "a"}, {"id": "e", "text": "b"}, {"id": "d", "text": "c"}]},
            "memories.2.id",
        ),
        (
            {"memories": [{"id": "d", "text": "a"}, {"id": "d", "text": "b", "namespace": "default"}]},
            "memories.1.id",
        ),
    ],
)
def test_bad_creates_are_422_and_store_nothing(api, body, field):
    response = api.post("/long-term-memory", json=body)
    assert response.status_code == 422, response.text
    assert field in [e["field"] for e in response.json()["errors"]]
    assert search(api, text="")["total"] == 0


def test_one_id_in_several_namespaces_or_users_is_several_memories(api):
    stored = create(
        api,
        {"id": "d", "text": "Alice likes tea", "user_id": "alice"},
        {"id": "d", "text": "Bob likes coffee", "user_id": "bob"},
        {"id": "d", "text": "Work notes", "namespace": "work"},
    )
    assert stored["stored"] == ["d", "d", "d"]
    assert search(api, text="")["total"] == 3


def test_bad_edits_and_lookups(api, pets):
    assert api.patch("/long-term-memory/cat", json={"text": ""}).status_code == 422
    assert api.patch("/long-term-memory/cat", json={"namespace": "other"}).status_code == 422
    assert api.patch("/long-term-memory/cat", json={"text": None}).status_code == 422
    assert api.patch("/long-term-memory/ghost", json={"text": "x"}).status_code == 404
    before = api.get("/long-term-memory/cat").json()
    empty = api.patch("/long-term-memory/cat", json={})
    assert empty.status_code == 422 and empty.json()["errors"] == [
        {"field": "body", "message": "no fields to update"}
    ]
    assert api.get("/long-term-memory/cat").json()["updated_at"] == before["updated_at"]
    assert api.get("/long-term-memory/bad%20id").status_code == 422
    assert api.delete("/long-term-memory").status_code == 422


def test_deep_pages_beyond_the_candidate_cap(api):
    create(api, *({"id": f"d{i}", "text": f"deep page note {i}"} for i in range(30)))
    result = search(api, text="deep page note", limit=5, offset=25)
    assert len(result["memories"]) == 5 and result["total"] == 30


def test_ids_are_per_owner_so_two_users_may_use_one(api):
    create(api, {"id": "pref-1", "text": "Alice likes tea", "user_id": "alice"})
    both = create(
        api,
        {"id": "new-1", "text": "Bob is new", "user_id": "bob"},
        {"id": "pref-1", "text": "Bob likes coffee", "user_id": "bob"},
    )
    assert both["stored"] == ["new-1", "pref-1"]
    for user, text in (("alice", "Alice likes tea"), ("bob", "Bob likes coffee")):
        assert api.get("/long-term-memory/pref-1", params={"user_id": user}).json()["text"] == text
    assert api.get("/long-term-memory/pref-1").status_code == 409  # which one? name the user_id
    same_user = api.post(
        "/long-term-memory",
        json={"memories": [{"id": "pref-1", "text": "Alice likes green tea", "user_id": "alice"}]},
    )
    assert same_user.status_code == 200
