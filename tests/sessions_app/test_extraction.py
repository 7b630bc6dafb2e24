"""Extraction of long-term memories from messages, and promotion of structured memories.

Through the real queue (RQ synchronous mode), the real Redis and the scripted model server.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
from rq import Queue

from tests.fake_openai import Reply

MONDAY = datetime(2026, 11, 23, 10, 0, tzinfo=UTC).timestamp()


def extraction_calls(server) -> list[dict]:
    return [
        body
        for body in server.bodies("/v1/chat/completions")
        if "Resolve relative dates" in body["messages"][0]["content"]
    ]


def put(api, messages, **body):
    response = api.put(
        "/sessions/trip/memory", json={"messages": messages, **body}, params={"user_id": "alice"}
    )
    assert response.status_code == 200, response.text
    return response.json()


def search(api, text, **filters):
    response = api.post("/long-term-memory/search", json={"text": text, **filters})
    assert response.status_code == 200, response.text
    return response.json()["memories"]


MESSAGES = [
    {
        "id": "m1",
        "role": "user",
        "content": "I flew to Lisbon yesterday, I love pastel de nata",
        "created_at": MONDAY,
    },
    {"id": "m2", "role": "assistant", "content": "Great! Enjoy Lisbon.", "created_at": MONDAY + 5},
]
EXTRACTED = {
    "memories": [
        {
            "text": "Alice flew to Lisbon on 2026-11-22.",
            "memory_type": "episodic",
            "topics": ["travel"],
            "entities": ["Lisbon"],
            "event_date": "2026-11-22",
        },
        {"text": "Alice loves pastel de nata.", "topics": ["food", "food"], "entities": []},
    ]
}


def test_new_messages_are_extracted_once_in_one_call(api, chat_model):
    chat_model.push(Reply.json(EXTRACTED))
    memory = put(api, MESSAGES)
    (call,) = extraction_calls(chat_model)
    prompt = call["messages"][-1]["content"]
    assert "[2026-11-23 10:00 UTC (Monday)] user: I flew to Lisbon yesterday" in prompt
    assert call["tool_choice"]["function"]["name"]  # structured output is a forced tool call
    assert "Resolve relative dates" in call["messages"][0]["content"]

    trip = search(api, "Lisbon trip", user_id={"eq": "alice"})
    flew = next(m for m in trip if m["text"] == "Alice flew to Lisbon on 2026-11-22.")
    assert flew["memory_type"] == "episodic" and flew["session_id"] == "trip" and flew["user_id"] == "alice"
    assert flew["event_date"] == datetime(2026, 11, 22, tzinfo=UTC).timestamp()
    assert flew["topics"] == ["travel"] and flew["entities"] == ["Lisbon"]
    assert flew["extracted_from"] == ["m1", "m2"]
    food = next(m for m in trip if m["text"] == "Alice loves pastel de nata.")
    assert food["topics"] == ["food"] and food["memory_type"] == "semantic"

    stored = api.get("/sessions/trip/memory", params={"user_id": "alice"}).json()
    assert [m["discrete_memory_extracted"] for m in stored["messages"]] == ["t", "t"]
    assert [m["discrete_memory_extracted"] for m in memory["messages"]] == ["f", "f"]

    # The client sends the same messages again without the flags: nothing is extracted again.
    again = put(api, [{k: v for k, v in m.items()} for m in MESSAGES])
    assert [m["discrete_memory_extracted"] for m in again["messages"]] == ["t", "t"]
    assert len(extraction_calls(chat_model)) == 1

    # One new message: one call with only that message.
    chat_model.push(Reply.json({"memories": []}))
    put(
        api,
        [
            *MESSAGES,
            {"id": "m3", "role": "user", "content": "My sister Ana lives there", "created_at": MONDAY + 60},
        ],
    )
    calls = extraction_calls(chat_model)
    assert len(calls) == 2
    assert (
        "Ana" in calls[1]["messages"][-1]["content"] and "pastel" not in calls[1]["messages"][-1]["content"]
    )


def test_custom_strategy_prompt_is_used_and_validated(api, chat_model):
    chat_model.push(Reply.json({"memories": []}))
    strategy = {"strategy": "custom", "custom_prompt": "Only remember travel destinations."}
    put(api, MESSAGES, long_term_memory_strategy=strategy)
    (call,) = extraction_calls(chat_model)
    assert call["messages"][0]["content"].startswith("Only remember travel destinations.")
    stored = api.get("/sessions/trip/memory", params={"user_id": "alice"}).json()
    assert stored["long_term_memory_strategy"]["strategy"] == "custom"

    bad = api.put(
        "/sessions/x/memory", json={"messages": [], "long_term_memory_strategy": {"strategy": "custom"}}
    )
    assert bad.status_code == 422 and "custom_prompt" in bad.text
    unknown = api.put("/sessions/x/memory", json={"long_term_memory_strategy": {"strategy": "everything"}})
    assert unknown.status_code == 422


def test_malformed_model_output_is_retried_once_then_the_job_fails(api, chat_model, redis_client):
    chat_model.push(Reply.text("Sure! Here are the memories: Lisbon"), Reply.text("still not JSON"))
    put(api, MESSAGES)
    assert len(extraction_calls(chat_model)) == 2
    failed = Queue("extraction", connection=redis_client).failed_job_registry
    assert failed.count == 1
    assert search(api, "Lisbon") == []
    stored = api.get("/sessions/trip/memory", params={"user_id": "alice"}).json()
    assert [m["discrete_memory_extracted"] for m in stored["messages"]] == ["f", "f"]


def test_malformed_output_then_a_good_one_succeeds(api, chat_model):
    chat_model.push(Reply.text("not json"), Reply.json(EXTRACTED))
    put(api, MESSAGES)
    assert len(extraction_calls(chat_model)) == 2
    assert {m["text"] for m in search(api, "Lisbon")} >= {"Alice flew to Lisbon on 2026-11-22."}


def test_without_a_model_nothing_is_queued_for_extraction(api, sync_jobs, redis_client):
    put(api, MESSAGES)
    assert Queue("extraction", connection=redis_client).count == 0
    assert api.get("/info").json()["features"]["extraction"]["enabled"] is False


def test_structured_memories_are_promoted_exactly_once(api, sync_jobs):
    record = {"id": "pref", "text": "Alice prefers window seats", "topics": ["travel"]}
    memory = put(api, [], memories=[record])
    stored = api.get("/long-term-memory/pref").json()
    assert stored["user_id"] == "alice" and stored["session_id"] == "trip" and stored["persisted_at"]
    session = api.get("/sessions/trip/memory", params={"user_id": "alice"}).json()
    assert session["memories"][0]["persisted_at"] == stored["persisted_at"]
    assert memory["memories"][0]["persisted_at"] is None  # the write returned before promotion

    # An edit in long-term memory survives the client sending the same working memory again.
    api.patch("/long-term-memory/pref", json={"topics": ["seats"]})
    again = put(api, [], memories=[record])
    assert again["memories"][0]["persisted_at"] == stored["persisted_at"]
    assert api.get("/long-term-memory/pref").json()["topics"] == ["seats"]

    # A changed text is promoted again.
    put(api, [], memories=[{**record, "text": "Alice prefers aisle seats"}])
    assert api.get("/long-term-memory/pref").json()["text"] == "Alice prefers aisle seats"


def test_a_client_copy_with_a_changed_text_is_promoted_again(api, sync_jobs):
    put(api, [], memories=[{"id": "pref", "text": "Alice likes tea"}])
    sent_back = api.get("/sessions/trip/memory", params={"user_id": "alice"}).json()["memories"][0]
    assert sent_back["persisted_at"] is not None
    put(
        api, [], memories=[{**sent_back, "text": "Alice likes coffee"}]
    )  # persisted_at still set by the client
    assert api.get("/long-term-memory/pref").json()["text"] == "Alice likes coffee"


def test_summaries_wait_for_extraction_of_the_messages_they_fold(api, chat_model):
    chat_model.push(Reply.error(400, "extraction refused"), Reply.text("A summary."))
    messages = [{"id": f"m{i}", "role": "user", "content": f"message {i}"} for i in range(6)]
    put_response = api.put(
        "/sessions/trip/memory", json={"messages": messages}, params={"user_id": "alice", "window_size": 4}
    )
    assert put_response.status_code == 200
    stored = api.get("/sessions/trip/memory", params={"user_id": "alice", "window_size": 100}).json()
    assert len(stored["messages"]) == 6 and stored["context"] is None  # nothing extracted, nothing folded


def test_a_claim_left_by_a_job_that_gave_up_is_taken_over(api, working_client):
    from sessions_app.repository import CLAIM_LEASE_SECONDS, SessionJobStore
    from sessions_app.schemas import SessionKey

    put(api, MESSAGES)
    jobs, key = SessionJobStore(working_client), SessionKey("default", "alice", "trip")
    assert jobs.claim_extraction(key, "job-a", ["m1", "m2"]) == ["m1", "m2"]
    assert jobs.claim_extraction(key, "job-b", ["m1", "m2"]) == []  # job-a may still retry
    assert jobs.claim_extraction(key, "job-a", ["m1"]) == ["m1"]  # its own retry
    (claims,) = working_client.scan_iter(match="working_memory_extraction:*")
    working_client.hset(claims, "m2", f"job-a|{time.time() - CLAIM_LEASE_SECONDS - 1}")
    assert jobs.claim_extraction(key, "job-b", ["m1", "m2"]) == ["m2"]
    jobs.finish_extraction(key, ["m2"])
    assert jobs.claim_extraction(key, "job-c", ["m2"]) == []


def test_a_summary_that_waited_for_extraction_arrives_without_another_write(api, chat_model):
    """RQ's synchronous mode runs the summary first (it waits), then extraction (which queues it)."""
    chat_model.push(Reply.json({"memories": []}), Reply.text("Alice talked about her trip."))
    messages = [{"id": f"m{i}", "role": "user", "content": f"message {i}"} for i in range(6)]
    put_response = api.put(
        "/sessions/trip/memory", json={"messages": messages}, params={"user_id": "alice", "window_size": 4}
    )
    assert put_response.json()["summarization"] is not None
    stored = api.get("/sessions/trip/memory", params={"user_id": "alice", "window_size": 100}).json()
    assert stored["context"] == "Alice talked about her trip."
    assert [m["id"] for m in stored["messages"]] == ["m4", "m5"]


