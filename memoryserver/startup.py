"""Work done once per server process before it serves: the web server and the MCP server."""

from __future__ import annotations

import logging

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from memoryserver.features import features_off_summary
from memoryserver.tokens import count_text

logger = logging.getLogger(__name__)


def warm_up() -> None:
    """Load the tokenizer and embedding model, and make sure the search index exists.

    Done before serving, so the first request is not the slow one; a changed embedding
    model raises here (Conflict), so the server refuses to start.
    """
    from longterm_app.services import ensure_memory_index, index_settings_warning
    from memoryserver.embeddings import get_embedder

    off = features_off_summary()
    if off:
        logger.warning(off)
    count_text("warm up")
    embedder = get_embedder()
    embedder.embed("warm up")
    try:
        ensure_memory_index(embedder)
        if warning := index_settings_warning():
            logger.warning(warning)
    except (RedisConnectionError, RedisTimeoutError):
        logger.warning("Redis is unreachable at start-up; the search index will be created on first use.")
