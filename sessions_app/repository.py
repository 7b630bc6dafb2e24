"""Every Redis key and command of working memory.

Layout (`<member>` is `<ns>:<user>:<session>`, each part percent-encoded, so `:`, `{` and
`}` inside an id can never make two sessions collide)
- `working_memory:{<member>}`              JSON document of one session (optional TTL)
- `working_memory_extraction:{<member>}`   message id -> extraction job id, or "done"
- `working_memory_summary_wait:{<member>}` the window of a summary waiting for extraction
- `working_memory_sessions`                sorted set of all sessions, scored by last update
- `working_memory_sessions:<ns>`           the same for one namespace
- `working_memory_sessions:<ns>:<user>`    the same for one user of a namespace
- `working_memory_expiries`                sessions with a TTL, scored by expiry time
Sorted-set members are `<member>`.

Redis Cluster: the braces are a hash tag, so a session's own keys share one hash slot and
every script and multi-key command below stays within one slot (tests/cluster enumerates
them). The listings hold every session, so they cannot share a session's slot. On one
server a write script updates the listings too, atomically; on a cluster it returns and
the listings are updated next, one command per listing (a reader may see a new session a
moment before it is listed). Listing readers drop sessions that expired (`list_keys`).

Every write that changes what a client sees (PUT, append, a folded summary) increments the
document's `version`, which clients send back in `If-Match` to replace it conditionally.
Writes run as Lua scripts, so a reader never sees half a session.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote

import orjson
import redis
import redis.asyncio as aioredis
from django.conf import settings
from redis.asyncio.cluster import RedisCluster as AsyncRedisCluster

from memoryserver.errors import BackendUnavailable
from memoryserver.redis import get_async_redis, move_to_hash_tags, text
from sessions_app.schemas import SessionKey

DOC_PREFIX = "working_memory:"
ALL_SESSIONS = "working_memory_sessions"
NAMESPACE_SESSIONS_PREFIX = "working_memory_sessions:"
EXPIRIES = "working_memory_expiries"
EXTRACTION_PREFIX = "working_memory_extraction:"
SUMMARY_WAIT_PREFIX = "working_memory_summary_wait:"
# How long a write waits for its replicas (WORKING_MEMORY_WAIT_REPLICAS).
REPLICA_WAIT_MS = 1000
# Set once the keys of an older layout were renamed (`upgrade_layout`).
LAYOUT_KEY = "working_memory_layout"
LAYOUT_VERSION = "2"
# Expired sessions checked per listing read (more wait for the next read).
EXPIRED_BATCH = 1000
# A claim outlives every retry of its job (3 retries over ~2.5 min, each up to the job timeout).
CLAIM_LEASE_SECONDS = 3600

# Lua shared by the write scripts. KEYS: document, then (on one server; see the module
# docstring) namespace listing, all sessions, expiries, user listing.
# A session's score in a listing: its write time, or just after the newest entry when that
# one is as recent. Timestamps have millisecond precision, so writes in a row can share one;
# the listing still keeps the order of the writes.
_LISTED_AT_LUA = """
local function listed_at(listing, now)
  local newest = redis.call('ZREVRANGE', listing, 0, 0, 'WITHSCORES')
  local at = tonumber(now)
  if newest[2] and tonumber(newest[2]) >= at then at = tonumber(newest[2]) + 0.000001 end
  return at
end
"""
# Lists a session (KEYS[1] a listing; ARGV: now, member): on a cluster, after the write.
_LIST_SCRIPT = _LISTED_AT_LUA + "redis.call('ZADD', KEYS[1], listed_at(KEYS[1], ARGV[1]), ARGV[2])"

_SHARED_LUA = (
    _LISTED_AT_LUA
    + """
local function current_version(key)
  local raw = redis.call('JSON.GET', key, '$.version')
  if not raw then return nil end
  return cjson.decode(raw)[1] or 0  -- documents written before versions existed are version 0
end
-- Whether If-Match `wanted` ('' none, '*' any existing session, else a version) refuses a
-- session at `version` (nil: there is none).
local function refused(wanted, version)
  return wanted ~= '' and (version == nil or (wanted ~= '*' and tonumber(wanted) ~= version))
end
local function set_ttl(keys, ttl, now, member)
  if ttl and ttl > 0 then
    redis.call('EXPIRE', keys[1], ttl)
    if keys[4] then redis.call('ZADD', keys[4], tonumber(now) + ttl, member) end
  else
    redis.call('PERSIST', keys[1])
    if keys[4] then redis.call('ZREM', keys[4], member) end
  end
