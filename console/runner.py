"""Run the async services and repositories from the console's synchronous views.

Each call gets a Redis client of its own, closed afterwards: a sync view may run its
coroutine on a fresh event loop (tests, WSGI) or on the server's loop (ASGI), and a
client must not outlive the loop that made it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from asgiref.sync import async_to_sync

from longterm_app.repository import MemoryStore
from memoryserver.redis import fresh_async_redis
from sessions_app.repository import WorkingMemoryStore

T = TypeVar("T")


def with_memory_store(operation: Callable[[MemoryStore], Awaitable[T]]) -> T:
    async def run() -> T:
        async with fresh_async_redis("long_term") as client:
            return await operation(MemoryStore(client))

    return async_to_sync(run)()


def with_session_store(operation: Callable[[WorkingMemoryStore], Awaitable[T]]) -> T:
    async def run() -> T:
        async with fresh_async_redis("working") as client:
            return await operation(WorkingMemoryStore(client))

    return async_to_sync(run)()
