"""Every Redis key and command of working memory.

Layout
- `working_memory:{ns}:{user}:{session}`  JSON document of one session (optional TTL)
- `working_memory_sessions`                sorted set of all sessions, scored by last update
- `working_memory_sessions:{ns}`           the same for one namespace
- `working_memory_sessions:{ns}:{user}`    the same for one user of a namespace
- `working_memory_expiries`                sessions with a TTL, scored by expiry time
- `working_memory_extraction:{ns}:{user}:{session}`  message id -> extraction job id, or "done"
- `working_memory_summary_wait:{ns}:{user}:{session}`  the window of a summary waiting for extraction

Every write that changes what a client sees (PUT, append, a folded summary) increments the
document's `version`, which clients send back in `If-Match` to replace it conditionally.

Key parts are percent-encoded, so `:` inside an id can never make two sessions collide.
Sorted-set members are `{ns}:{user}:{session}`, the document key without its prefix.
Writes run as Lua scripts, so a reader never sees half a session. The scripts reach
keys they derive from members, so a Redis Cluster deployment needs hash tags first.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import quote, unquote

import redis
import redis.asyncio as aioredis

from sessions_app.schemas import SessionKey

DOC_PREFIX = "working_memory:"
ALL_SESSIONS = "working_memory_sessions"
NAMESPACE_SESSIONS_PREFIX = "working_memory_sessions:"
EXPIRIES = "working_memory_expiries"
EXTRACTION_PREFIX = "working_memory_extraction:"
SUMMARY_WAIT_PREFIX = "working_memory_summary_wait:"
# A claim outlives every retry of its job (3 retries over ~2.5 min, each up to the job timeout).
CLAIM_LEASE_SECONDS = 3600

# Lua shared by the write scripts. KEYS: document, namespace listing, all sessions, expiries,
# user listing.
_SHARED_LUA = """
local function current_version(key)
  local raw = redis.call('JSON.GET', key, '$.version')
  if not raw then return nil end
  return cjson.decode(raw)[1] or 0  -- documents written before versions existed are version 0
end
local function set_ttl(keys, ttl, now, member)
  if ttl and ttl > 0 then
    redis.call('EXPIRE', keys[1], ttl)
    redis.call('ZADD', keys[4], tonumber(now) + ttl, member)
  else
    redis.call('PERSIST', keys[1])
    redis.call('ZREM', keys[4], member)
  end
end
local function index_session(keys, now, member)
  redis.call('ZADD', keys[2], now, member)
  redis.call('ZADD', keys[3], now, member)
  if keys[5] ~= keys[2] then redis.call('ZADD', keys[5], now, member) end
end
"""

# Appends messages in one step, creating the session (ARGV[1]) when there is none. A message
# whose id the session already holds is skipped, so a client may safely retry an append.
# ARGV: new document, now, member, max messages, ttl ('' keeps the session's own), then
# (id, message JSON, tokens) per message. Returns {'ok', added, version, document} or
# {'full', messages held}.
_APPEND_SCRIPT = _SHARED_LUA + """
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
  if added > 0 then
    redis.call('JSON.ARRAPPEND', KEYS[1], '$.messages', unpack(fresh))
    redis.call('JSON.NUMINCRBY', KEYS[1], '$.tokens', tokens)
    redis.call('JSON.SET', KEYS[1], '$.updated_at', ARGV[2])
    version = version + 1
    redis.call('JSON.SET', KEYS[1], '$.version', version)
  end
  if ttl then
    redis.call('JSON.SET', KEYS[1], '$.ttl_seconds', ttl > 0 and ttl or 'null')
  else
    ttl = cjson.decode(redis.call('JSON.GET', KEYS[1], '$.ttl_seconds'))[1]
    if ttl == cjson.null then ttl = nil end
  end
