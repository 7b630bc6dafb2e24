"""Entities tagged by the local model (spaCy's small English pipeline) when no chat model is
configured: the real model on small data, through every way a memory is created."""

from __future__ import annotations

import pytest

from longterm_app.entities import MAX_CHARACTERS, local_entities
from longterm_app.index import namespace_index

MARIA = "Maria Lopez moved to Berlin in 2023 to work for Siemens."


@pytest.fixture(autouse=True)
def no_chat_model(settings):
    settings.OPENAI_API_KEY = settings.ANTHROPIC_API_KEY = None
    settings.ENTITY_EXTRACTOR = "local"


def entities(api, memory_id: str) -> list[str]:
    response = api.get(f"/long-term-memory/{memory_id}")
    assert response.status_code == 200, response.text
    return response.json()["entities"]


def test_a_new_memory_gets_its_names_without_a_chat_model(api, sync_jobs):
    api.post("/long-term-memory", json={"memories": [{"id": "m1", "text": MARIA}]})
    assert entities(api, "m1") == ["Maria Lopez", "Berlin", "Siemens"]  # no dates or numbers
    assert api.get("/long-term-memory/m1").json()["topics"] == []  # one memory: too few for topics
    found = api.post("/long-term-memory/search", json={"entities": {"any": ["siemens"]}}).json()
    assert [m["id"] for m in found["memories"]] == ["m1"]


def test_entities_a_client_gave_are_kept(api, sync_jobs):
    api.post("/long-term-memory", json={"memories": [{"id": "k1", "text": MARIA, "entities": ["Maria"]}]})
    assert entities(api, "k1") == ["Maria"]


def test_an_edited_text_gets_its_own_entities_and_a_clients_stay(api, sync_jobs):
    api.post(
        "/long-term-memory",
        json={
            "memories": [
                {"id": "e1", "text": MARIA},
                {"id": "e2", "text": MARIA + " Ask her.", "entities": ["Maria"]},
            ]
        },
    )
    moved = "Maria Lopez moved to Munich in 2024 to work for BMW."
    edited = api.patch("/long-term-memory/e1", json={"text": moved})
    assert edited.status_code == 200 and edited.json()["entities"] == ["Maria Lopez", "Munich", "BMW"]
    assert entities(api, "e1") == ["Maria Lopez", "Munich", "BMW"]
    for name, expected in (("Berlin", []), ("Munich", ["e1"])):
        found = api.post("/long-term-memory/search", json={"entities": {"any": [name]}}).json()
        assert [m["id"] for m in found["memories"]] == expected
    # Entities the model did not find were given by someone: an edit of the text keeps them,
    # and entities named in the edit are the ones stored.
    assert api.patch("/long-term-memory/e2", json={"text": moved + " Ask her."}).status_code == 200
    assert entities(api, "e2") == ["Maria"]
    assert (
        api.patch("/long-term-memory/e1", json={"text": MARIA, "entities": ["Ms Lopez"]}).status_code == 200
    )
    assert entities(api, "e1") == ["Ms Lopez"]
    # The model's entities beside a client's: the model's are found again, the client's stay.
    mixed = {"entities": ["Maria Lopez", "Berlin", "Ms Lopez"]}
    assert api.patch("/long-term-memory/e1", json=mixed).status_code == 200
    edited = api.patch("/long-term-memory/e1", json={"text": moved})
    assert edited.json()["entities"] == ["Maria Lopez", "Munich", "BMW", "Ms Lopez"]


def test_the_v1_api_and_promotion_get_entities_too(api, sync_jobs):
    api.post(
        "/v1/long-term-memory/", json={"memories": [{"id": "v1", "text": "Tom ran the Chicago marathon."}]}
    )
    memory = {"id": "p1", "text": "The user met Priya Patel at Microsoft in Seattle.", "namespace": "default"}
    api.put("/sessions/s1/memory", json={"memories": [memory]})  # promoted by the worker
    assert entities(api, "v1") == ["Tom", "Chicago"]
    assert entities(api, "p1") == ["Priya Patel", "Microsoft", "Seattle"]


