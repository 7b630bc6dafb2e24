"""Background jobs of long-term memory, run by django-rq workers.

- `index_memories`: embeds and stores a large POST /long-term-memory batch.
- `compact_memories`: merges exact and near duplicates (see compaction.py); can repeat itself.
- `tag_memories`: fills missing topics and entities of new memories (local models or the chat model).
- `fit_namespace_topics`: fits a namespace's BERTopic model and gives its memories topics.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import asdict
from datetime import timedelta
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings

from longterm_app.compaction import compact
from longterm_app.queries import namespace_query
from longterm_app.records import MemoryRecord
from longterm_app.repository import MemoryStore
from longterm_app.services import BackgroundWork, index_records
from longterm_app.tagging import Group, missing_tags, tag_records, tagging_enabled
from longterm_app.topic_model import FittedTopics, TooFewMemories, TopicModelMismatch, fit_topics, needs_refit
from longterm_app.topic_store import TopicModelStore
from memoryserver.queues import (
    RESULT_TTL_SECONDS,
    enqueue,
    enqueue_once,
    get_queue,
    release,
)
from memoryserver.redis import fresh_async_redis
from providers.embeddings import get_embedder
from providers.features import topic_tagger
from providers.llm import ModelNotConfigured, get_chat_model

logger = logging.getLogger(__name__)

# Where compaction runs (the schedule and the console queue it there too).
COMPACTION_QUEUE = "default"
# A namespace's topics are fitted on at most this many of its memories (the rest get theirs
# from the model as they are tagged).
MAX_FIT_MEMORIES = 20_000
MIN_REFIT_SECONDS = 600

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


def queue_manual_compaction(description: str, **options: Any) -> str:
    """Queue a compaction run an operator asked for, without retries: a run that fails shows
    up at once among the failed jobs."""
    return enqueue(COMPACTION_QUEUE, compact_memories, retry=None, description=description, **options)


async def schedule_compaction(**options: Any) -> str:
    tenants = [(options["namespace"], options.get("user_id"))]
    return await sync_to_async(enqueue, thread_sensitive=False)(
        "default", compact_memories, tenants=tenants, **options
    )


def tag_memories(namespace: str, memory_ids: list[str], user_id: str | None = None) -> dict[str, Any]:
    """Fill the empty topics and entities of these memories (of one owner): the local entity
    model and/or one chat-model call per batch."""
    result = tag_memory_groups([(namespace, memory_ids, user_id)])
    return {
        "namespace": namespace,
        "tagged": result["tagged"],
        "topic_fit_queued": bool(result["topic_fits"]),
    }


def tag_memory_groups(groups: list[Group]) -> dict[str, Any]:
    """`tag_memories` for the memories of several owners at once: one job per stored batch,
    whoever owns its memories."""
    tagged, due = asyncio.run(_tag(groups))
    for namespace in due:  # the namespace reached the size for topics, or grew by half
        enqueue_once(
            "topics:" + namespace, "default", fit_namespace_topics, namespace, tenants=[(namespace, None)]
        )
    return {"tagged": tagged, "topic_fits": due}


async def _tag(groups: list[Group]) -> tuple[int, list[str]]:
    namespaces = sorted({namespace for namespace, _, _ in groups})
    async with fresh_async_redis("long_term") as client:
        store = MemoryStore(client)
        models: dict[str, FittedTopics | None] = {}
        if topic_tagger()[0] == "bertopic":
            models = {ns: await _topic_model(TopicModelStore(client), ns) for ns in namespaces}
        tagged = await tag_records(store, get_chat_model, groups, models)
        due = [
            ns for ns, model in models.items() if _refit_due(model, await store.count(namespace_query(ns)))
        ]
    return tagged, due


def _refit_due(model: FittedTopics | None, count: int) -> bool:
    """A namespace's first fit comes as soon as it is big enough; a refit (after growing by
    half) at most every MIN_REFIT_SECONDS, so one bulk ingest does not refit a dozen times."""
    recent = model is not None and time.time() - model.fitted_at < MIN_REFIT_SECONDS
    return needs_refit(model, count) and not recent


async def _topic_model(topic_store: TopicModelStore, namespace: str) -> FittedTopics | None:
    try:
        return await topic_store.load(namespace, get_embedder().dims)
    except TopicModelMismatch as error:  # another embedding model: fitted afresh
        logger.warning("Topic model of namespace %r unusable: %s", namespace, error)
        return None


def fit_namespace_topics(namespace: str) -> dict[str, Any]:
    """Fit the namespace's topics with BERTopic on its stored embeddings, keep the model for
    new memories, and give its memories without topics theirs."""
    release("topics:" + namespace)
    return asyncio.run(_fit_topics(namespace))


async def _fit_topics(namespace: str) -> dict[str, Any]:
    source, detail = topic_tagger()
    if source != "bertopic":
        return {"status": "disabled", "namespace": namespace, "detail": detail}
    async with fresh_async_redis("long_term") as client:
        store = MemoryStore(client)
        keys = await store.keys_matching(namespace_query(namespace), MAX_FIT_MEMORIES)
        memories = await store.records_and_vectors(keys)
        texts = [record.text for _, record, _ in memories]
        fit = await asyncio.to_thread(fit_topics, texts, [vector for _, _, vector in memories])
        if isinstance(fit, TooFewMemories):
            return {"status": "too_few", "namespace": namespace, "memories": fit.count, "detail": fit.message}
        await TopicModelStore(client).save(namespace, fit.model)
        labels = fit.model.labels
        tags: list[tuple[MemoryRecord, list[str], list[str]]] = [
            (record, [labels[topic]], [])
            for (_, record, _), topic in zip(memories, fit.assignments, strict=True)
            if not record.topics
        ]
        tagged = await store.fill_tags(tags)
    topics = [{"label": t.label, "size": t.size, "keywords": list(t.keywords)} for t in fit.model.topics]
    return {
        "status": "fitted",
        "namespace": namespace,
        "memories": len(memories),
        "topics": topics,
        "tagged": tagged,
    }


def queue_tagging_sync(records: list[MemoryRecord]) -> str | None:
    """One tagging job for the records that lack topics or entities (None: no such record)."""
    by_owner: dict[tuple[str, str | None], list[str]] = {}
    for record in missing_tags(records):
        by_owner.setdefault((record.namespace or "", record.user_id), []).append(record.id)
    if not by_owner:
        return None
    groups: list[Group] = [(ns, ids, user) for (ns, user), ids in by_owner.items()]
    return enqueue("extraction", tag_memory_groups, groups, tenants=list(by_owner))


async def queue_tagging(records: list[MemoryRecord]) -> None:
    if tagging_enabled() and missing_tags(records):
        await sync_to_async(queue_tagging_sync, thread_sensitive=False)(records)


BACKGROUND = BackgroundWork(indexing=queue_indexing, tagging=queue_tagging)
