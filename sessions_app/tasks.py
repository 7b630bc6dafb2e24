"""Background jobs of working memory, run by django-rq workers.

- `summarize_session`: folds the oldest messages of a session that outgrew its window into
  its running summary (`context`).
- `promote_session_memories`: copies the structured `memories` of a session to long-term
  memory (embedded, deduplicated) and sets their `persisted_at`; exactly once per memory.
- `extract_session_memories`: one chat-model call turns the session's new messages into
  long-term memories, following the session's `long_term_memory_strategy`.

Each job works on a snapshot and merges its result with Lua scripts that respect what
clients wrote meanwhile; retries (same job id) repeat nothing that already happened.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from asgiref.sync import sync_to_async
from rq import get_current_job

from longterm_app.extraction import SourceMessage, extract
from longterm_app.records import MemoryRecord
from longterm_app.repository import MemoryStore, record_key
from longterm_app.services import store_worker_records
from longterm_app.tasks import BACKGROUND as LONG_TERM_WORK
from memoryserver.fields import new_id, now
from memoryserver.queues import Tenant, enqueue_once, release
from memoryserver.redis import fresh_async_redis, get_redis
from memoryserver.tokens import count_messages, count_text
from providers.embeddings import get_embedder
from providers.llm import ModelNotConfigured, get_chat_model
from sessions_app.repository import SessionJobStore, member_of
from sessions_app.schemas import SessionKey, WorkingMemory
from sessions_app.services import (
    BackgroundWork,
    already_stored,
    extraction_enabled,
    foldable,
    unextracted,
    unpersisted,
)
from sessions_app.summaries import split_for_summary, updated_summary
from sessions_app.windows import MessageBudget

logger = logging.getLogger(__name__)

# Messages per extraction call: a long backlog is extracted in a few bounded calls.
EXTRACTION_BATCH = 40


def _load(key: SessionKey) -> tuple[SessionJobStore, WorkingMemory | None]:
    jobs = SessionJobStore(get_redis("working"))
    document = jobs.snapshot(key)
    return jobs, None if document is None else WorkingMemory.model_validate_json(document)


def _gone(key: SessionKey) -> dict[str, Any]:
    return {"status": "gone", "session_id": key.session_id}


def summarize_session(
    namespace: str,
    user_id: str | None,
    session_id: str,
    window_size: int = 20,
    max_tokens: int | None = None,
    family: str = "openai",
) -> dict[str, Any]:
    """Fold the messages beyond half the window into the running summary."""
    key = SessionKey(namespace, user_id, session_id)
    release("summary:" + member_of(key))
    jobs, memory = _load(key)
    if memory is None:
        return _gone(key)
    budget = MessageBudget(window_size, max_tokens, "anthropic" if family == "anthropic" else "openai")
    fold, kept = split_for_summary(memory.messages, budget)
    if extraction_enabled() and unextracted(fold):
        # Messages leave the session only once long-term memories were extracted from them:
        # the extraction job queues this summary again when it is done. Noted before a second
        # look, so an extraction that finished in between is seen by one of the two.
        window = {"window_size": window_size, "max_tokens": max_tokens, "family": family}
        jobs.await_extraction(key, window)
        memory = _load(key)[1]
        if memory is None:
            return _gone(key)
        fold, kept = split_for_summary(memory.messages, budget)
        fold, waiting = foldable(fold)
        if not fold:
            return {
                "status": "waiting",
                "session_id": session_id,
                "reason": f"{len(waiting)} messages to fold are not extracted yet; "
                "the summary follows their extraction",
            }
    if not fold:
        return {"status": "unchanged", "session_id": session_id, "messages": len(memory.messages)}
    try:
        model = get_chat_model()
    except ModelNotConfigured as error:
        logger.warning("Summarisation of session %s skipped: %s", session_id, error.detail)
        return {"status": "disabled", "reason": error.detail, "session_id": session_id}
    summary = updated_summary(model, memory.context, fold)
    delta = count_text(summary) - count_text(memory.context or "") - count_messages(m.content for m in fold)
    removed = jobs.apply_summary(key, memory.context, summary, [m.id for m in fold], delta, now())
    if removed is None:
        return _gone(key)
    if removed < 0:
        # A client replaced the context meanwhile: its next write queues a fresh summary.
        return {"status": "conflict", "session_id": session_id, "reason": "the context changed meanwhile"}
    return {"status": "summarized", "session_id": session_id, "folded": removed, "kept": len(kept)}


def promote_session_memories(namespace: str, user_id: str | None, session_id: str) -> dict[str, Any]:
    """Store the session's unpersisted structured memories in long-term memory."""
    key = SessionKey(namespace, user_id, session_id)
    release("promote:" + member_of(key))
    jobs, memory = _load(key)
    if memory is None:
        return _gone(key)
    pending = unpersisted(memory)
    if not pending:
        return {"status": "unchanged", "session_id": session_id, "promoted": [], "merged": []}
    timestamp = now()
    stored, merged = asyncio.run(_promote(pending, timestamp))
    jobs.mark(key, "memories", "persisted_at", timestamp, "text", {r.id: r.text for r in pending})
    return {"status": "promoted", "session_id": session_id, "promoted": stored, "merged": merged}


