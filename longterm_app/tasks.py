"""Background jobs of long-term memory, run by django-rq workers.

- `index_memories`: embeds and stores a large POST /long-term-memory batch.
- `compact_memories`: merges exact and near duplicates (see compaction.py); can repeat itself.
- `tag_memories`: fills missing topics and entities of new memories with the chat model.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import asdict
from datetime import timedelta
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings

from longterm_app.compaction import compact
from longterm_app.records import MemoryRecord
from longterm_app.repository import MemoryStore
from longterm_app.services import BackgroundWork, index_records
from longterm_app.tagging import missing_tags, tag_records, tagging_enabled
from memoryserver.embeddings import get_embedder
from memoryserver.llm import ModelNotConfigured, get_chat_model
from memoryserver.queues import RESULT_TTL_SECONDS, enqueue, get_queue
from memoryserver.redis import fresh_async_redis

logger = logging.getLogger(__name__)

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
    await queue_tagging([record for record in records if record.id not in merged])
    return {
        "stored": [record.id for record in records if record.id not in merged],
        "merged": [{"id": sent, "into": kept} for sent, kept in merged.items()],
    }


async def queue_indexing(records: list[MemoryRecord]) -> str:
    payload = [record.model_dump() for record in records]
    tenants = [(record.namespace or "", record.user_id) for record in records]
    return await sync_to_async(enqueue, thread_sensitive=False)(
        "default", index_memories, payload, tenants=tenants
    )


def compact_memories(
    namespace: str | None = None,
    user_id: str | None = None,
    dry_run: bool = False,
    distance_threshold: float | None = None,
    limit: int = 10_000,
    repeat_every_seconds: int = 0,
    exact_duplicates: bool = True,
    near_duplicates: bool = True,
) -> dict[str, Any]:
    """Merge duplicates of one namespace (or all); with repeat_every_seconds, run again after that long.

    `exact_duplicates` / `near_duplicates` false leave that kind alone.
    """
    threshold = (
        distance_threshold or settings.COMPACTION_DISTANCE_THRESHOLD or get_embedder().near_duplicate_distance
    )
    try:
        model, reason = get_chat_model(), None
    except ModelNotConfigured as error:
        model, reason = None, f"near duplicates need a chat model: {error.detail}"
    kinds = {"exact": exact_duplicates, "near": near_duplicates}
    report = asyncio.run(_compact(model, reason, namespace, user_id, threshold, dry_run, limit, kinds))
    if repeat_every_seconds > 0:
        get_queue("default").enqueue_in(
            timedelta(seconds=repeat_every_seconds),
            compact_memories,
            namespace=namespace,
            user_id=user_id,
            dry_run=dry_run,
            distance_threshold=distance_threshold,
            limit=limit,
            repeat_every_seconds=repeat_every_seconds,
            exact_duplicates=exact_duplicates,
            near_duplicates=near_duplicates,
            result_ttl=RESULT_TTL_SECONDS,
        )
    return asdict(report)


async def _compact(
    model: Any,
    reason: str | None,
    namespace: str | None,
    user_id: str | None,
    threshold: float,
    dry_run: bool,
    limit: int,
    kinds: dict[str, bool],
) -> Any:
    async with fresh_async_redis("long_term") as client:
        return await compact(
            MemoryStore(client),
            get_embedder(),
            model,
            namespace=namespace,
            user_id=user_id,
            threshold=threshold,
            dry_run=dry_run,
            limit=limit,
            unavailable_reason=reason,
            **kinds,
        )


async def queue_compaction(**options: Any) -> str:
    tenants = [(options["namespace"], options.get("user_id"))]
    return await sync_to_async(enqueue, thread_sensitive=False)(
        "default", compact_memories, tenants=tenants, **options
    )


def tag_memories(namespace: str, memory_ids: list[str], user_id: str | None = None) -> dict[str, Any]:
    """Fill the empty topics and entities of these memories (of one owner): the local entity
    model and/or one chat-model call per batch."""
    return asyncio.run(_tag(namespace, memory_ids, user_id))


async def _tag(namespace: str, memory_ids: list[str], user_id: str | None) -> dict[str, Any]:
    async with fresh_async_redis("long_term") as client:
        tagged = await tag_records(MemoryStore(client), get_chat_model, namespace, memory_ids, user_id)
    return {"namespace": namespace, "tagged": tagged}


def queue_tagging_sync(records: list[MemoryRecord]) -> list[str]:
    """One tagging job per namespace and owner for the records that lack topics or entities."""
    by_owner: dict[tuple[str, str | None], list[str]] = {}
    for record in missing_tags(records):
        by_owner.setdefault((record.namespace or "", record.user_id), []).append(record.id)
    return [
        enqueue("extraction", tag_memories, ns, ids, user, tenants=[(ns, user)])
        for (ns, user), ids in by_owner.items()
    ]


async def queue_tagging(records: list[MemoryRecord]) -> None:
    if tagging_enabled() and missing_tags(records):
        await sync_to_async(queue_tagging_sync, thread_sensitive=False)(records)


BACKGROUND = BackgroundWork(indexing=queue_indexing, tagging=queue_tagging)
