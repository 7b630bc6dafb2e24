"""Redis client factories, created lazily from settings.

Clients are cached by URL, so a settings change simply selects another client. Async
clients are bound to the event loop that created them, so each loop has its own.

Recovery after Redis restarts (issue 13): every pooled connection that was open when the
server died is dead and must not be handed out again (`_client_options`); a read that
fails on a broken connection is asked once more, a write never (`ReadRetryingRedis`).
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from typing import Any, Literal, TypeAlias

import redis
import redis.asyncio as aioredis
from django.conf import settings
from redis.asyncio.cluster import RedisCluster as AsyncRedisCluster
from redis.cluster import RedisCluster
from redis.commands import READ_COMMANDS
from redis.exceptions import (
    AuthenticationError,
    BusyLoadingError,
    ConnectionError,
    MaxConnectionsError,
    RedisClusterException,
    RedisError,
    TimeoutError,
)
from redis.maint_notifications import MaintNotificationsConfig

# The three Redis roles, each its own URL, all defaulting to REDIS_URL (README "Scaling out"):
# working memory (JSON; a Redis/Valkey Cluster is fine), long-term memory (the Query Engine)
# and the task queues (RQ: one plain Redis, never a cluster).
Store = Literal["working", "long_term", "queue"]
# RESP3 everywhere, so search replies have one shape whatever the redis-py version.
CLIENT_OPTIONS: dict[str, Any] = {"protocol": 3, "socket_connect_timeout": 2, "health_check_interval": 30}

# Redis down or not answering in time: what the transports catch (as "Redis is
# unavailable") without importing redis themselves.
REDIS_UNAVAILABLE: tuple[type[Exception], ...] = (ConnectionError, TimeoutError)
# Any failure Redis reports (down, or a command refused, as when it is out of memory), also
# through a library such as RQ: what code that must never fail because of Redis catches.
REDIS_FAILED: tuple[type[Exception], ...] = (RedisError,)

# The client types, for code that hands a client on to a repository (only repositories and
# this module import redis: see .importlinter).
RedisClient: TypeAlias = redis.Redis
AsyncRedisClient: TypeAlias = aioredis.Redis

# Commands without side effects, safe to send a second time: redis-py's own list of
# read-only commands (the ones it may route to replicas) and a few more we use.
RETRYABLE_COMMANDS = frozenset(READ_COMMANDS | {"PING", "INFO", "FT._LIST"})
# ConnectionError subclasses where a second attempt cannot help: the server is up and
# said no (credentials, still loading its AOF), or our own pool is exhausted.
_NOT_A_BROKEN_CONNECTION = (AuthenticationError, BusyLoadingError, MaxConnectionsError)

_sync_clients: dict[str, redis.Redis] = {}
_async_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, aioredis.Redis]] = (
    weakref.WeakKeyDictionary()
)


def _client_options() -> dict[str, Any]:
    """CLIENT_OPTIONS plus maintenance notifications switched off.

    With RESP3 over TCP, redis-py 8.1 turns "maintenance notifications" on by default, and
    its asyncio pool then skips the check that replaces a connection the server has closed
    (`ensure_connection`: `can_read() and not maint_notifications_enabled()`; redis-py
    issue #4252, fixed upstream by #4260). After Redis was killed and restarted, every
    connection left in the pool was handed out once more and failed with "Connection
    closed by server": one 503 per pooled connection, at whatever time the next burst came.
    With the notifications off the pool sees the closed socket (EOF) before sending
    anything and reconnects, so nothing is sent twice and nothing fails. We lose nothing:
    the notifications are for planned maintenance of Redis Enterprise/Cloud, which then
    behaves like any other server restart. A fresh config per pool: the pool keeps it.
    """
    return {**CLIENT_OPTIONS, "maint_notifications_config": MaintNotificationsConfig(enabled=False)}


def text(value: object) -> str:
    """A key, field or value as Redis replied it, as text: the one decode of every reply. Our
    clients answer bytes; one made with decode_responses (a local cluster node's) answers str."""
    return value.decode() if isinstance(value, bytes) else str(value)


def _retryable(args: tuple[Any, ...], error: ConnectionError) -> bool:
    if isinstance(error, _NOT_A_BROKEN_CONNECTION) or not args:
        return False
    return text(args[0]).upper() in RETRYABLE_COMMANDS


# The retry rule of both client classes below. A read-only command that fails because its
# connection broke is sent once more, on another connection (redis-py has already dropped
# the broken one). This covers what the pool's check cannot see: a peer that vanished
# without closing the socket (a host reboot, a failover to another machine), or a close the
# event loop has not noticed yet. Writes are never repeated: a connection error after
# sending may mean the command ran and only its reply was lost, and an append or an
# increment must not run twice. A write on a connection the server had already closed is
# not lost either: the pool's check (see `_client_options`) reconnects before anything is
# sent. redis-py's own `retry=` would repeat every command, writes included, so it stays at
# its from_url default of no retries.


class ReadRetryingRedis(redis.Redis):
    """The synchronous client, with reads retried once after a broken connection."""

    def execute_command(self, *args: Any, **options: Any) -> Any:
        try:
            return super().execute_command(*args, **options)
        except ConnectionError as error:
            if not _retryable(args, error):
                raise
        return super().execute_command(*args, **options)


class AsyncReadRetryingRedis(aioredis.Redis):
    """The async client, with reads retried once after a broken connection."""

    async def execute_command(self, *args: Any, **options: Any) -> Any:
        try:
            return await super().execute_command(*args, **options)
        except ConnectionError as error:
            if not _retryable(args, error):
                raise
        return await super().execute_command(*args, **options)


ROLE_SETTINGS: dict[Store, str] = {
    "working": "WORKING_MEMORY_REDIS_URL",
    "long_term": "LONG_TERM_MEMORY_REDIS_URL",
    "queue": "QUEUE_REDIS_URL",
}
_cluster_urls: dict[str, bool] = {}


def redis_url(store: Store = "working") -> str:
    return str(getattr(settings, ROLE_SETTINGS[store]) or settings.REDIS_URL)


def is_cluster(url: str) -> bool:
    """Whether `url` names a node of a Redis/Valkey Cluster (its `cluster_enabled`), asked once
    per process and URL. Raises redis.ConnectionError when the server cannot be reached."""
    known = _cluster_urls.get(url)
    if known is None:
        probe = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5)
        try:
            known = bool(probe.info("cluster").get("cluster_enabled"))
        finally:
            probe.close()
        _cluster_urls[url] = known
    return known


# A cluster client follows MOVED/ASK redirections and, after a connection error, finds the
# slot's new primary and sends the command again, writes included (redis-py's cluster retry).
# That is what a failover needs; the working-memory writes are safe to repeat: an append
# skips message ids the session already holds, and a PUT replaces the whole session.
def new_redis(url: str) -> redis.Redis:
    """A synchronous client of its own, with this module's recovery rules."""
    if is_cluster(url):
        return RedisCluster.from_url(url, **_client_options())  # type: ignore[return-value]
    return ReadRetryingRedis.from_url(url, **_client_options())


def new_async_redis(url: str) -> aioredis.Redis:
    """An async client of its own (bound to the running loop), with this module's recovery rules."""
    if is_cluster(url):
        return AsyncRedisCluster.from_url(url, **_client_options())  # type: ignore[return-value]
    return AsyncReadRetryingRedis.from_url(url, **_client_options())


def get_redis(store: Store = "working") -> redis.Redis:
    """A thread-safe synchronous client (workers, management commands)."""
    url = redis_url(store)
    client = _sync_clients.get(url)
    if client is None:
        client = _sync_clients[url] = new_redis(url)
    return client


def get_async_redis(store: Store = "working") -> aioredis.Redis:
    """The async client for the running event loop (request path)."""
    url = redis_url(store)
    per_loop = _async_clients.setdefault(asyncio.get_running_loop(), {})
    client = per_loop.get(url)
    if client is None:
        client = per_loop[url] = new_async_redis(url)
    return client


@asynccontextmanager
async def fresh_async_redis(store: Store = "working") -> AsyncIterator[aioredis.Redis]:
    """A client of its own, closed afterwards: for async code run by workers (asyncio.run)."""
    client = new_async_redis(redis_url(store))
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


def move_to_hash_tags(
    client: redis.Redis,
    prefixes: Iterable[str],
    tagged: Callable[[str], str],
    before_move: Callable[[str, str], None] | None = None,
) -> int:
    """A key-layout upgrade: every key `<prefix><rest>` whose `rest` does not start with a
    hash tag moves to `<prefix><tagged(rest)>` (see `rename_unless_taken`), after
    `before_move(prefix, key)` if given. Returns how many keys moved."""
    moved = 0
    for prefix in prefixes:
        for raw in client.scan_iter(match=prefix + "*", count=1000):
            old = text(raw)
            rest = old[len(prefix) :]
            if rest.startswith("{"):  # moved already (SCAN may also return keys it moved)
                continue
            if before_move is not None:
                before_move(prefix, old)
            moved += rename_unless_taken(client, old, prefix + tagged(rest))
    return moved


def rename_unless_taken(client: redis.Redis, old: str, new: str) -> int:
    """Move `old` to `new` (a key-layout upgrade); when `new` exists (written since the
    upgrade) it wins and `old` goes. 1 if moved; 0 if not, also when another process moved
    it meanwhile. Where the two keys live in different hash slots of a sharded Redis, which
    refuses RENAMENX, the key is copied (DUMP/RESTORE with its TTL) and then deleted."""
    try:
        moved = bool(client.renamenx(old, new))
    except (redis.ResponseError, RedisClusterException) as error:
        if "no such key" in str(error).lower():  # moved meanwhile
            return 0
        if "slot" not in str(error).lower():
            raise
        moved = _copied(client, old, new)
    if not moved:
        client.delete(old)
    return int(moved)


def _copied(client: redis.Redis, old: str, new: str) -> bool:
    """Copy `old` to `new` unless `new` exists, then delete `old`; False if nothing was copied."""
    dumped = client.dump(old)
    if dumped is None:  # moved meanwhile
        return False
    try:
        client.restore(new, max(int(client.pttl(old)), 0), dumped)
    except redis.ResponseError as error:
        if "busykey" not in str(error).lower():
            raise
        return False
    client.delete(old)
    return True
