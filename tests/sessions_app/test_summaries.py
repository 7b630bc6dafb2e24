"""Summarisation by the chat model, through the real queue (RQ synchronous mode) and the fake model."""

from __future__ import annotations

import pytest
from rq import Queue

from memoryserver.redis import get_redis
from sessions_app.repository import SessionJobStore
from sessions_app.schemas import Message, SessionKey
from sessions_app.summaries import split_for_summary
from sessions_app.windows import MessageBudget
from tests.fake_openai import Reply
from tests.helpers import conversation


@pytest.fixture(autouse=True)
def no_extraction(settings) -> None:
    settings.ENABLE_DISCRETE_MEMORY_EXTRACTION = False


def contents(memory) -> list[str]:
    return [m["content"].split(" word")[0] for m in memory["messages"]]


def chat_prompts(server) -> list[str]:
    return [body["messages"][-1]["content"] for body in server.bodies("/v1/chat/completions")]


def test_outgrown_session_is_folded_into_a_running_summary(api, chat_model):
    chat_model.push(Reply.text("Alice planned a trip to Lisbon."))
    put = api.put("/sessions/s/memory", json={"messages": conversation(6)}, params={"window_size": 4})
    assert put.status_code == 200, put.text
    memory = api.get("/sessions/s/memory", params={"window_size": 100}).json()
    assert memory["context"] == "Alice planned a trip to Lisbon."
    assert contents(memory) == ["message 4", "message 5"]  # half the window kept
    (prompt,) = chat_prompts(chat_model)
    assert "(none yet)" in prompt and "message 0" in prompt and "message 3" in prompt
    assert "message 4" not in prompt
    assert memory["tokens"] < put.json()["tokens"]

    # The next overflow updates the summary rather than starting again.
    chat_model.push(Reply.text("Alice planned a trip to Lisbon and booked a hotel."))
    messages = memory["messages"] + conversation(4, prefix="later")
    api.put(
        "/sessions/s/memory",
        json={"messages": messages, "context": memory["context"]},
        params={"window_size": 4},
    )
    memory = api.get("/sessions/s/memory", params={"window_size": 100}).json()
    assert memory["context"] == "Alice planned a trip to Lisbon and booked a hotel."
    assert "Current summary:\nAlice planned a trip to Lisbon." in chat_prompts(chat_model)[1]
    assert contents(memory) == ["later 2", "later 3"]


def test_a_failing_model_leaves_the_session_intact_and_the_job_failed(
    api, chat_model, redis_client, settings
):
    settings.LLM_MAX_RETRIES = 1
    chat_model.push(*[Reply.error(500, "upstream down")] * 2)
    put = api.put("/sessions/s/memory", json={"messages": conversation(6)}, params={"window_size": 4})
    job_id = put.json()["summarization"]["job_id"]
    memory = api.get("/sessions/s/memory", params={"window_size": 100}).json()
    assert len(memory["messages"]) == 6 and memory["context"] is None
    failed = Queue("summarization", connection=redis_client).failed_job_registry
    assert job_id in failed.get_job_ids()
    task = api.get(f"/tasks/{job_id}").json()
    assert task["status"] == "failed"
    assert task["error"].startswith("providers.llm.base.ModelUnavailable") and "500" in task["error"]


@pytest.fixture
def jobs(redis_client) -> SessionJobStore:
    return SessionJobStore(get_redis())


def test_messages_written_during_summarisation_are_kept(api, jobs):
    key = SessionKey("default", None, "s")
    api.put(
        "/sessions/s/memory",
        json={"messages": conversation(6), "context": "old"},
        params={"window_size": 100},
    )
    snapshot = api.get("/sessions/s/memory", params={"window_size": 100}).json()["messages"]
    # A client appends a message while the model is writing the summary.
    newer = [*snapshot, {"role": "user", "content": "message 6 arrived meanwhile"}]
    api.put("/sessions/s/memory", json={"messages": newer, "context": "old"}, params={"window_size": 100})
    removed = jobs.apply_summary(key, "old", "new summary", [m["id"] for m in snapshot[:4]], -10, 1.0)
    assert removed == 4
    memory = api.get("/sessions/s/memory", params={"window_size": 100}).json()
    assert memory["context"] == "new summary"
    assert contents(memory) == ["message 4", "message 5", "message 6 arrived meanwhile"]


def test_a_context_replaced_meanwhile_wins_over_the_summary(api, jobs):
    key = SessionKey("default", None, "s")
    api.put(
        "/sessions/s/memory",
        json={"messages": conversation(6), "context": "old"},
        params={"window_size": 100},
    )
    ids = [m["id"] for m in api.get("/sessions/s/memory", params={"window_size": 100}).json()["messages"]]
    api.put("/sessions/s/memory", json={"messages": conversation(6), "context": "client's own"})
    assert jobs.apply_summary(key, "old", "new summary", ids[:4], 0, 1.0) == -2
    memory = api.get("/sessions/s/memory", params={"window_size": 100}).json()
    assert memory["context"] == "client's own" and len(memory["messages"]) == 6
    assert jobs.apply_summary(SessionKey("default", None, "gone"), "", "x", [], 0, 1.0) is None


def test_split_keeps_half_the_window_by_count_and_tokens():
    messages = [Message(role="user", content=f"m{i} " + "word " * 50) for i in range(10)]
    fold, kept = split_for_summary(messages, MessageBudget(6, None, "openai"))
    assert len(fold) == 7 and len(kept) == 3
    fold, kept = split_for_summary(messages, MessageBudget(100, 120, "openai"))
    assert len(kept) == 1 and len(fold) == 9  # 60 tokens of room: one message of ~55
    fold, kept = split_for_summary(messages[:1], MessageBudget(1, None, "openai"))
    assert fold == [] and len(kept) == 1
