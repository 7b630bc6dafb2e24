"""The memory record: the unit of long-term memory, also carried in working memory."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from memoryserver.fields import Identifier, Tag, Timestamp, new_id, now

MemoryType = Literal["semantic", "episodic", "message"]


class MemoryRecord(BaseModel):
    """A memory as clients send it and as the server stores and returns it."""

    model_config = ConfigDict(extra="ignore")

    id: Identifier = Field(default_factory=new_id)
    text: str = Field(min_length=1, max_length=100_000)
    memory_type: MemoryType = "semantic"
    session_id: Identifier | None = None
    user_id: Identifier | None = None
    namespace: Identifier | None = None
    topics: list[Tag] = Field(default_factory=list, max_length=100)
    entities: list[Tag] = Field(default_factory=list, max_length=100)
    created_at: Timestamp = Field(default_factory=now)
    updated_at: Timestamp = Field(default_factory=now)
    last_accessed: Timestamp = Field(default_factory=now)
    event_date: Timestamp | None = None
    memory_hash: str | None = None
    discrete_memory_extracted: Literal["t", "f"] = "f"
    persisted_at: Timestamp | None = None
    extracted_from: list[Identifier] = Field(default_factory=list, max_length=1000)
    access_count: int = Field(0, ge=0, description="Search hits so far; kept by the server.")
    session_seq: int | None = Field(
        None,
        description="Its place among its session's memories, in the order they were first written "
        "(1, 2, ...); kept by the server. Search uses it to find a hit's neighbouring turns.",
    )


def memory_hash(text: str, namespace: str | None, user_id: str | None) -> str:
    """Identity of a memory's content for its owner: whitespace- and case-insensitive text."""
    normalised = " ".join(text.split()).casefold()
    owner = f"{namespace or ''}\x1f{user_id or ''}"
    return hashlib.sha256(f"{owner}\x1f{normalised}".encode()).hexdigest()


@dataclass(frozen=True)
class AccessStats:
    """Search hits counted beside a stored record (so a hit does not re-index it)."""

    count: int
    last: float

    def applied(self, record: MemoryRecord) -> MemoryRecord:
        """The record with these hits added to its own."""
        return record.model_copy(
            update={
                "access_count": record.access_count + self.count,
                "last_accessed": max(record.last_accessed, self.last),
            }
        )
