"""Working-memory services called directly, on the real Redis, with a BackgroundWork that
records what a write asks to queue (the real queue is tested through HTTP elsewhere)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import redis

from memoryserver.auth.principal import ADMIN, SYSTEM, Principal
from memoryserver.errors import Forbidden, InvalidInput, NotFound, PreconditionFailed
from memoryserver.redis import close_async_clients, get_async_redis
from memoryserver.tokens import count_message
from sessions_app.repository import SessionJobStore, WorkingMemoryStore
from sessions_app.schemas import (
    AppendMessagesInput,
    SessionKey,
    SessionListQuery,
    SessionScope,
    WindowQuery,
    WorkingMemory,
    WorkingMemoryInput,
    WorkingMemoryPutResponse,
)
from sessions_app.services import (
    BackgroundWork,
    append_messages,
    delete_working_memory,
    get_working_memory,
    list_sessions,
    parse_if_match,
    put_working_memory,
)
from sessions_app.windows import MessageBudget

pytestmark = pytest.mark.anyio

DEFAULT = SessionKey("default", None, "s")


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # the Redis clients are asyncio clients


@dataclass
class QueuedWork:
    """What the writes asked to queue, in order; job ids are numbered like a queue's would be."""

    summaries: list[tuple[SessionKey, MessageBudget]] = field(default_factory=list)
    promotions: list[SessionKey] = field(default_factory=list)
    extractions: list[SessionKey] = field(default_factory=list)

    async def summary(self, key: SessionKey, budget: MessageBudget) -> str:
        self.summaries.append((key, budget))
        return f"summary-{len(self.summaries)}"

    async def promotion(self, key: SessionKey) -> str:
        self.promotions.append(key)
        return f"promotion-{len(self.promotions)}"

    async def extraction(self, key: SessionKey) -> str:
        self.extractions.append(key)
        return f"extraction-{len(self.extractions)}"

    def background(self) -> BackgroundWork:
        return BackgroundWork(summary=self.summary, promotion=self.promotion, extraction=self.extraction)


@pytest.fixture
async def store(redis_client: redis.Redis) -> AsyncIterator[WorkingMemoryStore]:
    yield WorkingMemoryStore(get_async_redis("working"))
    await close_async_clients()


@pytest.fixture
def work() -> QueuedWork:
    return QueuedWork()


@pytest.fixture
def model_configured(fake_openai, settings):
    """A chat model is configured (the scripted server); queuing work never calls it."""
    settings.OPENAI_API_BASE = fake_openai.openai_base_url
    yield fake_openai
    assert fake_openai.requests == []


def bound(namespaces: set[str] | None = None, user_id: str | None = None) -> Principal:
    """A token holder confined to some namespaces and/or one user."""
    return Principal(
        subject="tenant",
        method="token",
        scopes=frozenset({ADMIN}),
        namespaces=frozenset(namespaces) if namespaces is not None else None,
        user_id=user_id,
    )


def texts(count: int, prefix: str = "message") -> list[dict[str, Any]]:
    roles = ("user", "assistant")
    return [{"role": roles[i % 2], "content": f"{prefix} {i}", "id": f"{prefix}-{i}"} for i in range(count)]


async def put(
    store: WorkingMemoryStore,
    work: QueuedWork,
    body: dict[str, Any],
    session_id: str = "s",
    principal: Principal = SYSTEM,
    if_match: str = "",
    **query: Any,
) -> WorkingMemoryPutResponse:
    return await put_working_memory(
        store,
        principal,
        session_id,
        WorkingMemoryInput.model_validate(body),
        WindowQuery.model_validate(query),
        work.background(),
        if_match,
    )


async def append(
    store: WorkingMemoryStore,
    work: QueuedWork,
    body: dict[str, Any],
    session_id: str = "s",
    principal: Principal = SYSTEM,
    **query: Any,
) -> WorkingMemoryPutResponse:
    return await append_messages(
        store,
        principal,
        session_id,
        AppendMessagesInput.model_validate(body),
        WindowQuery.model_validate(query),
        work.background(),
    )


async def get(
    store: WorkingMemoryStore, session_id: str = "s", principal: Principal = SYSTEM, **query: Any
) -> WorkingMemory:
    return await get_working_memory(store, principal, session_id, WindowQuery.model_validate(query))