async def _promote(records: list[MemoryRecord], timestamp: float) -> tuple[list[str], list[dict[str, str]]]:
    """Write what long-term memory lacks; a memory already there with the same text is left alone."""
    async with fresh_async_redis("long_term") as client:
        store = MemoryStore(client)
        existing = await store.get_keys([record_key(record) for record in records])
        new = [r for r, found in zip(records, existing, strict=True) if not already_stored(r, found)]
        merged = (
            await store_worker_records(store, get_embedder(), new, LONG_TERM_WORK, timestamp) if new else {}
        )
    stored = [record.id for record in new if record.id not in merged]
    return stored, [{"id": sent, "into": kept} for sent, kept in merged.items()]


def extract_session_memories(namespace: str, user_id: str | None, session_id: str) -> dict[str, Any]:
    """Extract long-term memories from the session's messages not extracted before."""
    key = SessionKey(namespace, user_id, session_id)
    release("extract:" + member_of(key))
    jobs, memory = _load(key)
    if memory is None:
        return _gone(key)
    try:
        model = get_chat_model()
    except ModelNotConfigured as error:
        return {"status": "disabled", "reason": error.detail, "session_id": session_id}
    candidates = unextracted(memory.messages)
    job = get_current_job()
    job_id = job.id if job is not None else new_id()
    claimed = set(jobs.claim_extraction(key, job_id, [m.id for m in candidates]))
    messages = [SourceMessage(**m.model_dump()) for m in candidates if m.id in claimed]
    if not messages:
        return {"status": "unchanged", "session_id": session_id, "extracted": 0}
    records: list[MemoryRecord] = []
    for start in range(0, len(messages), EXTRACTION_BATCH):
        batch = messages[start : start + EXTRACTION_BATCH]
        records += extract(model, memory.long_term_memory_strategy, batch, (namespace, user_id, session_id))
    merged = asyncio.run(_store_extracted(records)) if records else {}
    ids = [m.id for m in messages]
    jobs.finish_extraction(key, ids)
    jobs.mark(
        key, "messages", "discrete_memory_extracted", "t", "content", {m.id: m.content for m in messages}
    )
    window = jobs.take_summary_wait(key)
    if window is not None:
        enqueue_once(
            "summary:" + member_of(key),
            "summarization",
            summarize_session,
            *_args(key),
            tenants=[_tenant(key)],
            **window,
        )
    return {
        "status": "extracted",
        "session_id": session_id,
        "messages": len(messages),
        "extracted": len(records) - len(merged),
        "memory_ids": [record.id for record in records if record.id not in merged],
        "merged": len(merged),
    }


async def _store_extracted(records: list[MemoryRecord]) -> dict[str, str]:
    async with fresh_async_redis("long_term") as client:
        return await store_worker_records(MemoryStore(client), get_embedder(), records, LONG_TERM_WORK)


async def queue_summary(key: SessionKey, budget: MessageBudget) -> str:
    """Queue summarize_session unless one is already waiting for this session."""
    return await sync_to_async(enqueue_once, thread_sensitive=False)(
        "summary:" + member_of(key),
        "summarization",
        summarize_session,
        key.namespace,
        key.user_id,
        key.session_id,
        tenants=[_tenant(key)],
        window_size=budget.max_messages,
        max_tokens=budget.max_tokens,
        family=budget.family,
    )


async def queue_promotion(key: SessionKey) -> str:
    return await sync_to_async(enqueue_once, thread_sensitive=False)(
        "promote:" + member_of(key), "default", promote_session_memories, *_args(key), tenants=[_tenant(key)]
    )


async def queue_extraction(key: SessionKey) -> str:
    return await sync_to_async(enqueue_once, thread_sensitive=False)(
        "extract:" + member_of(key),
        "extraction",
        extract_session_memories,
        *_args(key),
        tenants=[_tenant(key)],
    )


def _args(key: SessionKey) -> tuple[str, str | None, str]:
    return key.namespace, key.user_id, key.session_id


def _tenant(key: SessionKey) -> Tenant:
    return key.namespace, key.user_id


BACKGROUND = BackgroundWork(summary=queue_summary, promotion=queue_promotion, extraction=queue_extraction)
