"""What compaction merges: the merged record (pure), and which stored memories group together
(find_groups on the test Redis): only memories of one owner, exact or within the distance."""

from __future__ import annotations

import asyncio

import redis

from longterm_app.compaction import Group, find_groups, merged_record
from longterm_app.records import MemoryRecord, memory_hash
from longterm_app.repository import MemoryStore, doc_key, document
from memoryserver.redis import close_async_clients, get_async_redis
from providers.embeddings import get_embedder


def member(memory_id: str, **fields) -> tuple[str, MemoryRecord]:
    record = MemoryRecord(id=memory_id, text=f"text of {memory_id}", namespace="n", **fields)
    return f"key:{memory_id}", record


def test_the_merge_keeps_the_first_members_id_and_earliest_creation():
    group = Group([member("keep", created_at=100), member("b", created_at=50)], exact=False)
    merged = merged_record(group, "merged text", access={})
    assert (merged.id, merged.created_at, merged.text) == ("keep", 50.0, "merged text")


def test_the_merge_unites_tags_ignoring_case_and_keeping_the_first_spelling():
    group = Group(
        [member("a", topics=["Tea", "work"], entities=["Alice"]), member("b", topics=["tea", "home"])],
        exact=True,
    )
    merged = merged_record(group, "x", access={})
    assert (merged.topics, merged.entities) == (["Tea", "work", "home"], ["Alice"])


def test_the_merge_remembers_the_merged_ids_as_sources():
    group = Group([member("a", extracted_from=["src"]), member("b"), member("c")], exact=True)
    assert merged_record(group, "x", access={}).extracted_from == ["src", "b", "c"]


def test_the_merge_sums_hits_and_keeps_the_latest_access_from_the_side_statistics():
    group = Group([member("a", access_count=1, last_accessed=10), member("b", last_accessed=20)], exact=True)
    merged = merged_record(group, "x", access={"key:a": (4, 30.0), "key:b": (2, 5.0)})
    assert (merged.access_count, merged.last_accessed) == (6, 30.0)
    without_side = merged_record(group, "x", access={})
    assert (without_side.access_count, without_side.last_accessed) == (1, 20.0)


def test_the_merged_text_is_hashed_for_its_owner():
    group = Group([member("a", user_id="u"), member("b", user_id="u")], exact=False)
    assert merged_record(group, "New Text", access={}).memory_hash == memory_hash("new text", "n", "u")


def test_a_group_reports_what_it_keeps_and_what_it_merges():
    group = Group([member("keep"), member("b"), member("c")], exact=False)
    assert group.summary() == {"keep": "keep", "merge": ["b", "c"], "kind": "near"}


# Grouping stored memories.


def write(
    client: redis.Redis, memory_id: str, text: str, user_id: str | None = None, created_at: float = 1.0
):
    """Store a memory the way data written before dedup was: exact duplicates can exist."""
    record = MemoryRecord(id=memory_id, text=text, namespace="n", user_id=user_id, created_at=created_at)
    record.memory_hash = memory_hash(text, "n", user_id)
    key = doc_key("n", memory_id, user_id)
    client.execute_command("JSON.SET", key, "$", document(record, get_embedder().embed(text)))


def groups(threshold: float = 0.05, near: bool = True) -> list[dict]:
    async def run() -> list[Group]:
        try:
            store = MemoryStore(get_async_redis("long_term"))
            return (await find_groups(store, "n", None, threshold, limit=100, near=near))[1]
        finally:
            await close_async_clients()

    return [group.summary() for group in asyncio.run(run())]


def test_exact_duplicates_of_one_owner_group_with_the_oldest_kept(redis_client):
    write(redis_client, "late", "Alice likes tea", created_at=20)
    write(redis_client, "early", "alice  likes TEA", created_at=10)
    write(redis_client, "other", "Bob plays the cello")
    assert groups(near=False) == [{"keep": "early", "merge": ["late"], "kind": "exact"}]


def test_the_same_text_of_two_users_never_groups(redis_client):
    write(redis_client, "a", "Likes green tea", user_id="alice")
    write(redis_client, "b", "Likes green tea", user_id="bob")
    assert groups(threshold=0.5) == []


def test_near_duplicates_group_only_within_the_distance(redis_client):
    write(redis_client, "a", "The user is allergic to peanuts", created_at=1)
    write(redis_client, "b", "The user has a peanut allergy", created_at=2)
    write(redis_client, "c", "The user's sister lives in Lisbon", created_at=3)
    assert groups(threshold=0.1) == [{"keep": "a", "merge": ["b"], "kind": "near"}]
    assert groups(threshold=0.0001) == []