def contents(memory: Any) -> list[str]:
    return [m.content for m in memory.messages]


# If-Match


@pytest.mark.parametrize(
    ("header", "version"),
    [
        (None, ""),
        ("", ""),
        ("   ", ""),
        ("*", "*"),
        (" * ", "*"),
        ('"3"', "3"),
        ('W/"3"', "3"),
        ("3", "3"),
        ('"1", "2"', "-1"),
        ('"abc"', "-1"),
        ('"-2"', "-1"),
        ('"²"', "-1"),  # digits to str.isdigit, not to Redis
        ('"٣"', "-1"),
    ],
)
def test_if_match_names_no_version_any_version_one_version_or_none_that_can_match(header, version):
    assert parse_if_match(header) == version


async def test_a_stale_put_names_the_current_version_and_writes_nothing(store, work):
    await put(store, work, {"messages": texts(1)})
    await append(store, work, {"messages": texts(1, "more")})
    with pytest.raises(PreconditionFailed) as caught:
        await put(store, work, {"messages": texts(1, "lost")}, if_match="1")
    assert "session 's' in namespace 'default' is at version 2, not version 1" in caught.value.detail
    assert contents(await get(store)) == ["message 0", "more 0"]
    assert work.extractions == work.promotions == [] and work.summaries == []


async def test_a_conditional_put_of_a_missing_session_says_there_is_none(store, work):
    with pytest.raises(
        PreconditionFailed, match="there is no session 's' in namespace 'default' for user 'u'"
    ):
        await put(store, work, {"messages": texts(1)}, if_match="*", user_id="u")
    with pytest.raises(NotFound):
        await get(store, user_id="u")


# Scope: path, query and body must agree


@pytest.mark.parametrize("write", [put, append])
@pytest.mark.parametrize(
    ("body", "query", "field", "message"),
    [
        ({"session_id": "other"}, {}, "session_id", "body says 'other' but the URL says 's'"),
        ({"namespace": "a"}, {"namespace": "b"}, "namespace", "body says 'a' but the query says 'b'"),
        ({"user_id": "ann"}, {"user_id": "bob"}, "user_id", "body says 'ann' but the query says 'bob'"),
    ],
    ids=["session_id", "namespace", "user_id"],
)
async def test_a_body_that_disagrees_with_the_url_or_query_names_the_field(
    store, work, write, body, query, field, message
):
    with pytest.raises(InvalidInput) as caught:
        await write(store, work, {"messages": texts(1), **body}, **query)
    assert [(p.field, p.message) for p in caught.value.problems] == [(field, message)]
    assert await store.list_sessions(None, None, 0, 10, 0.0) == ([], 0)


@pytest.mark.parametrize("write", [put, append])
async def test_the_body_may_name_the_scope_the_query_leaves_out(store, work, write):
    written = await write(
        store, work, {"messages": texts(1), "namespace": "team", "user_id": "ann", "session_id": "s"}
    )
    assert (written.namespace, written.user_id) == ("team", "ann")
    assert contents(await get(store, namespace="team", user_id="ann")) == ["message 0"]


async def test_a_session_id_that_is_not_an_identifier_is_invalid_input(store):
    with pytest.raises(InvalidInput) as caught:
        await get(store, session_id="has space")
    assert caught.value.problems[0].field == "session_id"


async def test_a_missing_session_is_not_found_naming_session_namespace_and_user(store):
    with pytest.raises(NotFound) as caught:
        await get(store, "nobody", namespace="team", user_id="ann")
    assert caught.value.detail == "No working memory for session 'nobody' in namespace 'team' for user 'ann'."


async def test_the_default_namespace_comes_from_settings(store, work, settings):
    settings.DEFAULT_NAMESPACE = "house"
    assert (await put(store, work, {"messages": texts(1)})).namespace == "house"
    assert await store.list_sessions("house", None, 0, 10, 0.0) == (["s"], 1)


# Tenants: a caller never reads or writes another tenant's session


