"""Background jobs of long-term memory (run by django-rq workers)."""

from __future__ import annotations

import asyncio
from typing import Any

from asgiref.sync import sync_to_async

from longterm_app.records import MemoryRecord
from longterm_app.repository import MemoryStore
from longterm_app.services import index_records
from memoryserver.embeddings import get_embedder
from memoryserver.queues import enqueue
from memoryserver.redis import fresh_async_redis

INDEX_BATCH = 200


def index_memories(records: list[dict[str, Any]]) -> dict[str, Any]:
    """Embed and store a large batch sent to POST /long-term-memory. Idempotent: an upsert by id."""
    parsed = [MemoryRecord.model_validate(record) for record in records]
    return asyncio.run(_index(parsed))


async def _index(records: list[MemoryRecord]) -> dict[str, Any]:
    merged: dict[str, str] = {}
    async with fresh_async_redis("long_term") as client:
        store, embedder = MemoryStore(client), get_embedder()
        for start in range(0, len(records), INDEX_BATCH):
            merged |= await index_records(store, embedder, records[start : start + INDEX_BATCH])
    return {
        "stored": [record.id for record in records if record.id not in merged],
        "merged": [{"id": sent, "into": kept} for sent, kept in merged.items()],
    }


async def queue_indexing(records: list[MemoryRecord]) -> str:
    payload = [record.model_dump() for record in records]
    return await sync_to_async(enqueue, thread_sensitive=False)("default", index_memories, payload)
