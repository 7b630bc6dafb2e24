"""Topics and entities for memories stored without them: one chat-model call per batch."""

from __future__ import annotations

from collections.abc import Sequence

from django.conf import settings
from pydantic import BaseModel, Field

from longterm_app.extraction import clean_tags
from longterm_app.records import MemoryRecord
from longterm_app.repository import MemoryStore
from memoryserver.llm import ChatMessage, ChatModel

BATCH = 25

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


def _wants_topics() -> bool:
    return bool(settings.ENABLE_TOPIC_EXTRACTION)


def _wants_entities() -> bool:
    return bool(settings.ENABLE_NER)


def missing_tags(records: Sequence[MemoryRecord]) -> list[MemoryRecord]:
    return [
        record
        for record in records
        if (_wants_topics() and not record.topics) or (_wants_entities() and not record.entities)
    ]


async def tag_records(
    store: MemoryStore, model: ChatModel, namespace: str, memory_ids: list[str], user_id: str | None = None
) -> int:
    """Tag the memories (of one owner) that still lack topics or entities; return how many were updated."""
    found = await store.get_many(namespace, memory_ids, user_id)
    records = missing_tags([MemoryRecord.model_validate_json(raw) for raw in found if raw is not None])
    updated = 0
    for start in range(0, len(records), BATCH):
        batch = records[start : start + BATCH]
        listing = "\n".join(f"{number}. {record.text}" for number, record in enumerate(batch, 1))
        result = model.complete(
            [ChatMessage("system", PROMPT), ChatMessage("user", listing)], schema=Tagging, task="tagging"
        )
        answers = {tags.number: tags for tags in result.data.memories}
        tags = [
            (
                record,
                clean_tags(answers[number].topics) if _wants_topics() and not record.topics else [],
                clean_tags(answers[number].entities) if _wants_entities() and not record.entities else [],
            )
            for number, record in enumerate(batch, 1)
            if number in answers
        ]
        updated += await store.fill_tags(tags)
    return updated