async def test_a_namespace_bound_caller_cannot_write_another_namespace(store, work):
    team = bound({"team"})
    with pytest.raises(Forbidden, match="Namespace 'other'"):
        await put(store, work, {"messages": texts(1)}, principal=team, namespace="other")
    with pytest.raises(Forbidden):
        await append(store, work, {"messages": texts(1), "namespace": "other"}, principal=team)
    assert await store.list_sessions(None, None, 0, 10, 0.0) == ([], 0)


async def test_a_caller_bound_to_one_namespace_writes_there_by_default(store, work):
    written = await put(store, work, {"messages": texts(1)}, principal=bound({"team"}))
    assert written.namespace == "team"
    with pytest.raises(NotFound):
        await get(store)  # nothing in the server's default namespace


async def test_a_namespace_bound_caller_cannot_read_or_delete_another_namespace(store, work):
    await put(store, work, {"messages": texts(1)}, namespace="other")
    team = bound({"team"})
    with pytest.raises(Forbidden):
        await get(store, principal=team, namespace="other")
    with pytest.raises(Forbidden):
        await delete_working_memory(store, team, "s", SessionScope(namespace="other"))
    assert contents(await get(store, namespace="other")) == ["message 0"]


async def test_a_user_bound_caller_acts_for_its_user_whatever_it_names(store, work):
    await put(store, work, {"messages": texts(1, "bob")}, user_id="bob")
    await put(store, work, {"messages": texts(1, "nobody")})
    ann = bound(user_id="ann")
    with pytest.raises(Forbidden, match="User 'bob'"):
        await get(store, principal=ann, user_id="bob")
    with pytest.raises(NotFound):
        await get(store, principal=ann)  # ann's own session, not the user-less one
    written = await put(store, work, {"messages": texts(1, "ann")}, principal=ann)
    assert written.user_id == "ann"
    assert contents(await get(store, user_id="bob")) == ["bob 0"]
    assert contents(await get(store)) == ["nobody 0"]


async def test_a_caller_cannot_file_structured_memories_under_another_tenant(store, work):
    team = bound({"team"})
    with pytest.raises(Forbidden):
        await put(store, work, {"memories": [{"text": "x", "namespace": "other"}]}, principal=team)
    with pytest.raises(Forbidden):
        await put(
            store, work, {"memories": [{"text": "x", "user_id": "bob"}]}, principal=bound(user_id="ann")
        )
    assert work.promotions == []


async def test_structured_memories_take_the_sessions_tenant_and_lose_a_claimed_persisted_at(store, work):
    body = {"memories": [{"id": "r1", "text": "likes tea", "persisted_at": 1_700_000_000}]}
    written = await put(store, work, body, namespace="team", user_id="ann")
    (record,) = written.memories
    assert (record.namespace, record.user_id, record.session_id) == ("team", "ann", "s")
    assert record.persisted_at is None
    assert work.promotions == [SessionKey("team", "ann", "s")]


# Listing


async def test_listing_is_confined_to_the_callers_user(store, work):
    for user, session in [("ann", "a1"), ("bob", "b1"), ("ann", "a2"), (None, "n1")]:
        await put(store, work, {"messages": texts(1)}, session_id=session, user_id=user)
    assert await list_sessions(store, bound(user_id="ann"), SessionListQuery()) == (["a2", "a1"], 2)
    with pytest.raises(Forbidden):
        await list_sessions(store, bound(user_id="ann"), SessionListQuery(user_id="bob"))


async def test_listing_is_confined_to_the_callers_namespace(store, work):
    await put(store, work, {"messages": texts(1)}, session_id="t1", namespace="team")
    await put(store, work, {"messages": texts(1)}, session_id="o1", namespace="other")
    team = bound({"team"})
    assert await list_sessions(store, team, SessionListQuery()) == (["t1"], 1)
    with pytest.raises(Forbidden):
        await list_sessions(store, team, SessionListQuery(namespace="other"))
    assert await list_sessions(store, SYSTEM, SessionListQuery()) == (["o1", "t1"], 2)


async def test_a_caller_bound_to_several_namespaces_must_name_one_to_list(store):
    with pytest.raises(InvalidInput, match=r"namespace: this caller may use several namespaces \(a, b\)"):
        await list_sessions(store, bound({"a", "b"}), SessionListQuery())


