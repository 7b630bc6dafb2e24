"""Work done once per server process before it serves: the web server and the MCP server."""

from __future__ import annotations

import logging

from memoryserver.features import features_off_summary
from memoryserver.tokens import count_text

logger = logging.getLogger(__name__)


def check_redis() -> None:
    """Each Redis role offers what it needs (else ConfigError), and working memory is in this
    server's key layout. Run by the web server and the workers before they serve."""
    from memoryserver.redis import get_redis
    from memoryserver.redis_roles import check_roles
    from sessions_app.repository import upgrade_layout

    check_roles()
    if renamed := upgrade_layout(get_redis("working")):
        logger.info("Moved %d working-memory keys to the hash-tagged key layout.", renamed)


def warm_up() -> None:
    """Check Redis, load the tokenizer and embedding model, and make sure the search index exists.

    Done before serving, so the first request is not the slow one; a Redis that cannot
    serve its role or a changed embedding model raises here, so the server refuses to start.
    """
    from longterm_app.services import ensure_memory_index, index_settings_warning
    from memoryserver.embeddings import get_embedder

    check_redis()
    off = features_off_summary()
    if off:
        logger.warning(off)
    count_text("warm up")
    embedder = get_embedder()
    embedder.embed("warm up")
    ensure_memory_index(embedder)
    if warning := index_settings_warning():
        logger.warning(warning)
