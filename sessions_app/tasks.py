"""Background jobs of working memory (run by django-rq workers)."""

from __future__ import annotations

import logging
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings

from memoryserver.queues import enqueue
from memoryserver.redis import get_redis
from sessions_app.repository import read_snapshot
from sessions_app.schemas import SessionKey, WorkingMemory

logger = logging.getLogger(__name__)


def summarize_session(namespace: str, user_id: str | None, session_id: str) -> dict[str, Any]:
    """Fold a session's oldest messages into its context summary.

    The chat-model summariser arrives with the model providers; until then the job
    reports why it cannot summarise, and changes nothing.
    """
    key = SessionKey(namespace, user_id, session_id)
    document = read_snapshot(get_redis(), key)
    if document is None:
        return {"status": "gone", "session_id": session_id}
    memory = WorkingMemory.model_validate_json(document)
    if not (settings.OPENAI_API_KEY or settings.ANTHROPIC_API_KEY or settings.OPENAI_API_BASE):
        reason = "no chat model is configured (set OPENAI_API_KEY, ANTHROPIC_API_KEY or OPENAI_API_BASE)"
    else:
        reason = "the chat-model summariser is not available in this version"
    logger.warning("Summarisation of session %s skipped: %s", session_id, reason)
    return {
        "status": "disabled",
        "reason": reason,
        "session_id": session_id,
        "messages": len(memory.messages),
    }


async def queue_summary(key: SessionKey) -> str:
    """Enqueue summarize_session off the event loop (RQ's client is synchronous)."""
    return await sync_to_async(enqueue, thread_sensitive=False)(
        "summarization", summarize_session, key.namespace, key.user_id, key.session_id
    )