async def test_listing_a_user_pages_through_that_users_sessions(store, work):
    for index in range(5):
        await put(store, work, {"messages": texts(1)}, session_id=f"s{index}", user_id="ann")
    await put(store, work, {"messages": texts(1)}, session_id="other", user_id="bob")
    page = await list_sessions(store, SYSTEM, SessionListQuery(user_id="ann", limit=2, offset=1))
    assert page == (["s3", "s2"], 5)


# Deletes


async def test_delete_removes_only_the_named_session(store, work):
    await put(store, work, {"messages": texts(1)}, user_id="ann")
    await put(store, work, {"messages": texts(1)}, user_id="bob")
    assert await delete_working_memory(store, SYSTEM, "s", SessionScope(user_id="ann")) is True
    assert await delete_working_memory(store, SYSTEM, "s", SessionScope(user_id="ann")) is False
    with pytest.raises(NotFound):
        await get(store, user_id="ann")
    assert contents(await get(store, user_id="bob")) == ["message 0"]


# Windows in answers


async def test_a_get_returns_the_newest_messages_of_the_window_and_their_tokens(store, work):
    await put(store, work, {"messages": texts(6), "context": "summary"}, window_size=100)
    memory = await get(store, window_size=2)
    assert contents(memory) == ["message 4", "message 5"]
    everything = await get(store, window_size=100)
    assert 0 < memory.tokens < everything.tokens


async def test_an_append_answers_with_the_window_a_get_would_return(store, work):
    await put(store, work, {"messages": texts(4)}, window_size=100)
    appended = await append(store, work, {"messages": texts(2, "new")}, window_size=3)
    read = await get(store, window_size=3)
    assert contents(appended) == contents(read) == ["message 3", "new 0", "new 1"]
    assert appended.tokens == read.tokens


async def test_an_unknown_model_is_refused_before_anything_is_written(store, work):
    with pytest.raises(InvalidInput) as caught:
        await put(store, work, {"messages": texts(1)}, model_name="gpt-99")
    assert caught.value.problems[0].field == "model_name"
    assert await store.list_sessions(None, None, 0, 10, 0.0) == ([], 0)


# Appends


async def test_an_id_sent_twice_in_one_append_is_added_once_as_first_sent(store, work):
    body = {
        "messages": [
            {"role": "user", "content": "first", "id": "a"},
            {"role": "user", "content": "second", "id": "a"},
        ]
    }
    appended = await append(store, work, body)
    assert contents(appended) == ["first"]
    assert appended.tokens == count_message("first")  # the second copy costs nothing


async def test_concurrent_appends_through_the_service_lose_nothing(store, work):
    batches = [texts(3, f"writer{index}") for index in range(10)]
    answers = await asyncio.gather(*(append(store, work, {"messages": batch}) for batch in batches))
    assert sorted(answer.version for answer in answers) == list(range(1, 11))
    stored = contents(await get(store, window_size=100))
    assert sorted(stored) == sorted(m["content"] for batch in batches for m in batch)
    for index, batch in enumerate(batches):  # each writer's messages stay in its order
        assert [c for c in stored if c.split()[0] == f"writer{index}"] == [m["content"] for m in batch]


async def test_a_retried_append_neither_adds_nor_queues_extraction_again(store, work, model_configured):
    await append(store, work, {"messages": texts(2)})
    retried = await append(store, work, {"messages": texts(2)})
    assert contents(retried) == ["message 0", "message 1"] and retried.version == 1
    assert work.extractions == [DEFAULT]


# Queued work: summaries


async def test_a_session_within_its_window_queues_no_summary(store, work, model_configured):
    written = await put(store, work, {"messages": texts(3)}, window_size=3)
    assert written.summarization is None and work.summaries == []


async def test_a_session_past_its_window_queues_a_summary_with_the_clients_budget(
    store, work, model_configured
):
    written = await put(
        store, work, {"messages": texts(4)}, window_size=3, model_name="claude-3-5-sonnet-latest"
    )
    assert written.summarization is not None
    assert written.summarization.model_dump() == {
        "status": "queued",
        "job_id": "summary-1",
        "reason": "4 messages exceed the window of 3",
        "detail": None,
    }
    assert work.summaries == [(DEFAULT, MessageBudget(3, 200_000, "anthropic"))]


