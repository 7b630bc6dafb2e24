"""Topics and entities filled in by the chat model for memories stored without them."""

from __future__ import annotations

from rq import Queue

from tests.fake_openai import Reply


def test_missing_topics_and_entities_are_filled_in_one_call(api, chat_model):
    chat_model.push(
        Reply.json(
            {
                "memories": [
                    {"number": 1, "topics": ["Travel", "travel"], "entities": ["Lisbon"]},
                    {"number": 2, "topics": ["ignored"], "entities": ["Ana"]},
                ]
            }
        )
    )
    memories = [
        {"id": "t1", "text": "Alice flew to Lisbon"},
        {"id": "t2", "text": "Alice's sister is Ana", "topics": ["family"]},
        {"id": "t3", "text": "Already tagged", "topics": ["x"], "entities": ["y"]},
    ]
    assert api.post("/long-term-memory", json={"memories": memories}).status_code == 200
    (call,) = chat_model.bodies("/v1/chat/completions")
    listing = call["messages"][-1]["content"]
    assert "1. Alice flew to Lisbon" in listing and "2. Alice's sister is Ana" in listing
    assert "Already tagged" not in listing
    first = api.get("/long-term-memory/t1").json()
    assert first["topics"] == ["Travel"] and first["entities"] == ["Lisbon"]
    second = api.get("/long-term-memory/t2").json()
    assert second["topics"] == ["family"] and second["entities"] == ["Ana"]  # given topics are kept
    found = api.post("/long-term-memory/search", json={"entities": {"any": ["lisbon"]}}).json()
    assert [m["id"] for m in found["memories"]] == ["t1"]


def test_switched_off_nothing_is_queued(api, sync_jobs, redis_client, settings):
    settings.ENABLE_NER = settings.ENABLE_TOPIC_EXTRACTION = False
    api.post("/long-term-memory", json={"memories": [{"text": "Maria Lopez lives in Berlin"}]})
    settings.ENABLE_NER, settings.ENTITY_EXTRACTOR = True, "off"
    settings.ENABLE_TOPIC_EXTRACTION, settings.TOPIC_MODEL = True, "off"
    api.post("/long-term-memory", json={"memories": [{"text": "Maria Lopez lives in Paris"}]})
    assert Queue("extraction", connection=redis_client).count == 0
    assert Queue("extraction", connection=redis_client).finished_job_registry.count == 0
    found = api.post("/long-term-memory/search", json={}).json()["memories"]
    assert [m["entities"] for m in found] == [[], []]


def test_with_a_chat_model_the_local_model_can_still_tag_entities(api, chat_model, settings):
    settings.ENTITY_EXTRACTOR = "local"
    chat_model.push(Reply.json({"memories": [{"number": 1, "topics": ["work"], "entities": ["ignored"]}]}))
    api.post("/long-term-memory", json={"memories": [{"id": "w1", "text": "Maria Lopez works for Siemens"}]})
    memory = api.get("/long-term-memory/w1").json()
    assert memory["topics"] == ["work"] and memory["entities"] == ["Maria Lopez", "Siemens"]


def test_tags_are_not_written_over_an_edit_made_meanwhile(api, sync_jobs):
    import asyncio

    from longterm_app.records import MemoryRecord
    from longterm_app.repository import MemoryStore
    from memoryserver.redis import fresh_async_redis

    api.post("/long-term-memory", json={"memories": [{"id": "e1", "text": "Alice likes tea"}]})
    before = MemoryRecord.model_validate(api.get("/long-term-memory/e1").json())
    api.patch("/long-term-memory/e1", json={"text": "Alice likes coffee"})  # while the model was tagging

    async def fill(record: MemoryRecord) -> int:
        async with fresh_async_redis("long_term") as client:
            return await MemoryStore(client).fill_tags([(record, ["drinks"], ["Alice"])])

    assert asyncio.run(fill(before)) == 0
    assert api.get("/long-term-memory/e1").json()["topics"] == []
    after = MemoryRecord.model_validate(api.get("/long-term-memory/e1").json())
    assert asyncio.run(fill(after)) == 1
    assert api.get("/long-term-memory/e1").json()["entities"] == ["Alice"]
