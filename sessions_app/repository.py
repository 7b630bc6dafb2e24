"""Every Redis key and command of working memory.

Layout
- `working_memory:{ns}:{user}:{session}`  JSON document of one session (optional TTL)
- `working_memory_sessions`                sorted set of all sessions, scored by last update
- `working_memory_sessions:{ns}`           the same for one namespace
- `working_memory_sessions:{ns}:{user}`    the same for one user of a namespace
- `working_memory_expiries`                sessions with a TTL, scored by expiry time

Key parts are percent-encoded, so `:` inside an id can never make two sessions collide.
Sorted-set members are `{ns}:{user}:{session}`, the document key without its prefix.
Writes run as Lua scripts, so a reader never sees half a session. The scripts reach
keys they derive from members, so a Redis Cluster deployment needs hash tags first.
"""

from __future__ import annotations

from urllib.parse import quote, unquote

import redis
import redis.asyncio as aioredis

from sessions_app.schemas import SessionKey

DOC_PREFIX = "working_memory:"
ALL_SESSIONS = "working_memory_sessions"
NAMESPACE_SESSIONS_PREFIX = "working_memory_sessions:"
EXPIRIES = "working_memory_expiries"

_PUT_SCRIPT = """
local old = redis.call('JSON.GET', KEYS[1], '$.created_at')
redis.call('JSON.SET', KEYS[1], '$', ARGV[1])
local created = false
if old and string.len(old) > 2 then
  created = string.sub(old, 2, -2)
  redis.call('JSON.SET', KEYS[1], '$.created_at', created)
end
local ttl = tonumber(ARGV[3])
if ttl > 0 then
  redis.call('EXPIRE', KEYS[1], ttl)
  redis.call('ZADD', KEYS[4], tonumber(ARGV[2]) + ttl, ARGV[4])
else
  redis.call('PERSIST', KEYS[1])
  redis.call('ZREM', KEYS[4], ARGV[4])
end
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[4])
redis.call('ZADD', KEYS[3], ARGV[2], ARGV[4])
if KEYS[5] ~= KEYS[2] then redis.call('ZADD', KEYS[5], ARGV[2], ARGV[4]) end
return created
"""

_READ_SCRIPT = """
redis.call('JSON.SET', KEYS[1], '$.last_accessed', ARGV[1], 'XX')
return redis.call('JSON.GET', KEYS[1])
"""

_LIST_SCRIPT = """
local expired = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[1], 'LIMIT', 0, 1000)
for _, member in ipairs(expired) do
  if redis.call('EXISTS', ARGV[4] .. member) == 0 then
    local namespace, user = string.match(member, '^([^:]*):([^:]*):')
    redis.call('ZREM', ARGV[6], member)
    redis.call('ZREM', ARGV[5] .. namespace, member)
    if user ~= '' then redis.call('ZREM', ARGV[5] .. namespace .. ':' .. user, member) end
    redis.call('ZREM', KEYS[2], member)
  end
end
local offset = tonumber(ARGV[2])
local page = redis.call('ZREVRANGE', KEYS[1], offset, offset + tonumber(ARGV[3]) - 1)
return {redis.call('ZCARD', KEYS[1]), page}
"""


def _part(value: str | None) -> str:
    return quote(value or "", safe="")


def member_of(key: SessionKey) -> str:
    return f"{_part(key.namespace)}:{_part(key.user_id)}:{_part(key.session_id)}"


def doc_key(key: SessionKey) -> str:
    return DOC_PREFIX + member_of(key)


def session_id_of(member: bytes) -> str:
    return unquote(member.decode().rsplit(":", 1)[1])


def key_of(member: bytes) -> SessionKey:
    """The session a sorted-set member names (the inverse of `member_of`)."""
    namespace, user_id, session_id = (unquote(part) for part in member.decode().split(":"))
    return SessionKey(namespace, user_id or None, session_id)


