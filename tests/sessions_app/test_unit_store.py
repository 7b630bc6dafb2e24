"""WorkingMemoryStore on the real Redis: versions, conditional writes, appends, TTLs, listings, deletes.

The services and HTTP tests see these rules through the API; here each one is checked at
the repository, where a broken Lua script would show first.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any, Literal

import pytest
import redis

from longterm_app.records import MemoryRecord
from memoryserver.redis import close_async_clients, get_async_redis
from sessions_app.repository import (
    ALL_SESSIONS,
    EXPIRIES,
    AppendOutcome,
    SessionFull,
    SessionJobStore,
    StaleVersion,
    WorkingMemoryStore,
    WriteOutcome,
    claims_key,
    doc_key,
    key_of,
    member_of,
    summary_wait_key,
)
from sessions_app.schemas import Message, SessionKey, WorkingMemory

pytestmark = pytest.mark.anyio

KEY = SessionKey("team", "alice", "trip")
T0 = 1_700_000_000.0


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # the Redis clients are asyncio clients


@pytest.fixture
async def store(redis_client: redis.Redis) -> AsyncIterator[WorkingMemoryStore]:
    """A store on this test's event loop, over an empty Redis."""
    yield WorkingMemoryStore(get_async_redis("working"))
    await close_async_clients()


def document(
    key: SessionKey = KEY,
    messages: list[Message] | None = None,
    memories: list[MemoryRecord] | None = None,
    at: float = T0,
    **fields: Any,
) -> bytes:
    """A session document as the services write it."""
    memory = WorkingMemory(
        session_id=key.session_id,
        namespace=key.namespace,
        user_id=key.user_id,
        messages=messages or [],
        memories=memories or [],
        created_at=at,
        updated_at=at,
        last_accessed=at,
        **fields,
    )
    return memory.model_dump_json().encode()


def user(text: str, id: str, extracted: Literal["t", "f"] = "f") -> Message:
    return Message(role="user", content=text, id=id, discrete_memory_extracted=extracted)


def appended(*messages: Message, tokens: int = 5) -> list[tuple[str, bytes, int]]:
    return [(m.id, m.model_dump_json().encode(), tokens) for m in messages]


async def stored(store: WorkingMemoryStore, key: SessionKey = KEY) -> WorkingMemory:
    raw = await store.read(key, T0 + 1000)
    assert raw is not None, f"no session {key}"
    return WorkingMemory.model_validate_json(raw)


async def written(
    store: WorkingMemoryStore, body: bytes, if_match: str = "", ttl: int | None = None
) -> WriteOutcome:
    outcome = await store.write(KEY, body, T0, ttl, if_match)
    assert isinstance(outcome, WriteOutcome), outcome
    return outcome


# Versions and If-Match


async def test_every_unconditional_write_moves_the_version_by_one(store):
    versions = [(await written(store, document())).version for _ in range(3)]
    assert versions == [1, 2, 3]
    assert (await stored(store)).version == 3


async def test_a_write_at_the_current_version_replaces_the_session(store):
    await written(store, document(messages=[user("old", "m1")]))
    outcome = await written(store, document(messages=[user("new", "m2")]), if_match="1")
    assert outcome.version == 2
    assert [m.content for m in (await stored(store)).messages] == ["new"]


async def test_a_write_at_an_older_version_is_stale_and_changes_nothing(store):
    await written(store, document(messages=[user("one", "m1")]))
    await written(store, document(messages=[user("two", "m2")]))
    outcome = await store.write(KEY, document(messages=[user("lost", "m3")]), T0, None, "1")
    assert outcome == StaleVersion(current=2)
    memory = await stored(store)
    assert [m.content for m in memory.messages] == ["two"] and memory.version == 2


@pytest.mark.parametrize("if_match", ["1", "*", "-1", "0"])
async def test_a_conditional_write_to_a_missing_session_is_stale_at_version_zero(
    store, working_client, if_match
):
    outcome = await store.write(KEY, document(), T0, None, if_match)
    assert outcome == StaleVersion(current=0)
    assert working_client.exists(doc_key(KEY)) == 0
    assert working_client.zcard(ALL_SESSIONS) == 0  # not listed either


