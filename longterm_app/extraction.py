"""Memory extraction: one chat-model call turns a batch of messages into long-term memories."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, Field

from longterm_app.records import MemoryRecord
from longterm_app.strategies import MemoryStrategy
from memoryserver.fields import parse_timestamp
from providers.llm import ChatMessage, ChatModel

MAX_MEMORIES_PER_CALL = 50
MAX_TAGS = 10


class ExtractedMemory(BaseModel):
    text: str = Field(min_length=1, max_length=4000, description="One standalone sentence.")
    memory_type: Literal["semantic", "episodic"] = Field(
        "semantic", description="semantic: a lasting fact; episodic: an event at a time."
    )
    topics: list[str] = Field(default_factory=list, description="1-3 short lower-case topics.")
    entities: list[str] = Field(default_factory=list, description="Named people, places, things.")
    event_date: str | None = Field(
        None, description="For episodic memories: when it happened, as an ISO 8601 date or date-time."
    )


class Extraction(BaseModel):
    """The model's answer; the schema it is asked to fill."""

    memories: list[ExtractedMemory] = Field(default_factory=list, max_length=MAX_MEMORIES_PER_CALL)


class SourceMessage(BaseModel):
    """What extraction needs of a message."""

    id: str
    role: str
    content: str
    created_at: float


def _when(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d %H:%M UTC (%A)")


def _prompt(messages: Sequence[SourceMessage]) -> str:
    lines = [f"[{_when(m.created_at)}] {m.role}: {m.content}" for m in messages]
    return "Conversation:\n" + "\n".join(lines)


def clean_tags(values: list[str]) -> list[str]:
    """Clean model-made tags: no control characters, no blanks, no repeats, bounded."""
    cleaned: list[str] = []
    for value in values:
        tag = "".join(char for char in value if ord(char) >= 32 and ord(char) != 127).strip()[:200]
        if tag and tag.casefold() not in {t.casefold() for t in cleaned}:
            cleaned.append(tag)
    return cleaned[:MAX_TAGS]


def _event_date(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return parse_timestamp(value)
    except ValueError:
        return None  # a date the model garbled is dropped, not guessed


def stable_id(*parts: str) -> str:
    """Ids derived from what was extracted from: a retried job rewrites, never duplicates."""
    return "x" + hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:31]


def extract(
    model: ChatModel,
    strategy: MemoryStrategy,
    messages: Sequence[SourceMessage],
    owner: tuple[str, str | None, str | None],
) -> list[MemoryRecord]:
    """Memories from these messages for (namespace, user_id, session_id); one model call."""
    namespace, user_id, session_id = owner
    result = model.complete(
        [ChatMessage("system", strategy.instructions()), ChatMessage("user", _prompt(messages))],
        schema=Extraction,
        task="extraction",
    )
    extraction: Extraction = result.data
    source_ids = [m.id for m in messages]
    records = []
    for position, memory in enumerate(extraction.memories):
        event_date = _event_date(memory.event_date)
        records.append(
            MemoryRecord(
                id=stable_id(namespace, user_id or "", session_id or "", *source_ids, str(position)),
                text=memory.text.strip(),
                memory_type="episodic" if memory.memory_type == "episodic" or event_date else "semantic",
                namespace=namespace,
                user_id=user_id,
                session_id=session_id,
                topics=clean_tags(memory.topics),
                entities=clean_tags(memory.entities),
                event_date=event_date,
                extracted_from=source_ids,
                discrete_memory_extracted="t",
            )
        )
    return [record for record in records if record.text]