def _index_key(namespace: str | None, user_id: str | None = None) -> str:
    """The listing of all sessions, of a namespace, or of one user in a namespace."""
    if not namespace:
        return ALL_SESSIONS
    if user_id:
        return f"{NAMESPACE_SESSIONS_PREFIX}{_part(namespace)}:{_part(user_id)}"
    return NAMESPACE_SESSIONS_PREFIX + _part(namespace)


class WorkingMemoryStore:
    """Async access for the request path."""

    def __init__(self, client: aioredis.Redis) -> None:
        self.client = client

    async def read(self, key: SessionKey, now: float) -> bytes | None:
        """Return the stored JSON document, marking it accessed in the same script."""
        document: bytes | None = await self.client.register_script(_READ_SCRIPT)(
            keys=[doc_key(key)], args=[repr(now)]
        )
        return document

    async def write(self, key: SessionKey, document: bytes, now: float, ttl: int | None) -> float | None:
        """Replace the session atomically; return the original `created_at` if it existed."""
        keys = [
            doc_key(key),
            _index_key(key.namespace),
            ALL_SESSIONS,
            EXPIRIES,
            _index_key(key.namespace, key.user_id),
        ]
        args: list[bytes | str | int] = [document, repr(now), ttl or 0, member_of(key)]
        created = await self.client.register_script(_PUT_SCRIPT)(keys=keys, args=args)
        return float(created) if created else None

    async def delete(self, key: SessionKey) -> bool:
        member = member_of(key)
        async with self.client.pipeline(transaction=True) as pipe:
            pipe.delete(doc_key(key))
            pipe.zrem(ALL_SESSIONS, member)
            pipe.zrem(_index_key(key.namespace), member)
            pipe.zrem(_index_key(key.namespace, key.user_id), member)
            pipe.zrem(EXPIRIES, member)
            deleted, *_ = await pipe.execute()
        return bool(deleted)

    async def list_sessions(
        self, namespace: str | None, user_id: str | None, offset: int, limit: int, now: float
    ) -> tuple[list[str], int]:
        """One page of session ids, most recently updated first, and the total count."""
        keys, total = await self.list_keys(namespace, user_id, offset, limit, now)
        return [key.session_id for key in keys], total

    async def list_keys(
        self, namespace: str | None, user_id: str | None, offset: int, limit: int, now: float
    ) -> tuple[list[SessionKey], int]:
        """Like `list_sessions`, with each session's namespace and user."""
        keys = [_index_key(namespace, user_id), EXPIRIES]
        args: list[str | int] = [
            repr(now),
            offset,
            limit,
            DOC_PREFIX,
            NAMESPACE_SESSIONS_PREFIX,
            ALL_SESSIONS,
        ]
        total, page = await self.client.register_script(_LIST_SCRIPT)(keys=keys, args=args)
        return [key_of(member) for member in page], int(total)


def read_snapshot(client: redis.Redis, key: SessionKey) -> bytes | None:
    """Synchronous read for workers: the stored document, without marking it accessed."""
    document: bytes | None = client.execute_command("JSON.GET", doc_key(key))
    return document


def remaining_ttl(client: redis.Redis, key: SessionKey) -> int | None:
    """Seconds until the session expires; None when it has no TTL (or is gone)."""
    seconds = int(client.ttl(doc_key(key)))
    return seconds if seconds >= 0 else None


def session_counts(client: redis.Redis) -> dict[str, int]:
    """Sessions per namespace, from the per-namespace listings (expired ones leave lazily)."""
    counts: dict[str, int] = {}
    for raw in client.scan_iter(match=NAMESPACE_SESSIONS_PREFIX + "*", count=1000, _type="zset"):
        part = raw.decode()[len(NAMESPACE_SESSIONS_PREFIX) :]
        if ":" not in part:  # `{ns}:{user}` listings repeat their namespace's members
            counts[unquote(part)] = int(client.zcard(raw))
    return dict(sorted(counts.items()))