async def test_if_match_star_matches_whatever_version_the_session_is_at(store):
    for _ in range(4):
        await written(store, document())
    assert (await written(store, document(), if_match="*")).version == 5


async def test_a_document_written_before_versions_existed_is_version_zero(store, working_client):
    legacy = json.loads(document())
    del legacy["version"]
    working_client.execute_command("JSON.SET", doc_key(KEY), "$", json.dumps(legacy))
    assert await store.write(KEY, document(), T0, None, "1") == StaleVersion(current=0)
    assert (await written(store, document(), if_match="0")).version == 1


# What a replace keeps


async def test_a_replace_keeps_the_first_created_at_and_reports_it(store):
    first = await written(store, document(at=T0))
    second = await written(store, document(at=T0 + 50))
    assert first.created_at is None  # nothing was replaced
    assert second.created_at == T0
    assert (await stored(store)).created_at == T0


async def test_a_replace_keeps_the_extraction_flags_of_messages_it_still_holds(store):
    await written(store, document(messages=[user("a", "m1", extracted="t"), user("b", "m2")]))
    outcome = await written(store, document(messages=[user("a", "m1"), user("b", "m2"), user("c", "m3")]))
    assert outcome.extracted == {"m1"}
    assert outcome.unextracted == 2
    flags = {m.id: m.discrete_memory_extracted for m in (await stored(store)).messages}
    assert flags == {"m1": "t", "m2": "f", "m3": "f"}


async def test_system_messages_are_never_counted_as_waiting_for_extraction(store):
    system = Message(role="system", content="You are helpful.", id="s1")
    outcome = await written(store, document(messages=[system, user("hi", "m1", extracted="t")]))
    assert outcome.unextracted == 0


async def test_a_promoted_memory_stays_promoted_only_while_its_text_is_unchanged(store):
    promoted = [
        MemoryRecord(id="same", text="likes tea", persisted_at=T0),
        MemoryRecord(id="edited", text="likes coffee", persisted_at=T0),
    ]
    await written(store, document(memories=promoted))
    resent = [MemoryRecord(id="same", text="likes tea"), MemoryRecord(id="edited", text="likes cocoa")]
    outcome = await written(store, document(memories=resent))
    assert outcome.persisted == {"same": T0}
    assert outcome.unpersisted == 1
    persisted = {r.id: r.persisted_at for r in (await stored(store)).memories}
    assert persisted == {"same": T0, "edited": None}


# TTLs


async def test_a_write_with_a_ttl_expires_the_session_and_notes_when(store, working_client):
    await written(store, document(), ttl=600)
    assert 590 <= working_client.ttl(doc_key(KEY)) <= 600
    assert working_client.zscore(EXPIRIES, member_of(KEY)) == T0 + 600


async def test_a_write_without_a_ttl_makes_the_session_permanent_again(store, working_client):
    await written(store, document(), ttl=600)
    await written(store, document())
    assert working_client.ttl(doc_key(KEY)) == -1
    assert working_client.zscore(EXPIRIES, member_of(KEY)) is None


async def test_an_append_without_a_ttl_refreshes_the_sessions_own(store, working_client):
    await written(store, document(ttl_seconds=300), ttl=300)
    working_client.expire(doc_key(KEY), 10)
    await store.append(KEY, document(), appended(user("hi", "m1")), T0 + 5, 100, None)
    assert 290 <= working_client.ttl(doc_key(KEY)) <= 300
    assert working_client.zscore(EXPIRIES, member_of(KEY)) == T0 + 5 + 300


async def test_an_append_that_only_changes_the_ttl_moves_the_version(store, working_client):
    """A TTL is visible to clients: a PUT with the older version's If-Match must not drop it."""
    await written(store, document())
    await store.append(KEY, document(), appended(user("hi", "m1")), T0, 100, None)
    before = await stored(store)
    outcome = await store.append(KEY, document(), appended(user("hi", "m1")), T0 + 5, 100, 60)
    after = await stored(store)
    assert outcome.added == 0 and after.ttl_seconds == 60 and after.version == before.version + 1
    same = await store.append(KEY, document(), appended(user("hi", "m1")), T0 + 6, 100, 60)
    assert same.added == 0 and (await stored(store)).version == after.version  # nothing changed


