"""ASGI lifespan: warm up and check the index on start; close Redis connections and flush
buffered trace spans (when tracing is on) on shutdown."""

from __future__ import annotations

from typing import Any

from asgiref.sync import sync_to_async

from memoryserver.config import ConfigError
from memoryserver.errors import MemoryServerError
from memoryserver.observability.tracing import flush_spans
from memoryserver.redis import close_async_clients
from server.warm_up import warm_up


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
                    await sync_to_async(warm_up, thread_sensitive=False)()
                except (MemoryServerError, ConfigError) as error:
                    await send({"type": "lifespan.startup.failed", "message": str(error)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await close_async_clients()
                await sync_to_async(flush_spans, thread_sensitive=False)()
                await send({"type": "lifespan.shutdown.complete"})
                return