end
set_ttl(KEYS, ttl, ARGV[2], ARGV[3])
index_session(KEYS, ARGV[2], ARGV[3])
return {'ok', added, version, redis.call('JSON.GET', KEYS[1])}
"""

# Replaces a session whole, keeping what the server computed about it: `created_at`, which
# messages were already extracted and which memories were already promoted (same id, same
# text), so a client need not send those flags back. Returns
# {created_at or false, extracted message ids, {memory id, persisted_at}..., pending counts}.
_PUT_SCRIPT = _SHARED_LUA + """
local function decoded(path)
  local raw = redis.call('JSON.GET', KEYS[1], path)
  if raw then return cjson.decode(raw) end
  return {}
end
local version = current_version(KEYS[1])
if ARGV[5] ~= '' and (version == nil or (ARGV[5] ~= '*' and tonumber(ARGV[5]) ~= version)) then
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
for i, message in ipairs(decoded('$.messages')[1] or {}) do
  if message.discrete_memory_extracted ~= 't' then
    if extracted[message.id] then
      redis.call('JSON.SET', KEYS[1], '$.messages[' .. (i - 1) .. '].discrete_memory_extracted', '"t"')
      table.insert(kept_extracted, message.id)
    elseif message.role ~= 'system' then
      unextracted = unextracted + 1
    end
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


# Folds summarised messages into the context, unless the context changed since the snapshot
# (a client replaced it): then nothing changes and the caller reports the conflict.
_APPLY_SUMMARY_SCRIPT = _SHARED_LUA + """
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


def _session_keys(key: SessionKey) -> list[str]:
    """The keys a write script touches, in the order of _SHARED_LUA's KEYS."""
    return [
        doc_key(key),
        _index_key(key.namespace),
        ALL_SESSIONS,
        EXPIRIES,
        _index_key(key.namespace, key.user_id),
    ]


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

    async def write(
        self, key: SessionKey, document: bytes, now: float, ttl: int | None, if_match: str = ""
    ) -> WriteOutcome | StaleVersion:
        """Replace the session atomically, keeping the server's own fields (see _PUT_SCRIPT).

        `if_match` is a version number, "*" (any existing session) or "" (unconditional).
        """
        args: list[bytes | str | int] = [document, repr(now), ttl or 0, member_of(key), if_match]
        reply = await self.client.register_script(_PUT_SCRIPT)(keys=_session_keys(key), args=args)
        if reply[0] == b"stale":
            return StaleVersion(int(reply[1]))
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
        reply = await self.client.register_script(_APPEND_SCRIPT)(keys=_session_keys(key), args=args)
        if reply[0] == b"full":
            return SessionFull(int(reply[1]))
        return AppendOutcome(added=int(reply[1]), version=int(reply[2]), document=reply[3])

    async def delete(self, key: SessionKey) -> bool:
        member = member_of(key)
        async with self.client.pipeline(transaction=True) as pipe:
            pipe.delete(doc_key(key), EXTRACTION_PREFIX + member, SUMMARY_WAIT_PREFIX + member)
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
        claims = EXTRACTION_PREFIX + member_of(key)
        script = self.client.register_script(_CLAIM_SCRIPT)
        args: list[str | int] = [job_id, repr(time.time()), CLAIM_LEASE_SECONDS, *message_ids]
        claimed = script(keys=[claims, doc_key(key)], args=args)
        return [item.decode() if isinstance(item, bytes) else item for item in claimed]

    def finish_extraction(self, key: SessionKey, message_ids: list[str]) -> None:
        """Mark messages extracted for good (in the claims, which live as long as the session)."""
        if message_ids and self.client.exists(doc_key(key)):
            self.client.hset(EXTRACTION_PREFIX + member_of(key), mapping=dict.fromkeys(message_ids, "done"))

    def await_extraction(self, key: SessionKey, window: Mapping[str, object]) -> None:
        """Note a summary that waits for extraction, with its window (kept as long as a claim)."""
        self.client.set(SUMMARY_WAIT_PREFIX + member_of(key), json.dumps(window), ex=CLAIM_LEASE_SECONDS)

    def take_summary_wait(self, key: SessionKey) -> dict[str, object] | None:
        """The window of a summary that waited for extraction, removed; None if none waits."""
        raw = self.client.getdel(SUMMARY_WAIT_PREFIX + member_of(key))
        return None if raw is None else dict(json.loads(raw))