async def test_a_session_past_the_token_threshold_queues_a_summary(store, work, model_configured, settings):
    settings.SUMMARIZATION_THRESHOLD = 0.5
    long = [{"role": "user", "content": "word " * 60}] * 2
    written = await put(store, work, {"messages": long}, context_window_max=200, window_size=100)
    assert written.summarization is not None
    assert written.summarization.reason.endswith("tokens exceed 100 (50% of 200)")
    assert work.summaries == [(DEFAULT, MessageBudget(100, 200, "openai"))]


async def test_without_a_chat_model_the_summary_is_disabled_and_says_why(store, work):
    written = await put(store, work, {"messages": texts(4)}, window_size=3)
    summarization = written.summarization
    assert summarization is not None
    assert (summarization.status, summarization.job_id) == ("disabled", None)
    assert summarization.reason == "4 messages exceed the window of 3"
    assert summarization.detail is not None and "No chat model is configured" in summarization.detail
    assert work.summaries == []


async def test_an_append_that_outgrows_the_window_queues_a_summary(store, work, model_configured):
    appended = await append(store, work, {"messages": texts(5)}, window_size=4)
    assert appended.summarization is not None and appended.summarization.job_id == "summary-1"
    assert contents(appended) == [f"message {i}" for i in range(1, 5)]


# Queued work: promotion and extraction


async def test_new_messages_queue_extraction_when_a_model_is_configured(store, work, model_configured):
    await put(store, work, {"messages": texts(2)}, user_id="ann")
    assert work.extractions == [SessionKey("default", "ann", "s")]


async def test_no_extraction_is_queued_when_it_is_switched_off(store, work, model_configured, settings):
    settings.ENABLE_DISCRETE_MEMORY_EXTRACTION = False
    await put(store, work, {"messages": texts(2)})
    await append(store, work, {"messages": texts(1, "more")})
    assert work.extractions == []


async def test_no_extraction_is_queued_without_a_chat_model(store, work):
    await put(store, work, {"messages": texts(2)})
    assert work.extractions == []


async def test_system_messages_alone_queue_no_extraction(store, work, model_configured):
    system = {"messages": [{"role": "system", "content": "Be brief."}]}
    await put(store, work, system)
    await append(store, work, system, session_id="t")
    assert work.extractions == []


async def test_an_append_adding_only_a_system_message_queues_no_extraction(
    store, work, model_configured, working_client
):
    first = await append(store, work, {"messages": texts(1)})
    SessionJobStore(working_client).mark(
        DEFAULT, "messages", "discrete_memory_extracted", "t", "content", {first.messages[0].id: "message 0"}
    )
    system = {"role": "system", "content": "Be brief.", "id": "s1"}
    await append(store, work, {"messages": [*texts(1), system]})
    assert work.extractions == [DEFAULT]  # the first append's only


async def test_messages_extracted_before_queue_no_extraction_when_sent_again(
    store, work, model_configured, working_client
):
    written = await put(store, work, {"messages": texts(2)})
    SessionJobStore(working_client).mark(
        DEFAULT,
        "messages",
        "discrete_memory_extracted",
        "t",
        "content",
        {m.id: m.content for m in written.messages},
    )
    again = await put(store, work, {"messages": texts(2)})
    assert [m.discrete_memory_extracted for m in again.messages] == ["t", "t"]
    assert work.extractions == [DEFAULT]  # from the first write only


async def test_memories_promoted_before_are_not_promoted_again(store, work, working_client):
    body = {"memories": [{"id": "r1", "text": "likes tea"}]}
    await put(store, work, body)
    SessionJobStore(working_client).mark(
        DEFAULT, "memories", "persisted_at", 1_700_000_000.0, "text", {"r1": "likes tea"}
    )
    again = await put(store, work, body)
    assert again.memories[0].persisted_at == 1_700_000_000.0
    assert work.promotions == [DEFAULT]  # from the first write only


async def test_a_session_without_memories_queues_no_promotion(store, work):
    await put(store, work, {"messages": texts(2)})
    await append(store, work, {"messages": texts(1, "more")})
    assert work.promotions == []
