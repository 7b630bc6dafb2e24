"""SessionJobStore on the real Redis: extraction claims, the summary waiting for them, marks.

Workers merge their results through these scripts; each rule here keeps two jobs (or a job
and a client) from undoing each other's work.
"""

from __future__ import annotations

import time

import pytest
import redis

from sessions_app.repository import CLAIM_LEASE_SECONDS, SessionJobStore, claims_key, doc_key
from sessions_app.schemas import Message, SessionKey, WorkingMemory

KEY = SessionKey("team", "alice", "trip")


@pytest.fixture
def jobs(working_client: redis.Redis) -> SessionJobStore:
    return SessionJobStore(working_client)


def save(client: redis.Redis, messages: list[Message], ttl: int | None = None) -> None:
    """A session as a write leaves it (the worker side needs only the document)."""
    memory = WorkingMemory(
        session_id=KEY.session_id,
        namespace=KEY.namespace,
        user_id=KEY.user_id,
        messages=messages,
        created_at=1.0,
        updated_at=1.0,
        last_accessed=1.0,
    )
    client.execute_command("JSON.SET", doc_key(KEY), "$", memory.model_dump_json())
    if ttl:
        client.expire(doc_key(KEY), ttl)


def stored(client: redis.Redis) -> WorkingMemory:
    return WorkingMemory.model_validate_json(client.execute_command("JSON.GET", doc_key(KEY)))


def test_a_job_claims_the_messages_nobody_else_holds(jobs):
    assert jobs.claim_extraction(KEY, "job-1", ["m1", "m2"]) == ["m1", "m2"]
    assert jobs.claim_extraction(KEY, "job-2", ["m2", "m3"]) == ["m3"]


def test_a_retried_job_claims_its_own_messages_again(jobs):
    jobs.claim_extraction(KEY, "job-1", ["m1", "m2"])
    assert jobs.claim_extraction(KEY, "job-1", ["m1", "m2"]) == ["m1", "m2"]


def test_a_claim_older_than_the_lease_is_free_for_another_job(jobs, working_client):
    expired = time.time() - CLAIM_LEASE_SECONDS - 5
    working_client.hset(claims_key(KEY), mapping={"old": f"job-1|{expired}", "fresh": f"job-1|{time.time()}"})
    assert jobs.claim_extraction(KEY, "job-2", ["old", "fresh"]) == ["old"]


def test_a_claim_in_an_unknown_format_is_free(jobs, working_client):
    working_client.hset(claims_key(KEY), "m1", "no-timestamp")
    assert jobs.claim_extraction(KEY, "job-2", ["m1"]) == ["m1"]


def test_finished_messages_are_never_claimed_again(jobs, working_client):
    save(working_client, [Message(role="user", content="hi", id="m1")])
    jobs.claim_extraction(KEY, "job-1", ["m1"])
    jobs.finish_extraction(KEY, ["m1"])
    assert jobs.claim_extraction(KEY, "job-1", ["m1"]) == []
    assert jobs.claim_extraction(KEY, "job-2", ["m1"]) == []


def test_finishing_the_extraction_of_a_deleted_session_leaves_no_key_behind(jobs, working_client):
    jobs.finish_extraction(KEY, ["m1"])
    assert working_client.exists(claims_key(KEY)) == 0


def test_claims_expire_with_a_session_that_has_a_ttl(jobs, working_client):
    save(working_client, [Message(role="user", content="hi", id="m1")], ttl=300)
    jobs.claim_extraction(KEY, "job-1", ["m1"])
    assert 0 < working_client.ttl(claims_key(KEY)) <= 300


def test_claims_of_a_permanent_session_are_permanent(jobs, working_client):
    save(working_client, [Message(role="user", content="hi", id="m1")])
    jobs.claim_extraction(KEY, "job-1", ["m1"])
    assert working_client.ttl(claims_key(KEY)) == -1


def test_claiming_no_messages_touches_nothing(jobs, working_client):
    assert jobs.claim_extraction(KEY, "job-1", []) == []
    assert working_client.exists(claims_key(KEY)) == 0


def test_a_waiting_summary_is_taken_once_with_its_window(jobs):
    window = {"window_size": 6, "max_tokens": 500, "family": "anthropic"}
    jobs.await_extraction(KEY, window)
    assert jobs.take_summary_wait(KEY) == window
    assert jobs.take_summary_wait(KEY) is None


def test_a_mark_skips_items_whose_content_changed_meanwhile(jobs, working_client):
    save(
        working_client,
        [Message(role="user", content="as read", id="m1"), Message(role="user", content="edited", id="m2")],
    )
    marked = jobs.mark(
        KEY, "messages", "discrete_memory_extracted", "t", "content", {"m1": "as read", "m2": "original"}
    )
    assert marked == 1
    flags = {m.id: m.discrete_memory_extracted for m in stored(working_client).messages}
    assert flags == {"m1": "t", "m2": "f"}


def test_a_mark_on_a_deleted_session_marks_nothing(jobs, working_client):
    assert jobs.mark(KEY, "messages", "discrete_memory_extracted", "t", "content", {"m1": "x"}) == 0
    assert working_client.exists(doc_key(KEY)) == 0


def test_a_folded_summary_removes_the_folded_messages_and_adjusts_the_tokens(jobs, working_client):
    save(working_client, [Message(role="user", content=f"m{i}", id=f"m{i}") for i in range(4)])
    working_client.execute_command("JSON.SET", doc_key(KEY), "$.tokens", 40)
    assert jobs.apply_summary(KEY, None, "summary", ["m0", "m1"], -15, 2.0) == 2
    memory = stored(working_client)
    assert [m.id for m in memory.messages] == ["m2", "m3"]
    assert (memory.context, memory.tokens, memory.updated_at, memory.version) == ("summary", 25, 2.0, 1)