@pytest.mark.parametrize("first", ["summarization", "extraction"])
def test_the_summary_arrives_whichever_job_a_real_worker_runs_first(
    api, fake_openai, settings, redis_client, first
):
    from providers.llm import reset_chat_models
    from server.worker import MemoryWorker

    settings.OPENAI_API_BASE = fake_openai.openai_base_url
    settings.EMBEDDING_PROVIDER = "local"
    reset_chat_models()
    nothing = Reply.json({"memories": []})
    fake_openai.push(nothing, nothing, Reply.text("A summary of the trip."))  # 2 extraction calls of 40
    messages = [{"role": "user", "content": f"about my trip, part {i} " + "word " * 60} for i in range(60)]
    put_response = api.put(
        "/sessions/trip/memory",
        json={"messages": messages},
        params={"user_id": "alice", "context_window_max": 4000},
    )
    assert put_response.json()["summarization"] is not None
    order = [first, *(name for name in ("summarization", "extraction", "default") if name != first)]
    queues = [Queue(name, connection=redis_client) for name in order]
    MemoryWorker(queues, connection=redis_client).work(burst=True)
    reset_chat_models()

    stored = api.get("/sessions/trip/memory", params={"user_id": "alice", "window_size": 1000}).json()
    assert stored["context"] == "A summary of the trip."
    assert 0 < len(stored["messages"]) < 60
    assert all(m["discrete_memory_extracted"] == "t" for m in stored["messages"])
