"""Compaction through the real queue (RQ synchronous mode): exact and near duplicates merge."""

from __future__ import annotations

import time

import numpy as np
import pytest
from rq import Queue

from longterm_app.records import MemoryRecord, memory_hash
from longterm_app.repository import doc_key, document
from providers.embeddings import get_embedder
from tests.fake_openai import Reply


@pytest.fixture(autouse=True)
def no_tagging(settings) -> None:
    settings.ENABLE_TOPIC_EXTRACTION = settings.ENABLE_NER = False


def create(api, *memories):
    response = api.post("/long-term-memory", json={"memories": list(memories)})
    assert response.status_code == 200, response.text


def compact(api, **body):
    response = api.post("/long-term-memory/compact", json=body)
    assert response.status_code == 202, response.text
    task = api.get(f"/tasks/{response.json()['task_id']}").json()
    assert task["status"] == "finished", task
    return task["result"]


def legacy_duplicate(redis_client, record: MemoryRecord) -> None:
    """Exact duplicates exist only in data written before dedup: write one the old way."""
    record.namespace = record.namespace or "default"
    record.memory_hash = memory_hash(record.text, record.namespace, record.user_id)
    vector = get_embedder().embed(record.text)
    redis_client.execute_command(
        "JSON.SET", doc_key(record.namespace, record.id, record.user_id), "$", document(record, vector)
    )


def wait_until_accessed(api, *memory_ids: str) -> None:
    for _ in range(100):
        if all(api.get(f"/long-term-memory/{i}").json()["access_count"] for i in memory_ids):
            return
        time.sleep(0.02)
    raise AssertionError("search hits were not counted")


def ids(api) -> list[str]:
    found = api.post("/long-term-memory/search", json={"limit": 100}).json()["memories"]
    return sorted(m["id"] for m in found)


def test_exact_duplicates_merge_without_a_model(api, sync_jobs, redis_client):
    create(api, {"id": "a", "text": "Alice likes green tea", "topics": ["drinks"], "created_at": 100})
    legacy_duplicate(
        redis_client,
        MemoryRecord(
            id="b", text="alice likes  GREEN tea", topics=["tea"], entities=["Alice"], created_at=50
        ),
    )
    dry = compact(api, dry_run=True)
    assert dry["exact_groups"] == 1 and dry["removed"] == 0 and ids(api) == ["a", "b"]
    assert dry["groups"] == [{"keep": "b", "merge": ["a"], "kind": "exact"}]

    report = compact(api)
    assert report["removed"] == 1 and ids(api) == ["b"]
    kept = api.get("/long-term-memory/b").json()
    assert (
        kept["created_at"] == 50
        and sorted(kept["topics"]) == ["drinks", "tea"]
        and kept["entities"] == ["Alice"]
    )
    assert kept["extracted_from"] == ["a"]


NEAR = [
    {
        "id": "n1",
        "text": "The user is allergic to peanuts",
        "user_id": "u1",
        "topics": ["health"],
        "created_at": 10,
    },
    {
        "id": "n2",
        "text": "The user has a peanut allergy",
        "user_id": "u1",
        "topics": ["food"],
        "created_at": 20,
    },
    {"id": "n3", "text": "The user has a peanut allergy", "user_id": "u2", "created_at": 30},
    {"id": "far", "text": "The quarterly report is due in April", "user_id": "u1", "created_at": 40},
]


def test_near_duplicates_of_one_user_are_merged_by_the_model(api, chat_model):
    create(api, *NEAR)
    api.post("/long-term-memory/search", json={"text": "peanut allergy"})  # n1, n2 get access counts
    wait_until_accessed(api, "n1", "n2")
    chat_model.push(Reply.text("The user is allergic to peanuts (a peanut allergy)."))
    report = compact(api)  # the embedding model's near-duplicate distance
    assert report["near_groups"] == 1 and report["removed"] == 1
    merged = api.get("/long-term-memory/n1").json()
    assert ids(api) == ["far", "n1", "n3"]  # u2's memory is not merged with u1's
    assert merged["text"] == "The user is allergic to peanuts (a peanut allergy)."
    assert sorted(merged["topics"]) == ["food", "health"] and merged["created_at"] == 10
    assert merged["access_count"] == 2 and merged["extracted_from"] == ["n2"]
    (call,) = chat_model.bodies("/v1/chat/completions")
    assert "- The user is allergic to peanuts" in call["messages"][-1]["content"]
    # The merged text was re-embedded: a search for the new wording finds it first.
    top = api.post(
        "/long-term-memory/search", json={"text": "allergic to peanuts", "user_id": {"eq": "u1"}}
    ).json()
    assert top["memories"][0]["id"] == "n1"