async def test_an_append_with_ttl_zero_makes_the_session_permanent(store, working_client):
    await written(store, document(ttl_seconds=300), ttl=300)
    await store.append(KEY, document(), appended(user("hi", "m1")), T0, 100, 0)
    assert working_client.ttl(doc_key(KEY)) == -1
    assert working_client.zscore(EXPIRIES, member_of(KEY)) is None
    assert (await stored(store)).ttl_seconds is None


# Appends


async def test_an_append_creates_a_missing_session_from_the_new_document(store):
    messages = [user("one", "m1"), user("two", "m2")]
    outcome = await store.append(KEY, document(messages=messages), appended(*messages), T0, 100, None)
    assert isinstance(outcome, AppendOutcome)
    assert (outcome.added, outcome.version) == (2, 1)
    assert [m.id for m in WorkingMemory.model_validate_json(outcome.document).messages] == ["m1", "m2"]


async def test_an_append_skips_ids_the_session_already_holds(store):
    await written(store, document(messages=[user("one", "m1")], tokens=9))
    outcome = await store.append(
        KEY, document(), appended(user("one again", "m1"), user("two", "m2"), tokens=7), T0, 100, None
    )
    assert isinstance(outcome, AppendOutcome)
    assert (outcome.added, outcome.version) == (1, 2)
    memory = await stored(store)
    assert [m.content for m in memory.messages] == ["one", "two"]
    assert memory.tokens == 9 + 7  # only the new message's tokens are added


async def test_an_append_that_adds_nothing_keeps_the_version_and_update_time(store):
    await written(store, document(messages=[user("one", "m1")]))
    outcome = await store.append(KEY, document(), appended(user("one", "m1")), T0 + 99, 100, None)
    assert isinstance(outcome, AppendOutcome)
    assert (outcome.added, outcome.version) == (0, 1)
    assert (await stored(store)).updated_at == T0


async def test_an_append_past_the_message_limit_is_refused_and_writes_nothing(store):
    held = [user(f"m{i}", f"m{i}") for i in range(3)]
    await written(store, document(messages=held))
    outcome = await store.append(KEY, document(), appended(user("more", "x")), T0, 3, None)
    assert outcome == SessionFull(held=3)
    memory = await stored(store)
    assert len(memory.messages) == 3 and memory.version == 1


async def test_concurrent_appends_lose_nothing_and_each_gets_its_own_version(store):
    async def append_batch(writer: int) -> AppendOutcome | SessionFull:
        batch = [user(f"w{writer}-{n}", f"w{writer}-{n}") for n in range(5)]
        return await store.append(KEY, document(messages=batch), appended(*batch), T0, 1000, None)

    outcomes = await asyncio.gather(*(append_batch(writer) for writer in range(20)))
    assert sorted(o.version for o in outcomes if isinstance(o, AppendOutcome)) == list(range(1, 21))
    contents = [m.content for m in (await stored(store)).messages]
    assert len(contents) == 100
    for writer in range(20):
        assert [c for c in contents if c.startswith(f"w{writer}-")] == [f"w{writer}-{n}" for n in range(5)]


# Reads


async def test_a_read_of_a_missing_session_is_none_and_creates_nothing(store, working_client):
    assert await store.read(KEY, T0) is None
    assert working_client.exists(doc_key(KEY)) == 0


# Listings


async def write_at(store: WorkingMemoryStore, key: SessionKey, at: float, ttl: int | None = None) -> None:
    outcome = await store.write(key, document(key), at, ttl)
    assert isinstance(outcome, WriteOutcome)


