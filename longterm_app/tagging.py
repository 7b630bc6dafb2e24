"""Topics and entities for memories stored without them, filled in by the worker.

Entities come from the local model (longterm_app/entities.py) or from the chat model, as
`memoryserver.features.entity_extractor` decides; topics come from the chat model. A batch
needs at most one chat-model call, for whatever the chat model tags.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence

from django.conf import settings
from pydantic import BaseModel, Field

from longterm_app.entities import local_entities
from longterm_app.extraction import clean_tags
from longterm_app.records import MemoryRecord
from longterm_app.repository import MemoryStore
from memoryserver.features import entity_extractor
from memoryserver.llm import ChatMessage, ChatModel, chat_model_status

BATCH = 25  # memories per chat-model call
LOCAL_BATCH = 200  # memories per write when only the local model tags

PROMPT = (
    "For each numbered memory, give 1-3 short lower-case topics (what it is about, e.g. 'travel', "
    "'food', 'work') and the named entities it mentions (people, places, organisations, products, "
    "exactly as written). Answer for every number."
)


class Tags(BaseModel):
    number: int = Field(description="The memory's number in the list.")
    topics: list[str] = Field(default_factory=list)
    entities: list[str] = Field(default_factory=list)


class Tagging(BaseModel):
    memories: list[Tags] = Field(default_factory=list, max_length=BATCH * 2)


def _topics_by_chat_model() -> bool:
    return bool(settings.ENABLE_TOPIC_EXTRACTION) and chat_model_status()[0]


def tagging_enabled() -> bool:
    return _topics_by_chat_model() or entity_extractor()[0] != "off"


def missing_tags(records: Sequence[MemoryRecord]) -> list[MemoryRecord]:
    """The records something will tag: no topics while topics are tagged, or no entities while
    entities are."""
    topics, entities = _topics_by_chat_model(), entity_extractor()[0] != "off"
    return [
        record for record in records if (topics and not record.topics) or (entities and not record.entities)
    ]


def _chat_tags(model: ChatModel, batch: list[MemoryRecord]) -> dict[int, Tags]:
    listing = "\n".join(f"{number}. {record.text}" for number, record in enumerate(batch, 1))
    result = model.complete(
        [ChatMessage("system", PROMPT), ChatMessage("user", listing)], schema=Tagging, task="tagging"
    )
    return {tags.number: tags for tags in result.data.memories}


async def _local_entities(batch: list[MemoryRecord]) -> list[list[str]]:
    """The local model's entities of each memory, then a pause: local tagging works at most
    ENRICHMENT_CPU_SHARE of the time. On a two-core machine, tagging a 10,000-memory ingest
    flat out cut that ingest from 342 to 224 memories/s and raised search p50 from 8.6 to
    11.4 ms (bench/longterm.py); at half the time, 313/s and 8.9 ms, while tagging about
    200 memories/s (bench/enrichment.py)."""
    began = time.perf_counter()
    found = local_entities([record.text for record in batch])
    share = float(settings.ENRICHMENT_CPU_SHARE)
    if share < 1:
        await asyncio.sleep((time.perf_counter() - began) * (1 / share - 1))
    return found


async def tag_records(
    store: MemoryStore,
    chat_model: Callable[[], ChatModel],
    namespace: str,
    memory_ids: list[str],
    user_id: str | None = None,
) -> int:
    """Tag the memories (of one owner) that still lack topics or entities; return how many were
    updated. `chat_model` gives the chat model, asked for only when a batch needs it."""
    found = await store.get_many(namespace, memory_ids, user_id)
    records = missing_tags([MemoryRecord.model_validate_json(raw) for raw in found if raw is not None])
    by_chat_topics = _topics_by_chat_model()
    entities_by = entity_extractor()[0]
    size = BATCH if by_chat_topics or entities_by == "llm" else LOCAL_BATCH
    updated = 0
    for start in range(0, len(records), size):
        batch = records[start : start + size]
        answers = _chat_tags(chat_model(), batch) if by_chat_topics or entities_by == "llm" else {}
        local = await _local_entities(batch) if entities_by == "local" else [[] for _ in batch]
        tags = []
        for number, (record, found_entities) in enumerate(zip(batch, local, strict=True), 1):
            answer = answers.get(number)
            topics = clean_tags(answer.topics) if answer and by_chat_topics and not record.topics else []
            if entities_by == "llm":
                found_entities = clean_tags(answer.entities) if answer else []
            entities = found_entities if entities_by != "off" and not record.entities else []
            if topics or entities:
                tags.append((record, topics, entities))
        updated += await store.fill_tags(tags)
    return updated