def test_without_a_model_near_duplicates_are_reported_not_merged(api, sync_jobs):
    create(api, *NEAR)
    report = compact(api, distance_threshold=0.1)
    assert report["near_groups"] == 1 and report["skipped_groups"] == 1 and report["removed"] == 0
    assert "need a chat model" in report["skipped_reason"]
    assert ids(api) == ["far", "n1", "n2", "n3"]


def test_a_failing_model_merges_nothing(api, chat_model, redis_client, settings):
    settings.LLM_MAX_RETRIES = 0
    create(api, *NEAR)
    chat_model.push(Reply.error(500))
    response = api.post("/long-term-memory/compact", json={"distance_threshold": 0.1})
    task = api.get(f"/tasks/{response.json()['task_id']}").json()
    assert task["status"] == "failed" and "ModelUnavailable" in task["error"]
    assert ids(api) == ["far", "n1", "n2", "n3"]
    assert Queue("default", connection=redis_client).failed_job_registry.count == 1


def test_repeating_compaction_schedules_its_next_run(api, sync_jobs, redis_client):
    from django.core.management import call_command

    call_command("schedule_task", "longterm_app.tasks.compact_memories", "-a", "repeat_every_seconds=3600")
    scheduled = Queue("default", connection=redis_client).scheduled_job_registry
    (job_id,) = scheduled.get_job_ids()
    from rq.job import Job

    job = Job.fetch(job_id, connection=redis_client)
    assert (
        job.func_name == "longterm_app.tasks.compact_memories" and job.kwargs["repeat_every_seconds"] == 3600
    )


@pytest.mark.parametrize(
    ("body", "field"),
    [({"distance_threshold": 2}, "distance_threshold"), ({"dry_run": "maybe"}, "dry_run"), ({"x": 1}, "x")],
)
def test_bad_compaction_requests_are_422(api, body, field):
    response = api.post("/long-term-memory/compact", json=body)
    assert response.status_code == 422 and field in response.text


def test_vectors_stay_unit_length_after_merge(api, chat_model, redis_client):
    create(api, *NEAR)
    chat_model.push(Reply.text("The user is allergic to peanuts."))
    compact(api, distance_threshold=0.1)
    raw = redis_client.execute_command("JSON.GET", doc_key("default", "n1", "u1"), "$.embedding")
    import orjson

    vector = np.asarray(orjson.loads(raw)[0])
    assert abs(np.linalg.norm(vector) - 1) < 1e-4


def test_a_memory_edited_while_the_model_merges_is_not_lost(api, chat_model, redis_client):
    import asyncio

    from longterm_app.compaction import compact
    from longterm_app.repository import MemoryStore
    from memoryserver.redis import fresh_async_redis
    from providers.llm import get_chat_model

    create(api, *NEAR)

    class EditingModel:
        """The chat model, but a client edits n2 while it writes the merge."""

        def complete(self, *args, **kwargs):  # type: ignore[no-untyped-def]
            api.patch(
                "/long-term-memory/n2",
                json={"text": "The user has a severe peanut allergy and carries an EpiPen"},
            )
            return get_chat_model().complete(*args, **kwargs)

    chat_model.push(Reply.text("The user is allergic to peanuts."))

    async def run():  # type: ignore[no-untyped-def]
        async with fresh_async_redis("long_term") as client:
            return await compact(MemoryStore(client), get_embedder(), EditingModel(), threshold=0.3)  # type: ignore[arg-type]

    report = asyncio.run(run())
    assert report.removed == 0 and report.skipped_reason == "a memory of the group changed during compaction"
    assert api.get("/long-term-memory/n2").json()["text"].endswith("carries an EpiPen")
    assert ids(api) == ["far", "n1", "n2", "n3"]
