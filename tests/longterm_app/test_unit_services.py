"""Long-term memory services called directly (no HTTP) on the test Redis with the local
embedder: create and dedupe, get, edit, delete, and the compaction queueing answer."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest

from longterm_app.records import MemoryRecord, memory_hash
from longterm_app.repository import doc_key
from longterm_app.schemas import CompactRequest, CreateMemoriesRequest, CreateMemoriesResult, MemoryPatch
from longterm_app.services import (
    SYNC_BATCH_LIMIT,
    BackgroundWork,
    create_memories,
    delete_memories,
    delete_memories_by_id,
    edit_memory,
    find_memory,
    get_memory,
    queue_compaction,
)
from memoryserver.auth.principal import ADMIN, ANONYMOUS_DEVELOPER, Principal
from memoryserver.errors import Conflict, Forbidden, InvalidInput, NotFound
from providers.embeddings import get_embedder
from tests.longterm_app.stores import in_store

ANYONE = ANONYMOUS_DEVELOPER


@dataclass
class RecordingWork:
    """Background work that records what a create hands it instead of queueing jobs."""

    indexed: list[list[str]] = field(default_factory=list)
    tagged: list[list[str]] = field(default_factory=list)

    async def indexing(self, records: list[MemoryRecord]) -> str:
        self.indexed.append([record.id for record in records])
        return "task-7"

    async def tagging(self, records: list[MemoryRecord]) -> None:
        self.tagged.append([record.id for record in records])

    def work(self) -> BackgroundWork:
        return BackgroundWork(indexing=self.indexing, tagging=self.tagging)


def create(
    *memories: dict[str, Any], principal: Principal = ANYONE, work: RecordingWork | None = None
) -> CreateMemoriesResult:
    request = CreateMemoriesRequest.model_validate({"memories": list(memories)})
    background = (work or RecordingWork()).work()
    return in_store(lambda s: create_memories(s, get_embedder(), principal, request, background))


def get(memory_id: str, namespace: str | None = None, user_id: str | None = None) -> MemoryRecord:
    return in_store(lambda s: get_memory(s, ANYONE, namespace, memory_id, user_id))


def edit(memory_id: str, owner: str | None = None, **changes: Any) -> MemoryRecord:
    """Patch the memory `memory_id` of `owner` (the patch's own user_id gives it a new one)."""
    patch = MemoryPatch.model_validate(changes)
    return in_store(lambda s: edit_memory(s, get_embedder(), ANYONE, None, memory_id, patch, owner))


def stored_vector(key: str) -> np.ndarray:
    return in_store(lambda s: s.vectors([key]))[key]


# Create and dedupe.


def test_a_created_memory_gets_the_default_namespace_and_its_content_hash(redis_client, settings):
    assert create({"id": "m", "text": "Alice likes tea", "user_id": "alice"}).stored == ["m"]
    record = get("m", user_id="alice")
    assert record.namespace == settings.DEFAULT_NAMESPACE
    assert record.memory_hash == memory_hash("Alice likes tea", settings.DEFAULT_NAMESPACE, "alice")
    assert record.persisted_at is not None


def test_the_server_counts_hits_itself_whatever_a_client_sends(redis_client):
    create({"id": "m", "text": "Alice likes tea", "access_count": 40})
    assert get("m").access_count == 0


def test_an_exact_duplicate_differing_in_case_and_spacing_is_merged_into_the_stored_one(redis_client):
    create({"id": "first", "text": "Alice likes green tea"})
    work = RecordingWork()
    result = create({"id": "second", "text": "  alice LIKES green\ttea"}, work=work)
    assert (result.stored, [(m.id, m.into) for m in result.merged]) == ([], [("second", "first")])
    assert work.tagged == [[]]  # nothing new to tag
    with pytest.raises(NotFound):
        get("second")


def test_two_copies_in_one_batch_are_stored_once(redis_client):
    result = create({"id": "a", "text": "Alice likes tea"}, {"id": "b", "text": "alice likes TEA"})
    assert (result.stored, [(m.id, m.into) for m in result.merged]) == (["a"], [("b", "a")])


def test_the_same_text_of_another_user_is_not_a_duplicate(redis_client):
    create({"id": "a", "text": "Likes green tea", "user_id": "alice"})
    result = create({"id": "b", "text": "Likes green tea", "user_id": "bob"})
    assert result.stored == ["b"] and result.merged == []


def test_a_batch_over_the_sync_limit_is_queued_and_not_stored_yet(redis_client):
    work = RecordingWork()
    memories = [{"id": f"m{i}", "text": f"memory {i}"} for i in range(SYNC_BATCH_LIMIT + 1)]
    result = create(*memories, work=work)
    assert (result.status, result.task_id, result.stored) == ("queued", "task-7", [])
    assert work.indexed == [[m["id"] for m in memories]] and work.tagged == []
    with pytest.raises(NotFound):
        get("m0")


def test_a_create_in_a_namespace_outside_the_callers_is_forbidden_and_stores_nothing(redis_client):
    bound = Principal("t", "token", frozenset({ADMIN}), namespaces=frozenset({"mine"}))
    with pytest.raises(Forbidden, match="Namespace 'theirs' is outside"):
        create(
            {"id": "m", "text": "x", "namespace": "mine"},
            {"id": "n", "text": "y", "namespace": "theirs"},
            principal=bound,
        )
    with pytest.raises(NotFound):
        get("m", namespace="mine")


# Get.


def test_an_id_outside_the_identifier_alphabet_is_invalid_input_naming_memory_id(redis_client):
    with pytest.raises(InvalidInput) as caught:
        get("../etc")
    assert [problem.field for problem in caught.value.problems] == ["memory_id"]


def test_a_missing_memory_is_not_found_naming_its_id_and_namespace(redis_client):
    with pytest.raises(NotFound, match="No memory 'ghost' in namespace 'elsewhere'"):
        get("ghost", namespace="elsewhere")


def test_finding_by_id_alone_is_a_conflict_when_two_namespaces_use_the_id(redis_client):
    create({"id": "same", "text": "one", "namespace": "a"}, {"id": "same", "text": "two", "namespace": "b"})
    with pytest.raises(Conflict, match="used in 2 namespaces"):
        in_store(lambda s: find_memory(s, ANYONE, "same"))
    create({"id": "only", "text": "three", "namespace": "b"})
    assert in_store(lambda s: find_memory(s, ANYONE, "only")).namespace == "b"


# Edit.


def test_an_edited_text_is_re_embedded_rehashed_and_keeps_the_id(redis_client, settings):
    create({"id": "m", "text": "Alice likes tea", "topics": ["drinks"]})
    before = get("m")
    edited = edit("m", text="Alice plays the cello")
    key = doc_key(settings.DEFAULT_NAMESPACE, "m")
    np.testing.assert_allclose(stored_vector(key), get_embedder().embed("Alice plays the cello"), atol=1e-5)
    after = get("m")
    assert after.id == edited.id == "m" and after.text == "Alice plays the cello"
    assert after.topics == ["drinks"] and after.created_at == before.created_at
    assert after.updated_at >= before.updated_at and after.memory_hash != before.memory_hash


@pytest.mark.parametrize("field_name", ["text", "memory_type", "topics", "entities"])
def test_an_edit_setting_a_required_field_to_null_is_refused_naming_it(redis_client, field_name):
    create({"id": "m", "text": "Alice likes tea", "topics": ["drinks"]})
    with pytest.raises(InvalidInput) as caught:
        edit("m", **{field_name: None})
    assert [(p.field, p.message) for p in caught.value.problems] == [(field_name, "cannot be null")]
    assert get("m").topics == ["drinks"]


def test_giving_a_memory_to_another_user_moves_it_under_the_same_id(redis_client):
    create({"id": "m", "text": "Likes tea", "user_id": "alice"})
    moved = edit("m", owner="alice", user_id="bob")
    assert (moved.id, moved.user_id) == ("m", "bob")
    assert get("m", user_id="bob").text == "Likes tea"
    with pytest.raises(NotFound):
        get("m", user_id="alice")


# Delete.


def test_a_delete_reports_each_id_deleted_once_and_the_missing_ones(redis_client):
    create({"id": "a", "text": "one"}, {"id": "b", "text": "two"})
    result = in_store(lambda s: delete_memories(s, ANYONE, None, ["a", "a", "ghost"]))
    assert (result.deleted, result.missing) == (1, ["ghost"])
    with pytest.raises(NotFound):
        get("a")
    assert get("b").text == "two"


def test_a_delete_with_an_invalid_id_deletes_nothing(redis_client):
    create({"id": "a", "text": "one"})
    with pytest.raises(InvalidInput):
        in_store(lambda s: delete_memories(s, ANYONE, None, ["a", "no/slashes"]))
    assert get("a").text == "one"


def test_deleting_by_id_alone_reaches_every_namespace(redis_client):
    create({"id": "a", "text": "one", "namespace": "n1"}, {"id": "b", "text": "two", "namespace": "n2"})
    result = in_store(lambda s: delete_memories_by_id(s, ANYONE, ["a", "b", "c"]))
    assert (result.deleted, result.missing) == (2, ["c"])


# Compaction is queued, not run, by the request.


@dataclass
class RecordingSchedule:
    calls: list[dict[str, Any]] = field(default_factory=list)

    async def __call__(self, **options: Any) -> str:
        self.calls.append(options)
        return f"compact-{len(self.calls)}"


def test_compaction_is_queued_for_the_default_namespace_with_the_requests_options(settings):
    schedule = RecordingSchedule()
    request = CompactRequest(dry_run=True, distance_threshold=0.1)
    answer = asyncio.run(queue_compaction(ANYONE, request, schedule))
    assert (answer.status, answer.task_id) == ("queued", "compact-1")
    assert schedule.calls == [
        {"namespace": settings.DEFAULT_NAMESPACE, "user_id": None, "dry_run": True, "distance_threshold": 0.1}
    ]


def test_a_user_bound_caller_compacts_only_its_own_memories():
    schedule = RecordingSchedule()
    bound = Principal("t", "token", frozenset({ADMIN}), namespaces=frozenset({"team"}), user_id="alice")
    asyncio.run(queue_compaction(bound, CompactRequest(), schedule))
    assert (schedule.calls[0]["namespace"], schedule.calls[0]["user_id"]) == ("team", "alice")


@pytest.mark.parametrize(
    ("request_fields", "message"),
    [({"namespace": "other"}, "Namespace 'other' is outside"), ({"user_id": "bob"}, "User 'bob' is not")],
)
def test_compaction_outside_the_callers_tenants_is_forbidden_and_not_queued(request_fields, message):
    schedule = RecordingSchedule()
    bound = Principal("t", "token", frozenset({ADMIN}), namespaces=frozenset({"team"}), user_id="alice")
    with pytest.raises(Forbidden, match=message):
        asyncio.run(queue_compaction(bound, CompactRequest(**request_fields), schedule))
    assert schedule.calls == []
