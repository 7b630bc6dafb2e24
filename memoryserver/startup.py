"""Work done once per server process before it serves: the web server and the MCP server."""

from __future__ import annotations

import logging

from memoryserver.features import features_off_summary
from memoryserver.tokens import count_text

logger = logging.getLogger(__name__)


def check_redis() -> None:
    """Each Redis role offers what it needs (else ConfigError), and the stored keys are in
    this server's hash-tagged layout (moved once). Run by the web server and the workers
    before they serve."""
    from longterm_app.maintenance import upgrade_key_layout
    from memoryserver.redis import get_redis
    from memoryserver.redis_roles import check_roles
    from sessions_app.repository import upgrade_layout as upgrade_sessions
    from summary_views_app.repository import upgrade_layout as upgrade_views

    check_roles()
    working, long_term = get_redis("working"), get_redis("long_term")
    for what, upgrade, client in (
        ("working-memory", upgrade_sessions, working),
        ("long-term memory", upgrade_key_layout, long_term),
        ("summary view", upgrade_views, long_term),
    ):
        if moved := upgrade(client):
            logger.info("Moved %d %s keys to the hash-tagged key layout.", moved, what)


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
