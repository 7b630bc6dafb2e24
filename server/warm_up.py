"""Work done once per server process before it serves: the web server and the MCP server."""

from __future__ import annotations

import gc
import logging

from memoryserver.startup import check_redis, run_warm_ups
from memoryserver.tokens import count_text
from providers.embeddings import get_embedder
from providers.features import features_off_summary

logger = logging.getLogger("memoryserver.startup")


def warm_up() -> None:
    """Check Redis, load the tokenizer and embedding model, then the apps' own steps (the
    search index).

    Done before serving, so the first request is not the slow one; a Redis that cannot
    serve its role or a changed embedding model raises here, so the server refuses to start.
    """
    check_redis()
    off = features_off_summary()
    if off:
        logger.warning(off)
    count_text("warm up")
    get_embedder().embed("warm up")
    run_warm_ups()
    freeze_long_lived_objects()


def freeze_long_lived_objects() -> None:
    """Leave what start-up built (modules, Django, models: about 140,000 objects) out of
    Python's full garbage collections from now on.

    A full collection walks every tracked object with the event loop stopped: 86 ms here
    for what start-up leaves behind, and it comes back as soon as enough objects survive
    (under load, every few seconds), stalling every request in flight. Frozen, those
    objects are never walked again; garbage made while serving is still collected.
    """
    gc.collect()  # garbage from start-up is freed, not frozen
    gc.freeze()