async def test_a_listing_holds_only_its_namespace_or_user(store):
    await write_at(store, SessionKey("team", "alice", "a1"), T0)
    await write_at(store, SessionKey("team", "bob", "b1"), T0 + 1)
    await write_at(store, SessionKey("team", None, "shared"), T0 + 2)
    await write_at(store, SessionKey("other", "alice", "a2"), T0 + 3)
    assert await store.list_sessions("team", "alice", 0, 10, T0) == (["a1"], 1)
    assert await store.list_sessions("team", None, 0, 10, T0) == (["shared", "b1", "a1"], 3)
    assert await store.list_sessions(None, None, 0, 10, T0) == (["a2", "shared", "b1", "a1"], 4)


async def test_writes_with_the_same_millisecond_timestamp_list_in_the_order_they_were_made(store):
    # Timestamps have millisecond precision: writes in a row can share one.
    for name in ["z", "a"]:
        await write_at(store, SessionKey("team", "alice", name), T0)
    assert await store.list_sessions("team", "alice", 0, 10, T0) == (["a", "z"], 2)
    await write_at(store, SessionKey("team", "alice", "z"), T0)
    assert await store.list_sessions("team", "alice", 0, 10, T0) == (["z", "a"], 2)


async def test_listed_keys_carry_namespace_and_user(store):
    await write_at(store, SessionKey("team", "alice", "a1"), T0)
    await write_at(store, SessionKey("team", None, "n1"), T0 + 1)
    keys, total = await store.list_keys("team", None, 0, 10, T0)
    assert keys == [SessionKey("team", None, "n1"), SessionKey("team", "alice", "a1")] and total == 2


async def test_expired_sessions_leave_every_listing_when_read(store, working_client):
    gone = SessionKey("team", "alice", "gone")
    await write_at(store, gone, T0, ttl=60)
    await write_at(store, SessionKey("team", "alice", "kept"), T0 + 1)
    working_client.delete(doc_key(gone))  # as Redis does when the TTL passes
    assert await store.list_sessions("team", "alice", 0, 10, T0 + 61) == (["kept"], 1)
    assert await store.list_sessions(None, None, 0, 10, T0 + 61) == (["kept"], 1)
    assert working_client.zcard(EXPIRIES) == 0


async def test_a_session_whose_ttl_passed_but_still_exists_stays_listed(store):
    await write_at(store, KEY, T0, ttl=60)
    assert await store.list_sessions("team", "alice", 0, 10, T0 + 61) == (["trip"], 1)


# Deletes


async def test_delete_removes_every_key_of_the_session_and_its_listings(store, working_client):
    await write_at(store, KEY, T0, ttl=600)
    other = SessionKey("team", "alice", "other")
    await write_at(store, other, T0 + 1)
    jobs = SessionJobStore(working_client)
    jobs.claim_extraction(KEY, "job-1", ["m1"])
    jobs.await_extraction(KEY, {"window_size": 4})
    assert await store.delete(KEY) is True
    for key in (doc_key(KEY), claims_key(KEY), summary_wait_key(KEY)):
        assert working_client.exists(key) == 0, key
    assert working_client.zscore(EXPIRIES, member_of(KEY)) is None
    assert await store.list_sessions(None, None, 0, 10, T0) == (["other"], 1)
    assert await store.list_sessions("team", "alice", 0, 10, T0) == (["other"], 1)


async def test_deleting_a_missing_session_reports_nothing_deleted(store):
    assert await store.delete(KEY) is False


async def test_a_session_gone_but_for_its_job_keys_is_not_reported_deleted(store, working_client):
    """The summary-wait key outlives an expired session; deleting it then deletes no session."""
    SessionJobStore(working_client).await_extraction(KEY, {"window_size": 4})
    assert await store.delete(KEY) is False
    assert working_client.exists(summary_wait_key(KEY)) == 0


# Key layout


@pytest.mark.parametrize(
    "key",
    [
        SessionKey("a:b", "c", "d"),
        SessionKey("a", "b:c", "d"),
        SessionKey("ns", None, "x%3Ay"),
        SessionKey("ns", "u", "{slot}"),
    ],
)
def test_a_member_name_round_trips_to_the_same_session(key):
    assert key_of(member_of(key)) == key
    assert key_of(member_of(key).encode()) == key
