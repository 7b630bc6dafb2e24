"""Running service calls on the long-term store outside a server, for the unit tests."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from longterm_app.repository import MemoryStore
from memoryserver.redis import close_async_clients, get_async_redis

T = TypeVar("T")


def in_store(work: Callable[[MemoryStore], Awaitable[T]]) -> T:
    """Run `work` on the long-term store in an event loop of its own, as one request would."""

    async def run() -> T:
        try:
            result = await work(MemoryStore(get_async_redis("long_term")))
            # Hits are marked accessed in the background: let that finish before closing.
            await asyncio.gather(*(asyncio.all_tasks() - {asyncio.current_task()}))
            return result
        finally:
            await close_async_clients()

    return asyncio.run(run())