end
local function index_session(keys, now, member)
  if not keys[2] then return end
  redis.call('ZADD', keys[2], listed_at(keys[2], now), member)
  redis.call('ZADD', keys[3], listed_at(keys[3], now), member)
  if keys[5] ~= keys[2] then redis.call('ZADD', keys[5], listed_at(keys[5], now), member) end
end
"""
)

# Appends messages in one step, creating the session (ARGV[1]) when there is none. A message
# whose id the session already holds is skipped, so a client may safely retry an append.
# ARGV: new document, now, member, max messages, ttl ('' keeps the session's own), then
# (id, message JSON, tokens) per message. Returns {'ok', added, version, document,
# ttl} or {'full', messages held}.
_APPEND_SCRIPT = (
    _SHARED_LUA
    + """
local version = current_version(KEYS[1])
local ttl = tonumber(ARGV[5])
local added
if version == nil then
  redis.call('JSON.SET', KEYS[1], '$', ARGV[1])
  redis.call('JSON.SET', KEYS[1], '$.version', 1)
  version, added = 1, (#ARGV - 5) / 3
else
  local held = cjson.decode(redis.call('JSON.GET', KEYS[1], '$.messages[*].id'))
  local seen = {}
  for _, id in ipairs(held) do seen[id] = true end
  local fresh, tokens = {}, 0
  for i = 6, #ARGV, 3 do
    if not seen[ARGV[i]] then
      seen[ARGV[i]] = true
      table.insert(fresh, ARGV[i + 1])
      tokens = tokens + tonumber(ARGV[i + 2])
    end
  end
  if #held + #fresh > tonumber(ARGV[4]) then return {'full', #held} end
  added = #fresh
  local changed = added > 0
  if added > 0 then
    redis.call('JSON.ARRAPPEND', KEYS[1], '$.messages', unpack(fresh))
    redis.call('JSON.NUMINCRBY', KEYS[1], '$.tokens', tokens)
  end
  local stored = cjson.decode(redis.call('JSON.GET', KEYS[1], '$.ttl_seconds'))[1]
  if stored == cjson.null then stored = nil end
  if ttl then
    -- A new TTL is a change a client can see: it moves the version like new messages.
    if stored ~= (ttl > 0 and ttl or nil) then changed = true end
    redis.call('JSON.SET', KEYS[1], '$.ttl_seconds', ttl > 0 and ttl or 'null')
  else
    ttl = stored
  end
  if changed then
    redis.call('JSON.SET', KEYS[1], '$.updated_at', ARGV[2])
    version = version + 1
    redis.call('JSON.SET', KEYS[1], '$.version', version)
  end
end
set_ttl(KEYS, ttl, ARGV[2], ARGV[3])
index_session(KEYS, ARGV[2], ARGV[3])
return {'ok', added, version, redis.call('JSON.GET', KEYS[1]), ttl or 0}
"""
)

# Replaces a session whole, keeping what the server computed about it: `created_at`, which
# messages were already extracted and which memories were already promoted (same id, same
# text), so a client need not send those flags back. ARGV: document, now, ttl, member,
# if-match, then (index, id, '1' if a system message) of each of the document's messages not
# marked extracted (read in Python: decoding the messages in Lua held Redis three times as
# long). Returns {created_at or false, extracted message ids, {memory id, persisted_at}...,
# pending counts}.
_PUT_SCRIPT = (
    _SHARED_LUA
    + """
local function decoded(path)
  local raw = redis.call('JSON.GET', KEYS[1], path)
  if raw then return cjson.decode(raw) end
  return {}
end
local version = current_version(KEYS[1])
if refused(ARGV[5], version) then
  return {'stale', version or 0}
end
local old = redis.call('JSON.GET', KEYS[1], '$.created_at')
local extracted = {}
for _, id in ipairs(decoded('$.messages[?(@.discrete_memory_extracted=="t")].id')) do extracted[id] = true end
local persisted = {}
for _, memory in ipairs(decoded('$.memories[?(@.persisted_at)]')) do persisted[memory.id] = memory end
redis.call('JSON.SET', KEYS[1], '$', ARGV[1])
redis.call('JSON.SET', KEYS[1], '$.version', (version or 0) + 1)
local created = false
if old and string.len(old) > 2 then
  created = string.sub(old, 2, -2)
  redis.call('JSON.SET', KEYS[1], '$.created_at', created)
end
local kept_extracted, unextracted = {}, 0
for i = 6, #ARGV, 3 do  -- (index, id, is system) of each new message not marked extracted
  if extracted[ARGV[i + 1]] then
    redis.call('JSON.SET', KEYS[1], '$.messages[' .. ARGV[i] .. '].discrete_memory_extracted', '"t"')
    table.insert(kept_extracted, ARGV[i + 1])
  elseif ARGV[i + 2] ~= '1' then
    unextracted = unextracted + 1
  end
end
local kept_persisted, unpersisted = {}, 0
for i, memory in ipairs(decoded('$.memories')[1] or {}) do
  if memory.persisted_at == cjson.null or memory.persisted_at == nil then
    local before = persisted[memory.id]
    if before and before.persisted_at ~= cjson.null and before.text == memory.text then
      local at = cjson.encode(before.persisted_at)
      redis.call('JSON.SET', KEYS[1], '$.memories[' .. (i - 1) .. '].persisted_at', at)
      table.insert(kept_persisted, memory.id)
      table.insert(kept_persisted, at)
    else
      unpersisted = unpersisted + 1
    end
  end
end
set_ttl(KEYS, tonumber(ARGV[3]), ARGV[2], ARGV[4])
index_session(KEYS, ARGV[2], ARGV[4])
return {'ok', created, kept_extracted, kept_persisted, unextracted, unpersisted, (version or 0) + 1}
"""
)

# Deletes a session's keys (KEYS, one slot, the document first) only when it is at the
# version ARGV[1] names ('*': any). Returns {'ok'} or {'stale', current version or 0}.
_CONDITIONAL_DELETE_SCRIPT = (
    _SHARED_LUA
    + """
local version = current_version(KEYS[1])
if refused(ARGV[1], version) then
  return {'stale', version or 0}
end
redis.call('DEL', unpack(KEYS))
return {'ok'}
"""
)

_READ_SCRIPT = """
redis.call('JSON.SET', KEYS[1], '$.last_accessed', ARGV[1], 'XX')
return redis.call('JSON.GET', KEYS[1])
"""

# Removes from one listing the (member, expiry time) pairs of ARGV whose score is not past
# that expiry: a session written again after it expired scores later and stays listed.
_FORGET_SCRIPT = """
local removed = 0
for i = 1, #ARGV, 2 do
  local score = redis.call('ZSCORE', KEYS[1], ARGV[i])
  if score and tonumber(score) <= tonumber(ARGV[i + 1]) then
    removed = removed + redis.call('ZREM', KEYS[1], ARGV[i])
  end
end
return removed
"""


# Folds summarised messages into the context, unless the context changed since the snapshot
# (a client replaced it): then nothing changes and the caller reports the conflict.
_APPLY_SUMMARY_SCRIPT = (
    _SHARED_LUA
    + """
local current = redis.call('JSON.GET', KEYS[1], '$.context')
if not current then return -1 end
local context = cjson.decode(current)[1]
if context == cjson.null then context = '' end
if context ~= ARGV[1] then return -2 end
local fold = {}
for i = 5, #ARGV do fold[ARGV[i]] = true end
local ids = cjson.decode(redis.call('JSON.GET', KEYS[1], '$.messages[*].id'))
local removed = 0
for i = #ids, 1, -1 do
  if fold[ids[i]] then
    redis.call('JSON.ARRPOP', KEYS[1], '$.messages', i - 1)
    removed = removed + 1
  end
end
redis.call('JSON.SET', KEYS[1], '$.context', ARGV[2])
redis.call('JSON.NUMINCRBY', KEYS[1], '$.tokens', ARGV[3])
redis.call('JSON.SET', KEYS[1], '$.updated_at', ARGV[4])
redis.call('JSON.SET', KEYS[1], '$.version', current_version(KEYS[1]) + 1)
return removed
"""
)

# Sets one field on the items (messages or memories) given as (id, content) pairs, wherever
# they are now, unless a client changed the item's content (ARGV[4] names it) meanwhile.
_MARK_SCRIPT = """
local found = redis.call('JSON.GET', KEYS[1], '$.' .. ARGV[1])
if not found then return 0 end
local expected = {}
for i = 5, #ARGV, 2 do expected[ARGV[i]] = ARGV[i + 1] end
local items, marked = cjson.decode(found)[1], 0
for i = 1, #items do
  if expected[items[i].id] == items[i][ARGV[4]] then
    redis.call('JSON.SET', KEYS[1], '$.' .. ARGV[1] .. '[' .. (i - 1) .. '].' .. ARGV[2], ARGV[3])
    marked = marked + 1
  end
end
return marked
"""

# Claims messages for one extraction job: unclaimed ones, those it claimed before a retry,
# and those whose claim (a lease, "job|time") outlived every retry of a job that gave up.
_CLAIM_SCRIPT = """
local claimed = {}
local now, lease = tonumber(ARGV[2]), tonumber(ARGV[3])
for i = 4, #ARGV do
  local owner = redis.call('HGET', KEYS[1], ARGV[i])
  local free = not owner
  if owner and owner ~= 'done' then
    local job, since = string.match(owner, '^(.*)|([%d.]+)$')
    free = job == ARGV[1] or not since or now - tonumber(since) > lease
  end
  if free then
    redis.call('HSET', KEYS[1], ARGV[i], ARGV[1] .. '|' .. ARGV[2])
    table.insert(claimed, ARGV[i])
  end
end
local ttl = redis.call('PTTL', KEYS[2])
if ttl > 0 then redis.call('PEXPIRE', KEYS[1], ttl) end
return claimed
"""


def _part(value: str | None) -> str:
    return quote(value or "", safe="")


def _unflagged_messages(document: bytes) -> list[str]:
    """(index, id, '1' if a system message) of each message the document does not mark
    extracted, flat, as _PUT_SCRIPT reads them."""
    flat: list[str] = []
    for index, message in enumerate(orjson.loads(document).get("messages") or ()):
        if message.get("discrete_memory_extracted") != "t":
            flat += [str(index), message["id"], "1" if message.get("role") == "system" else "0"]
    return flat


def member_of(key: SessionKey) -> str:
    return f"{_part(key.namespace)}:{_part(key.user_id)}:{_part(key.session_id)}"


def doc_key(key: SessionKey) -> str:
    return _tagged(DOC_PREFIX, member_of(key))


def _tagged(prefix: str, member: str) -> str:
    """A key of the session `member` names, in that session's hash slot."""
    return f"{prefix}{{{member}}}"


def session_id_of(member: bytes) -> str:
    return unquote(member.decode().rsplit(":", 1)[1])


def key_of(member: bytes | str) -> SessionKey:
    """The session a sorted-set member names (the inverse of `member_of`)."""
    namespace, user_id, session_id = (unquote(part) for part in text(member).split(":"))
    return SessionKey(namespace, user_id or None, session_id)


def _index_key(namespace: str | None, user_id: str | None = None) -> str:
    """The listing of all sessions, of a namespace, or of one user in a namespace."""
    if not namespace:
        return ALL_SESSIONS
    if user_id:
        return f"{NAMESPACE_SESSIONS_PREFIX}{_part(namespace)}:{_part(user_id)}"
    return NAMESPACE_SESSIONS_PREFIX + _part(namespace)


@dataclass(frozen=True)
class WriteOutcome:
    created_at: float | None  # of the session replaced, if there was one
    extracted: set[str]  # message ids already extracted before this write
    persisted: dict[str, float]  # memory id -> persisted_at, for memories promoted before
    unextracted: int  # messages still to extract
    unpersisted: int  # memories still to promote
    version: int  # of the session after this write


@dataclass(frozen=True)
class StaleVersion:
    """A conditional write found another version (0: no session, or one older than versions)."""

    current: int


@dataclass(frozen=True)
class AppendOutcome:
    added: int  # messages appended (ids the session already held are skipped)
    version: int
    document: bytes  # the whole session after the append


@dataclass(frozen=True)
class SessionFull:
    """Appending would take the session past its message limit."""

    held: int


def _listings(key: SessionKey) -> list[str]:
    """The listings that hold a session: of its user (if any), its namespace, and all."""
    keys = [_index_key(key.namespace), ALL_SESSIONS]
    user = _index_key(key.namespace, key.user_id)
    return keys if user == keys[0] else [user, *keys]


class WorkingMemoryStore:
    """Async access for the request path."""

    def __init__(self, client: aioredis.Redis) -> None:
        self.client = client
        # One server: the write scripts keep the listings too (see the module docstring).
        self.listed_by_scripts = not isinstance(client, AsyncRedisCluster)

    def _script_keys(self, key: SessionKey) -> list[str]:
        """The keys a write script touches, in the order of _SHARED_LUA's KEYS."""
        if not self.listed_by_scripts:
            return [doc_key(key)]
        return [
            doc_key(key),
            _index_key(key.namespace),
            ALL_SESSIONS,
            EXPIRIES,
            _index_key(key.namespace, key.user_id),
        ]

    async def _written(self, script: str, keys: list[str], args: list[Any]) -> tuple[Any, int | None]:
        """Run a write script: its reply and, with WORKING_MEMORY_WAIT_REPLICAS, how many
        replicas hold the write (WAIT, on the connection and node that ran it). The caller
        refuses to acknowledge a write too few replicas hold (`_confirmed`), so a primary that
        crashes right after cannot take an acknowledged write with it."""
        replicas = settings.WORKING_MEMORY_WAIT_REPLICAS
        if not replicas:
            return await self.client.register_script(script)(keys=keys, args=args), None
        wait: tuple[Any, ...] = ("WAIT", replicas, REPLICA_WAIT_MS)
        async with self.client.pipeline(transaction=False) as pipe:
            pipe.eval(script, len(keys), *keys, *args)
            if isinstance(self.client, AsyncRedisCluster):  # WAIT goes to the key's node
                pipe.execute_command(*wait, target_nodes=self.client.get_node_from_key(keys[0]))
            else:
                pipe.execute_command(*wait)
            reply, copies = await pipe.execute()
        return reply, int(copies)

    @staticmethod
    def _confirmed(copies: int | None) -> None:
        """Raise when fewer replicas than WORKING_MEMORY_WAIT_REPLICAS hold a write."""
        replicas = settings.WORKING_MEMORY_WAIT_REPLICAS
        if copies is not None and copies < replicas:
            raise BackendUnavailable(
                f"The session was written, but only {copies} of {replicas} replicas confirmed it within "
                f"{REPLICA_WAIT_MS} ms (WORKING_MEMORY_WAIT_REPLICAS), so it could still be lost. "
                "Send it again: an append skips the messages the session already holds; for a "
                "conditional PUT, read the session's version first.",
                retry_after=1,
            )

    async def _list(self, key: SessionKey, now: float, ttl: int) -> None:
        """After a write on a cluster: the session in its listings and, with a TTL, its expiry."""
        if self.listed_by_scripts:
            return
        member = member_of(key)
        listed = self.client.register_script(_LIST_SCRIPT)
        if ttl > 0:
            expiry = self.client.zadd(EXPIRIES, {member: now + ttl})
        else:
            expiry = self.client.zrem(EXPIRIES, member)
        # Each listing is in a slot of its own: one script call each, all sent at once.
        listings = [listed(keys=[listing], args=[repr(now), member]) for listing in _listings(key)]
        await asyncio.gather(expiry, *listings)

    async def read(self, key: SessionKey, now: float) -> bytes | None:
        """Return the stored JSON document, marking it accessed in the same script."""
        document: bytes | None = await self.client.register_script(_READ_SCRIPT)(
            keys=[doc_key(key)], args=[repr(now)]
        )
        return document

    async def write(
        self, key: SessionKey, document: bytes, now: float, ttl: int | None, if_match: str = ""
    ) -> WriteOutcome | StaleVersion:
        """Replace the session atomically, keeping the server's own fields (see _PUT_SCRIPT).

        `if_match` is a version number, "*" (any existing session) or "" (unconditional).
        """
        args: list[bytes | str | int] = [document, repr(now), ttl or 0, member_of(key), if_match]
        args.extend(_unflagged_messages(document))
        reply, copies = await self._written(_PUT_SCRIPT, self._script_keys(key), args)
        if reply[0] == b"stale":
            return StaleVersion(int(reply[1]))
        await self._list(key, now, ttl or 0)
        self._confirmed(copies)
        _, created, extracted, persisted, unextracted, unpersisted, version = reply
        pairs = [item.decode() for item in persisted]
        return WriteOutcome(
            created_at=float(created) if created else None,
            extracted={item.decode() for item in extracted},
            persisted={pairs[i]: float(pairs[i + 1]) for i in range(0, len(pairs), 2)},
            unextracted=int(unextracted),
            unpersisted=int(unpersisted),
            version=int(version),
        )

    async def append(
        self,
        key: SessionKey,
        new_document: bytes,
        messages: list[tuple[str, bytes, int]],
        now: float,
        max_messages: int,
        ttl: int | None,
    ) -> AppendOutcome | SessionFull:
        """Append (id, JSON, tokens) messages in one step; `new_document` if there is no session."""
        args: list[bytes | str | int] = [
            new_document,
            repr(now),
            member_of(key),
            max_messages,
            "" if ttl is None else ttl,
        ]
        for message in messages:
            args.extend(message)
        reply, copies = await self._written(_APPEND_SCRIPT, self._script_keys(key), args)
        if reply[0] == b"full":
            return SessionFull(int(reply[1]))
        await self._list(key, now, int(reply[4]))
        self._confirmed(copies)
        return AppendOutcome(added=int(reply[1]), version=int(reply[2]), document=reply[3])

    async def delete(self, key: SessionKey, if_match: str = "") -> bool | StaleVersion:
        """The session's keys (one slot), then its listing entries; True if the session's
        document existed. With `if_match` (a version or "*"), only a session at that version
        is deleted, checked in the same script; otherwise nothing is and StaleVersion says why.
        """
        member = member_of(key)
        document, *others = session_keys(key)
        listings = [*_listings(key), EXPIRIES]
        if if_match:
            reply = await self.client.register_script(_CONDITIONAL_DELETE_SCRIPT)(
                keys=[document, *others], args=[if_match]
            )
            if reply[0] == b"stale":
                return StaleVersion(int(reply[1]))
            async with self.client.pipeline(transaction=False) as pipe:
                for listing in listings:
                    pipe.zrem(listing, member)
                await pipe.execute()
            return True
        async with self.client.pipeline(transaction=False) as pipe:
            # Whether the session existed is its document's: the job keys beside it may
            # outlive an expired session.
            pipe.delete(document)
            pipe.delete(*others)
            for listing in listings:
                pipe.zrem(listing, member)
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
        """Like `list_sessions`, with each session's namespace and user. Sessions that expired
        since they were listed leave their listings first (checked and removed in batches)."""
        listing = _index_key(namespace, user_id)
        expired, total, page = await self._page(listing, offset, limit, now)
        if expired and await self._forget_expired(expired):
            _, total, page = await self._page(listing, offset, limit, now)
        return [key_of(member) for member in page], int(total)

    async def _page(self, listing: str, offset: int, limit: int, now: float) -> list[Any]:
        """[sessions whose TTL has passed, with their expiry time], size, page: one round trip."""
        async with self.client.pipeline(transaction=False) as pipe:
            pipe.zrangebyscore(EXPIRIES, "-inf", now, start=0, num=EXPIRED_BATCH, withscores=True)
            pipe.zcard(listing)
            pipe.zrevrange(listing, offset, offset + limit - 1)
            return list(await pipe.execute())

    async def _forget_expired(self, expired: list[tuple[bytes, float]]) -> int:
        """Drop the sessions that are gone among those whose TTL has passed; how many were."""
        async with self.client.pipeline(transaction=False) as pipe:
            for member, _ in expired:
                pipe.exists(doc_key(key_of(member)))
            present = await pipe.execute()
        gone = [(member, at) for (member, at), exists in zip(expired, present, strict=True) if not exists]
        by_listing: dict[str, list[bytes | float]] = {}
        for member, at in gone:
            for listing in [*_listings(key_of(member)), EXPIRIES]:
                by_listing.setdefault(listing, []).extend((member, at))
        script = self.client.register_script(_FORGET_SCRIPT)
        for listing, args in by_listing.items():
            await script(keys=[listing], args=args)
        return len(gone)


def claims_key(key: SessionKey) -> str:
    return _tagged(EXTRACTION_PREFIX, member_of(key))


def summary_wait_key(key: SessionKey) -> str:
    return _tagged(SUMMARY_WAIT_PREFIX, member_of(key))


def session_keys(key: SessionKey) -> list[str]:
    """Every key of one session (all in its hash slot)."""
    return [doc_key(key), claims_key(key), summary_wait_key(key)]


def read_snapshot(client: redis.Redis, key: SessionKey) -> bytes | None:
    """Synchronous read for workers: the stored document, without marking it accessed."""
    document: bytes | None = client.execute_command("JSON.GET", doc_key(key))
    return document


def remaining_ttl(client: redis.Redis, key: SessionKey) -> int | None:
    """Seconds until the session expires; None when it has no TTL (or is gone)."""
    seconds = int(client.ttl(doc_key(key)))
    return seconds if seconds >= 0 else None


def upgrade_layout(client: redis.Redis) -> int:
    """Once per Redis: rename the keys of sessions stored before the hash tags (as
    `working_memory:<member>`) to this layout. Returns how many keys were renamed."""
    if client.get(LAYOUT_KEY) == LAYOUT_VERSION.encode():
        return 0
    prefixes = (DOC_PREFIX, EXTRACTION_PREFIX, SUMMARY_WAIT_PREFIX)
    moved = move_to_hash_tags(client, prefixes, lambda member: _tagged("", member))
    client.set(LAYOUT_KEY, LAYOUT_VERSION)
    return moved


def session_counts(client: redis.Redis) -> dict[str, int]:
    """Sessions per namespace, from the per-namespace listings (expired ones leave lazily)."""
    keys = [
        raw
        for raw in client.scan_iter(match=NAMESPACE_SESSIONS_PREFIX + "*", count=1000, _type="zset")
        if ":" not in raw.decode()[len(NAMESPACE_SESSIONS_PREFIX) :]  # `{ns}:{user}` repeat their namespace
    ]
    with client.pipeline(transaction=False) as pipe:
        for raw in keys:
            pipe.zcard(raw)
        sizes = pipe.execute()
    names = [unquote(raw.decode()[len(NAMESPACE_SESSIONS_PREFIX) :]) for raw in keys]
    return dict(sorted(zip(names, (int(size) for size in sizes), strict=True)))


class SessionJobStore:
    """Synchronous access for workers: snapshots, and merges that respect concurrent writes."""

    def __init__(self, client: redis.Redis) -> None:
        self.client = client

    def snapshot(self, key: SessionKey) -> bytes | None:
        return read_snapshot(self.client, key)

    def apply_summary(
        self,
        key: SessionKey,
        expected_context: str | None,
        context: str,
        folded_ids: list[str],
        tokens_delta: int,
        now: float,
    ) -> int | None:
        """Messages removed; None if the session is gone; -2 if its context changed meanwhile."""
        args: list[str | int] = [expected_context or "", json.dumps(context), tokens_delta, repr(now)]
        result = self.client.register_script(_APPLY_SUMMARY_SCRIPT)(
            keys=[doc_key(key)], args=[*args, *folded_ids]
        )
        return None if result == -1 else int(result)

    def mark(
        self, key: SessionKey, items: str, field: str, value: object, content: str, expected: dict[str, str]
    ) -> int:
        """Set `field` to `value` on the `items` ("messages" or "memories") given as {id: content},
        where their `content` field is still what the job worked on."""
        if not expected:
            return 0
        pairs = [part for item in expected.items() for part in item]
        script = self.client.register_script(_MARK_SCRIPT)
        return int(script(keys=[doc_key(key)], args=[items, field, json.dumps(value), content, *pairs]))

    def claim_extraction(self, key: SessionKey, job_id: str, message_ids: list[str]) -> list[str]:
        """The messages this job may extract: not done and not claimed by another job."""
        if not message_ids:
            return []
        claims = claims_key(key)
        script = self.client.register_script(_CLAIM_SCRIPT)
        args: list[str | int] = [job_id, repr(time.time()), CLAIM_LEASE_SECONDS, *message_ids]
        claimed = script(keys=[claims, doc_key(key)], args=args)
        return [text(item) for item in claimed]

    def finish_extraction(self, key: SessionKey, message_ids: list[str]) -> None:
        """Mark messages extracted for good (in the claims, which live as long as the session)."""
        if message_ids and self.client.exists(doc_key(key)):
            self.client.hset(claims_key(key), mapping=dict.fromkeys(message_ids, "done"))

    def await_extraction(self, key: SessionKey, window: Mapping[str, object]) -> None:
        """Note a summary that waits for extraction, with its window (kept as long as a claim)."""
        self.client.set(summary_wait_key(key), json.dumps(window), ex=CLAIM_LEASE_SECONDS)

    def take_summary_wait(self, key: SessionKey) -> dict[str, object] | None:
        """The window of a summary that waited for extraction, removed; None if none waits."""
        raw = self.client.getdel(summary_wait_key(key))
        return None if raw is None else dict(json.loads(raw))


def working_store() -> WorkingMemoryStore:
    """The store on the working-memory Redis (this event loop's client): every transport's."""
    return WorkingMemoryStore(get_async_redis("working"))
