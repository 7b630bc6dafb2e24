"""ASGI lifespan: warm up and check the index on start, close Redis connections on shutdown."""

from __future__ import annotations

import logging
from typing import Any

from asgiref.sync import sync_to_async
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from memoryserver.config import ConfigError
from memoryserver.errors import MemoryServerError
from memoryserver.redis import close_async_clients
from memoryserver.tokens import count_text

logger = logging.getLogger(__name__)


def _start_up() -> None:
    """Load models now rather than on the first request, and make sure the index exists."""
    from longterm_app.services import ensure_memory_index
    from memoryserver.embeddings import get_embedder

    count_text("warm up")
    embedder = get_embedder()
    embedder.embed("warm up")
    try:
        ensure_memory_index(embedder)
    except (RedisConnectionError, RedisTimeoutError):
        logger.warning("Redis is unreachable at start-up; the search index will be created on first use.")


class Lifespan:
    """Answers `lifespan` scopes itself and passes every other scope to the app."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "lifespan":
            await self.app(scope, receive, send)
            return
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await sync_to_async(_start_up, thread_sensitive=False)()
                except (MemoryServerError, ConfigError) as error:
                    await send({"type": "lifespan.startup.failed", "message": str(error)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await close_async_clients()
                await send({"type": "lifespan.shutdown.complete"})
                return