def test_a_promoted_memory_is_written_once_with_its_entities(api, sync_jobs, redis_client):
    memory = {"id": "p2", "text": "Ana Silva flew to Lisbon with TAP.", "namespace": "default"}
    api.put("/sessions/s2/memory", json={"memories": [memory]})  # promoted by the worker
    assert entities(api, "p2") == ["Ana Silva", "Lisbon", "TAP"]
    # Indexed once: a tag written afterwards would re-index it (a second document id).
    assert int(redis_client.ft(namespace_index("default")).info()["max_doc_id"]) == 1


def test_text_the_model_cannot_read_gets_no_entities_and_no_error(api, sync_jobs):
    memories = [
        {"id": "zh", "text": "我昨天在北京见到了王小明。"},
        {"id": "blank", "text": "   "},
        {"id": "symbols", "text": "?!?! ... ###"},
    ]
    assert api.post("/long-term-memory", json={"memories": memories}).status_code == 200
    assert [entities(api, m["id"]) for m in memories] == [[], [], []]


def test_a_very_long_memory_is_read_up_to_the_limit():
    filler = "The weather was mild and nothing else happened that day. " * (MAX_CHARACTERS // 50)
    text = "Alice Johnson joined Google in London. " + filler + " Kenji Watanabe moved to Tokyo."
    assert len(text) > MAX_CHARACTERS
    (found,) = local_entities([text])
    assert found[:3] == ["Alice Johnson", "Google", "London"]
    assert "Kenji Watanabe" not in found and "Tokyo" not in found  # past the limit


def test_names_are_deduplicated_ignoring_case_first_mention_kept():
    (found,) = local_entities(["Berlin is big. I love BERLIN and Berlin loves Maria Lopez."])
    assert [name.casefold() for name in found].count("berlin") == 1 and found[0] == "Berlin"


def test_a_thousand_memories_in_one_call_all_get_entities(api, sync_jobs):
    names = ["Maria Lopez", "Tom Baker", "Priya Patel", "Kenji Watanabe"]
    cities = ["Berlin", "Chicago", "Seattle", "Tokyo", "Paris"]
    memories = [
        {"id": f"b{i:04d}", "text": f"{names[i % 4]} flew to {cities[i % 5]} on trip number {i}."}
        for i in range(1000)
    ]
    response = api.post("/long-term-memory", json={"memories": memories})
    assert response.status_code == 202 and response.json()["status"] == "queued"
    for i in (0, 1, 517, 999):
        assert entities(api, f"b{i:04d}") == [names[i % 4], cities[i % 5]]
    untagged = api.post("/long-term-memory/search", json={"limit": 1, "entities": {"none": cities}}).json()
    assert untagged["total"] == 0


def _tagging_cpu_share(settings, share: float) -> float:
    """The share of its wall time background tagging of 300 memories keeps a CPU busy."""
    import asyncio
    import time

    from longterm_app.records import MemoryRecord
    from longterm_app.tagging import _local_entities

    settings.ENRICHMENT_CPU_SHARE = share
    batch = [
        MemoryRecord(text=f"{MARIA} Trip number {i} went to Tokyo with Priya Patel.") for i in range(300)
    ]
    asyncio.run(_local_entities(batch[:5]))  # the model loaded
    wall, cpu = time.perf_counter(), time.process_time()
    found = asyncio.run(_local_entities(batch))
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    assert all("Siemens" in names for names in found)
    return cpu / wall


def test_local_tagging_works_flat_out_while_the_machine_is_idle(settings):
    assert _tagging_cpu_share(settings, 0.2) >= 0.6


def test_local_tagging_works_its_share_of_the_time_while_the_machine_is_busy(settings):
    import os
    import subprocess
    import sys

    spin = [sys.executable, "-c", "while True: pass"]
    busy = [subprocess.Popen(spin) for _ in range(os.cpu_count() or 1)]
    try:
        assert _tagging_cpu_share(settings, 0.2) <= 0.4
    finally:
        for process in busy:
            process.kill()
            process.wait()


def test_names_are_tagged_without_their_article():
    (found,) = local_entities(["Liam watched the World Cup final and then visited the United Nations."])
    assert "World Cup" in found and "United Nations" in found
    assert not any(name.casefold().startswith("the ") for name in found)


def test_numbers_are_no_names_and_symbols_at_a_names_edges_are_dropped():
    found = local_entities(["bulk memory number 104 about topic 6", "Visit 🎉Paris🎉 soon"])
    assert found == [[], ["Paris"]]
