"""A worker killed (SIGKILL) in the middle of a job: the job is retried and applied exactly once.

The model answers the first call slowly, so the kill lands while the job waits for it.
A dead SimpleWorker's job is found abandoned once its heartbeat (job timeout + 60 s)
expires, and the dead worker's scheduler lock lapses after 61 s; the tests let that time
pass by expiring both explicitly, then a new worker retries the job.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from rq import Queue
from rq.job import Job
from rq.registry import StartedJobRegistry

from tests.fake_openai import Reply
from tests.reliability.processes import base_env, kill, start_worker, wait_for

pytestmark = pytest.mark.timeout(180)


@pytest.fixture
def worker_env(fake_openai, settings, tmp_path, redis_client, use_test_redis):
    settings.OPENAI_API_BASE = fake_openai.openai_base_url
    settings.EMBEDDING_PROVIDER = "local"
    settings.ENABLE_TOPIC_EXTRACTION = settings.ENABLE_NER = False
    from providers.llm import reset_chat_models

    reset_chat_models()
    yield base_env(
        use_test_redis,
        tmp_path,
        OPENAI_API_BASE=fake_openai.openai_base_url,
        ENABLE_TOPIC_EXTRACTION="false",
        ENABLE_NER="false",
        LLM_MAX_RETRIES="0",
    )
    reset_chat_models()


def chat_calls(server) -> int:
    return len(server.bodies("/v1/chat/completions"))


def kill_mid_job_then_retry(
    server, redis_client, env, tmp_path, queue: str, job_id: str, midway: Callable[[], bool] | None = None
) -> Job:
    """Kill a worker once the job is `midway` (by default: it made its first model call),
    let the dead worker's claims lapse, and let a second worker retry the job."""
    first = start_worker(env, tmp_path / "worker-1.log")
    try:
        wait_for(midway or (lambda: chat_calls(server) >= 1), 120, "the job midway")
    finally:
        kill(first)
    job = Job.fetch(job_id, connection=redis_client)
    assert job.get_status() == "started"
    # Time passes: the dead worker's heartbeat and scheduler lock expire.
    StartedJobRegistry(queue, connection=redis_client).cleanup(time.time() + 3600)
    redis_client.delete(*redis_client.keys("rq:scheduler-lock:*") or ["none"])
    second = start_worker(env, tmp_path / "worker-2.log")
    try:
        wait_for(lambda: job.get_status(refresh=True) in ("finished", "failed"), 90, "the retried job")
    finally:
        kill(second)
    assert job.get_status() == "finished", (tmp_path / "worker-2.log").read_text()[-3000:]
    return job


def test_summarisation_killed_mid_call_is_applied_once(
    api, fake_openai, redis_client, worker_env, tmp_path, settings
):
    settings.ENABLE_DISCRETE_MEMORY_EXTRACTION = False
    worker_env["ENABLE_DISCRETE_MEMORY_EXTRACTION"] = "false"
    fake_openai.push(Reply.slow(60, then=Reply.text("never used")), Reply.text("Folded once."))
    messages = [{"role": "user", "content": f"message {i}"} for i in range(6)]
    put = api.put("/sessions/s/memory", json={"messages": messages}, params={"window_size": 4})
    job_id = put.json()["summarization"]["job_id"]
    job = kill_mid_job_then_retry(fake_openai, redis_client, worker_env, tmp_path, "summarization", job_id)
    assert job.return_value()["status"] == "summarized"
    memory = api.get("/sessions/s/memory", params={"window_size": 100}).json()
    assert memory["context"] == "Folded once."
    assert [m["content"] for m in memory["messages"]] == ["message 4", "message 5"]
    assert chat_calls(fake_openai) == 2


EXTRACTED = {
    "memories": [{"text": "The user owns a bakery in Porto.", "topics": ["work"], "entities": ["Porto"]}]
}


