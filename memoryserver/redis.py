"""Redis client factories, created lazily from settings.

Clients are cached by URL, so a settings change simply selects another client. Async
clients are bound to the event loop that created them, so each loop has its own.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Literal

import redis
import redis.asyncio as aioredis
from django.conf import settings

Store = Literal["working", "long_term"]
# RESP3 everywhere, so search replies have one shape whatever the redis-py version.
CLIENT_OPTIONS: dict[str, Any] = {"protocol": 3, "socket_connect_timeout": 2, "health_check_interval": 30}

_sync_clients: dict[str, redis.Redis] = {}
_async_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, aioredis.Redis]] = (
    weakref.WeakKeyDictionary()
)


def redis_url(store: Store = "working") -> str:
    if store == "working":
        return settings.WORKING_MEMORY_REDIS_URL or settings.REDIS_URL
    return settings.LONG_TERM_MEMORY_REDIS_URL or settings.REDIS_URL


def get_redis(store: Store = "working") -> redis.Redis:
    """A thread-safe synchronous client (workers, management commands)."""
    url = redis_url(store)
    client = _sync_clients.get(url)
    if client is None:
        client = _sync_clients[url] = redis.Redis.from_url(url, **CLIENT_OPTIONS)
    return client


def get_async_redis(store: Store = "working") -> aioredis.Redis:
    """The async client for the running event loop (request path)."""
    url = redis_url(store)
    per_loop = _async_clients.setdefault(asyncio.get_running_loop(), {})
    client = per_loop.get(url)
    if client is None:
        client = per_loop[url] = aioredis.Redis.from_url(url, **CLIENT_OPTIONS)
    return client


@asynccontextmanager
async def fresh_async_redis(store: Store = "working") -> AsyncIterator[aioredis.Redis]:
    """A client of its own, closed afterwards: for async code run by workers (asyncio.run)."""
    client = aioredis.Redis.from_url(redis_url(store), **CLIENT_OPTIONS)
    try:
        yield client
    finally:
        await client.aclose()


async def close_async_clients() -> None:
    """Close the current event loop's clients (ASGI lifespan shutdown)."""
    for client in _async_clients.pop(asyncio.get_running_loop(), {}).values():
        await client.aclose()


def close_sync_clients() -> None:
    for client in _sync_clients.values():
        client.close()
    _sync_clients.clear()