def test_extraction_killed_mid_call_stores_its_memories_once(
    api, fake_openai, redis_client, worker_env, tmp_path
):
    fake_openai.push(Reply.slow(60, then=Reply.json(EXTRACTED)), Reply.json(EXTRACTED))
    api.put("/sessions/s/memory", json={"messages": [{"role": "user", "content": "I own a bakery in Porto"}]})
    (job_id,) = Queue("extraction", connection=redis_client).job_ids
    kill_mid_job_then_retry(fake_openai, redis_client, worker_env, tmp_path, "extraction", job_id)
    found = api.post("/long-term-memory/search", json={"text": "bakery"}).json()
    assert [m["text"] for m in found["memories"]] == ["The user owns a bakery in Porto."]
    messages = api.get("/sessions/s/memory").json()["messages"]
    assert messages[0]["discrete_memory_extracted"] == "t"
    # The same messages written again are not extracted again.
    api.put("/sessions/s/memory", json={"messages": [{"role": "user", "content": "I own a bakery in Porto"}]})
    assert chat_calls(fake_openai) == 2


def test_compaction_killed_mid_merge_merges_once(api, fake_openai, redis_client, worker_env, tmp_path):
    api.post(
        "/long-term-memory",
        json={
            "memories": [
                {"id": "n1", "text": "The user is allergic to peanuts", "created_at": 10},
                {"id": "n2", "text": "The user has a peanut allergy", "created_at": 20},
            ]
        },
    )
    fake_openai.push(
        Reply.slow(60, then=Reply.text("never used")), Reply.text("The user is allergic to peanuts.")
    )
    task_id = api.post("/long-term-memory/compact", json={"distance_threshold": 0.1}).json()["task_id"]
    job = kill_mid_job_then_retry(fake_openai, redis_client, worker_env, tmp_path, "default", task_id)
    assert job.return_value()["removed"] == 1
    listing = api.post("/long-term-memory/search", json={}).json()
    assert [m["id"] for m in listing["memories"]] == ["n1"]
    assert listing["memories"][0]["text"] == "The user is allergic to peanuts."


def test_promotion_repeated_after_a_crash_stores_each_memory_once(api, redis_client, sync_jobs):
    """A crash after the long-term write but before `persisted_at` is set: the retry writes nothing new."""
    import asyncio

    from longterm_app.records import MemoryRecord
    from sessions_app.tasks import _promote, promote_session_memories

    record = {"id": "p1", "text": "The user prefers tea", "namespace": "default", "session_id": "s"}
    asyncio.run(_promote([MemoryRecord.model_validate(record)], time.time()))  # the write before the crash
    before = api.get("/long-term-memory/p1").json()
    api.put("/sessions/s/memory", json={"memories": [record]})  # runs the job (synchronous mode)
    result = promote_session_memories("default", None, "s")
    assert result["status"] == "unchanged"
    after = api.get("/long-term-memory/p1").json()
    assert after["persisted_at"] == before["persisted_at"] and after["updated_at"] == before["updated_at"]
    assert api.post("/long-term-memory/search", json={}).json()["total"] == 1
    assert api.get("/sessions/s/memory").json()["memories"][0]["persisted_at"] is not None


def test_entity_tagging_killed_mid_batch_tags_every_memory_once(
    api, redis_client, worker_env, tmp_path, settings
):
    """The local entity model tags 1,000 memories in batches; a worker killed after some
    batches were written leaves the rest to the retry, and nothing is tagged twice."""
    from longterm_app.tasks import tag_memories
    from memoryserver.queues import enqueue

    settings.ENABLE_NER = True
    worker_env = {**worker_env, "ENABLE_NER": "true", "ENTITY_EXTRACTOR": "local"}
    cities = ["Berlin", "Chicago", "Seattle", "Tokyo", "Paris"]
    memories = [
        {"id": f"k{i:04d}", "text": f"Maria Lopez flew to {cities[i % 5]} on trip {i}."} for i in range(1000)
    ]
    settings.ENTITY_EXTRACTOR = "off"  # stored untagged; the job below tags them
    for start in range(0, 1000, 100):  # indexed before each answer
        assert (
            api.post("/long-term-memory", json={"memories": memories[start : start + 100]}).status_code == 200
        )
    job_id = enqueue("extraction", tag_memories, "default", [m["id"] for m in memories], None)

    def tagged() -> int:
        body = {"entities": {"any": ["Maria Lopez"]}, "limit": 1}
        return int(api.post("/long-term-memory/search", json=body).json()["total"])

    kill_mid_job_then_retry(
        None, redis_client, worker_env, tmp_path, "extraction", job_id, midway=lambda: 0 < tagged() < 1000
    )
    assert tagged() == 1000
    for i in (0, 1, 500, 999):
        assert api.get(f"/long-term-memory/k{i:04d}").json()["entities"] == ["Maria Lopez", cities[i % 5]]
