"""Every Redis key and command of long-term memory.

Layout (`{<ns>}` is the namespace's hash tag, `<...>` a percent-encoded part: never ':')
- `memory:{<ns>}:<id>`           JSON `{"record": {...}, "embedding": [...]}` of a memory without a
                                 user, indexed by `memory_idx` and `memory_idx:ns:<ns>`
- `memory:{<ns>}:~<user>:<id>`   the same for a user's memory: ids are per owner, so users of one
                                 namespace never collide, and no answer can tell that another
                                 user holds an id
- `memory_hash:{<ns>}:<hash>`    key of the memory holding that text for that owner (dedup)
- `memory_session_seq:{<ns>}:[~<user>:]<session>`  the last `session_seq` given in that session
- `memory_access:{<ns>}:…`       beside each document: hash `n` (search hits) and `t` (last hit),
                                 not indexed
- `memory_idx:meta`              which embedding model built the index (see repositories/index.py)
- `memory_migrations:version`    the last data migration applied (longterm_app.maintenance)
- `memory_layout`                "2" once the keys of an older server moved to the hash tags

Writes that belong together run as Lua scripts: a memory and its dedup entry change at
once, and two identical memories written at the same moment are stored once.

Sharded Redis (Redis Software/Cloud): through the hash tag (`repositories.index.namespace_tag`) all keys
of a namespace share one hash slot. Each script call, transaction and multi-key read covers
one namespace: a script declares that namespace's document keys (a `#!lua` script may then
reach only keys of the same slot), and work spanning namespaces runs one call per namespace,
in one round trip. tests/cluster/test_hash_slots.py watches every command on the server
while each write runs, and fails on any that crosses a slot.

Access statistics live beside the document because any write to an indexed JSON document
re-indexes all of it: counting every search hit inside the document cost a full re-index
per hit. Readers add the side counts to the record (`with_access`); the indexed
`last_accessed` (for filters) is refreshed at most once per `ACCESS_INDEX_INTERVAL`.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import quote, unquote

import numpy as np
import orjson
import redis
import redis.asyncio as aioredis
from django.conf import settings
from redis.exceptions import NoScriptError, ResponseError, WatchError

from longterm_app.index import IndexRebuilding
from longterm_app.queries import escape_tag
from longterm_app.records import AccessStats, MemoryRecord
from longterm_app.repositories.index import (
    INDEX_NAME,
    KEY_PREFIX,
    META_KEY,
    marker_field,
    missing_index,
    namespace_index,
    namespace_prefix,
    namespace_tag,
    rebuild_progress,
    scanning,
    tag_namespace,
)
from memoryserver.redis import get_async_redis, move_to_hash_tags, text

T = TypeVar("T")
HASH_PREFIX = "memory_hash:"
SEQ_PREFIX = "memory_session_seq:"
ACCESS_PREFIX = "memory_access:"
MAX_COUNTED_TOPICS = 1_000
TAG_WRITE_BATCH = 500
# RediSearch may also rescan an index by itself, with no marker of ours: after Redis loaded
# its data on a restart. So a search verifies its index (FT.INFO, in the search's own round
# trip) the first time this process searches it, and again once Redis restarted. A restart
# shows as a new run_id, which a search asks (INFO) at most once every
# SEARCH_INDEX_CHECK_SECONDS per process, whatever the number of indexes: FT.INFO costs Redis
# about 1.3 ms at 10,000 memories, and every tenant has an index. Where INFO names no run_id
# (a proxy), every index is verified again each interval, as if Redis had restarted. (The
# other scans are marked, as at index creation, or only add a field to memories already
# indexed: FT.ALTER at an upgrade.)
_verified: set[str] = set()  # the indexes this process has seen complete since Redis started


class _ServerRun:
    """The long-term Redis's run_id as last seen by this process, and when it was asked."""

    def __init__(self) -> None:
        self.run_id: str | None = None
        self.asked = -math.inf

    def due(self, every: float) -> bool:
        """Whether a search should ask now (claimed, so the searches beside it do not)."""
        now = time.monotonic()
        if now - self.asked < every:
            return False
        self.asked = now
        return True

    def changed(self, info: Any) -> bool:
        """Takes INFO's answer (or its error): whether Redis restarted since the last answer,
        or cannot tell."""
        run_id = info.get("run_id") if isinstance(info, dict) else None
        before, self.run_id = self.run_id, None if run_id is None else str(run_id)
        return self.run_id is None or (before is not None and before != self.run_id)

    def ask_again(self) -> None:
        """The question did not reach Redis: the next search asks it."""
        self.asked = -math.inf


_server_run = _ServerRun()
# The indexed `last_accessed` may lag the true last access by at most this many seconds.
ACCESS_INDEX_INTERVAL = 3600.0

# A memory keeps its place in its session (session_seq) and its created_at across rewrites;
# a new one takes the session's next number. The record JSON holds `"session_seq":null` exactly once, as a
# key: inside a string value its quotes would be escaped.
_UPSERT_SCRIPT = """#!lua
local merged = {}
for i = 1, #ARGV, 7 do
  local key, id, hash_key, hash, doc = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4]
  local access_key, seq_key = ARGV[i + 5], ARGV[i + 6]
  local owner = redis.call('GET', hash_key)
  if owner and owner ~= key and redis.call('EXISTS', owner) == 1 then
    table.insert(merged, id)
    table.insert(merged, cjson.decode(redis.call('JSON.GET', owner, '$.record.id'))[1])
  else
    local old = redis.call('JSON.GET', key, '$.record.memory_hash')
    if old then
      local old_hash = cjson.decode(old)[1]
      if type(old_hash) == 'string' and old_hash ~= hash then
        local old_key = string.sub(hash_key, 1, #hash_key - #hash) .. old_hash
        if redis.call('GET', old_key) == key then redis.call('DEL', old_key) end
      end
    end
    if seq_key ~= '' then
      local seq = cjson.decode(redis.call('JSON.GET', key, '$.record.session_seq') or '[]')[1]
      if type(seq) ~= 'number' then seq = redis.call('INCR', seq_key) end
      doc = string.gsub(doc, '"session_seq":null', '"session_seq":' .. string.format('%d', seq), 1)
    end
    local created = redis.call('JSON.GET', key, '$.record.created_at')
    if created then  -- an upsert keeps the memory's creation time
      local value = string.match(created, '^%[([-%d.eE+]+)%]$')
      if value then doc = string.gsub(doc, '"created_at":[-%d.eE+]+', '"created_at":' .. value, 1) end
    end
    redis.call('JSON.SET', key, '$', doc)
    redis.call('SET', hash_key, key)
    redis.call('DEL', access_key)
  end
end
return merged
"""

_DELETE_SCRIPT = """#!lua
local deleted = {}
for i = 1, #ARGV, 3 do
  local key, hash_prefix, access_key = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  local old = redis.call('JSON.GET', key, '$.record.memory_hash')
  if old then
    local hash = cjson.decode(old)[1]
    if type(hash) == 'string' and redis.call('GET', hash_prefix .. hash) == key then
      redis.call('DEL', hash_prefix .. hash)
    end
    redis.call('DEL', key, access_key)
    table.insert(deleted, key)
  end
end
return deleted
"""

# Gives a memory another owner, which moves it to that owner's key: refused when the
# new key is taken or the text duplicates one of the new owner's memories.
_MOVE_SCRIPT = """#!lua
local old_key, old_access, hash_prefix = ARGV[1], ARGV[2], ARGV[3]
local key, hash_key, doc = ARGV[4], ARGV[5], ARGV[6]
local old = redis.call('JSON.GET', old_key, '$.record.memory_hash')
if not old then return {'!gone'} end
if redis.call('EXISTS', key) == 1 then return {'!taken'} end
local owner = redis.call('GET', hash_key)
if owner and owner ~= old_key and redis.call('EXISTS', owner) == 1 then
  return {'!duplicate', cjson.decode(redis.call('JSON.GET', owner, '$.record.id'))[1]}
end
local old_hash = cjson.decode(old)[1]
if type(old_hash) == 'string' and redis.call('GET', hash_prefix .. old_hash) == old_key then
  redis.call('DEL', hash_prefix .. old_hash)
end
redis.call('DEL', old_key, old_access)
redis.call('JSON.SET', key, '$', doc)
redis.call('SET', hash_key, key)
return {}
"""

_TOUCH_SCRIPT = """#!lua
local now, interval = tonumber(ARGV[1]), tonumber(ARGV[2])
for i = 1, #KEYS, 2 do
  local key, access_key = KEYS[i], KEYS[i + 1]
  local indexed = redis.call('JSON.GET', key, '$.record.last_accessed')
  if indexed then
    redis.call('HINCRBY', access_key, 'n', 1)
    redis.call('HSET', access_key, 't', ARGV[1])
    local last = cjson.decode(indexed)[1]
    if type(last) ~= 'number' or now - last >= interval then
      redis.call('JSON.SET', key, '$.record.last_accessed', ARGV[1])
    end
  end
end
return #KEYS
"""

# The access statistics (count, last time) of several memories: one command, where a
# pipeline of one HMGET per memory costs the client several times more.
_ACCESS_SCRIPT = """#!lua flags=no-writes
local stats = {}
for i = 1, #KEYS do
  stats[i] = redis.call('HMGET', KEYS[i], 'n', 't')
end
return stats
"""
_ACCESS_SHA = hashlib.sha1(_ACCESS_SCRIPT.encode()).hexdigest()

# Fills empty topics/entities of memories whose text did not change since they were read.
_TAGS_SCRIPT = """#!lua
local done = 0
for i = 1, #ARGV, 4 do
  local key, hash = ARGV[i], ARGV[i + 1]
  local current = redis.call('JSON.GET', key, '$.record.memory_hash')
  if current and cjson.decode(current)[1] == hash then
    if ARGV[i + 2] ~= '[]' and redis.call('JSON.ARRLEN', key, '$.record.topics')[1] == 0 then
      redis.call('JSON.SET', key, '$.record.topics', ARGV[i + 2])
    end
    if ARGV[i + 3] ~= '[]' and redis.call('JSON.ARRLEN', key, '$.record.entities')[1] == 0 then
      redis.call('JSON.SET', key, '$.record.entities', ARGV[i + 3])
    end
    done = done + 1
  end
end
return done
"""


def _part(value: str) -> str:
    return quote(value, safe="")


def doc_key(namespace: str, memory_id: str, user_id: str | None = None) -> str:
    """The key of a memory: its id is unique per namespace and owner (user, or none)."""
    if user_id:
        return f"{namespace_prefix(namespace)}~{_part(user_id)}:{_part(memory_id)}"
    return f"{namespace_prefix(namespace)}{_part(memory_id)}"


def record_key(record: MemoryRecord) -> str:
    """The key a record is stored under."""
    return doc_key(record.namespace or "", record.id, record.user_id)


def id_of(key: str) -> str:
    """The memory id in a document key (quoted parts never contain ':')."""
    return unquote(key.rsplit(":", 1)[-1])


def namespace_of(key: str) -> str:
    """The namespace in a document key."""
    return tag_namespace(key[len(KEY_PREFIX) :].split(":", 1)[0])


def user_of(key: str) -> str | None:
    """The owner in a document key; None for a memory without a user."""
    parts = key[len(KEY_PREFIX) :].split(":")
    return unquote(parts[1][1:]) if len(parts) == 3 else None


def access_key(key: str) -> str:
    """The access statistics key of the memory stored under document key `key`."""
    return ACCESS_PREFIX + key[len(KEY_PREFIX) :]


def _per_namespace(items: Iterable[T], key: Callable[[T], str]) -> list[list[T]]:
    """The items grouped by the namespace (the hash slot) of their document key, in order."""
    groups: dict[str, list[T]] = {}
    for item in items:
        groups.setdefault(key(item)[len(KEY_PREFIX) :].split(":", 1)[0], []).append(item)
    return list(groups.values())


def queue_json_mget(pipe: Any, keys: Sequence[str], path: str) -> list[list[int]]:
    """Queue on `pipe` one JSON.MGET of `path` per namespace of `keys` (a multi-key command
    stays in one hash slot); returns the groups of positions, for `in_key_order`."""
    groups = _per_namespace(range(len(keys)), keys.__getitem__)
    for group in groups:
        pipe.execute_command("JSON.MGET", *(keys[i] for i in group), path)
    return groups


def in_key_order(groups: list[list[int]], replies: Sequence[Any]) -> list[Any]:
    """The replies of calls grouped by `_per_namespace` (such as `queue_json_mget`), one value
    per key, in the order of its keys."""
    values: list[Any] = [None] * sum(len(group) for group in groups)
    for group, reply in zip(groups, replies, strict=True):
        for position, value in zip(group, reply, strict=True):
            values[position] = value
    return values


def _hash_prefix(namespace: str) -> str:
    return f"{HASH_PREFIX}{namespace_tag(namespace)}:"


def document(record: MemoryRecord, vector: np.ndarray) -> bytes:
    """The stored JSON: the record as the API shows it, plus its vector."""
    return b'{"record":%s,"embedding":%s}' % (
        record.model_dump_json().encode(),
        orjson.dumps(vector, option=orjson.OPT_SERIALIZE_NUMPY),
    )


class OwnerTaken(Exception):
    """A memory could not move to another owner: `duplicate_of` names the new owner's
    memory with the same text, or is None when the new owner already uses the id."""

    def __init__(self, duplicate_of: str | None) -> None:
        super().__init__(duplicate_of or "id taken")
        self.duplicate_of = duplicate_of


def _record_keys(items: Sequence[tuple[MemoryRecord, np.ndarray]]) -> list[str]:
    return [record_key(record) for record, _ in items]


def _upsert_args(items: Sequence[tuple[MemoryRecord, np.ndarray]]) -> list[Any]:
    args: list[Any] = []
    for record, vector in items:
        namespace = record.namespace or ""
        hash_value = record.memory_hash or ""
        key = record_key(record)
        args += [
            key,
            record.id,
            _hash_prefix(namespace) + hash_value,
            hash_value,
            document(record.model_copy(update={"session_seq": None}), vector),
            access_key(key),
            session_seq_key(record),
        ]
    return args


def session_seq_key(record: MemoryRecord) -> str:
    """The counter of the memories of the record's session (and owner); "" without a session."""
    if record.session_id is None:
        return ""
    owner = f"~{_part(record.user_id)}:" if record.user_id else ""
    return f"{SEQ_PREFIX}{namespace_tag(record.namespace or '')}:{owner}{_part(record.session_id)}"


@dataclass(frozen=True)
class Hit:
    key: str
    record: bytes
    dist: float | None
    score: float | None


@dataclass(frozen=True)
class Page:
    total: int
    hits: list[Hit]


class MissingIndex(Exception):
    """A search index is gone (e.g. Redis was flushed); the caller recreates it. Its one
    argument is the index's name."""

    @property
    def index(self) -> str:
        return str(self.args[0]) if self.args else INDEX_NAME


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


def _answered(reply: Any, index: str) -> Any:
    """A pipelined reply, or the error Redis answered instead raised (MissingIndex for an index
    that does not exist)."""
    if isinstance(reply, ResponseError):
        if missing_index(reply):
            raise MissingIndex(index) from None
        raise reply
    return reply


def _page(reply: dict[Any, Any]) -> Page:
    hits = []
    for item in reply[b"results"]:
        attributes = item[b"extra_attributes"]
        hits.append(
            Hit(
                key=item[b"id"].decode(),
                record=attributes[b"record"],
                dist=_float(attributes.get(b"dist")),
                score=_float(item.get(b"score")),
            )
        )
    return Page(int(reply[b"total_results"]), hits)


@dataclass(frozen=True)
class SearchCall:
    """One FT.SEARCH: a query string plus how to order, page and score it."""

    query: str
    offset: int = 0
    limit: int = 10
    vector: bytes | None = None
    radius: float | None = None
    sort_by: tuple[str, str] | None = None
    keyword_scores: bool = False
    index: str = INDEX_NAME

    def args(self) -> list[Any]:
        args: list[Any] = [
            "FT.SEARCH",
            self.index,
            self.query,
            "RETURN",
            4,
            "$.record",
            "AS",
            "record",
            "dist",
        ]
        if self.keyword_scores:
            args += ["WITHSCORES", "SCORER", "BM25STD"]
        if self.sort_by is not None:
            args += ["SORTBY", *self.sort_by]
        args += ["LIMIT", self.offset, self.limit]
        params: list[Any] = []
        if self.vector is not None:
            params += ["vector", self.vector]
        if self.radius is not None:
            params += ["radius", self.radius]
        if params:
            args += ["PARAMS", len(params), *params]
        return [*args, "DIALECT", 2]


class MemoryStore:
    """Async access for the request path."""

    def __init__(self, client: aioredis.Redis) -> None:
        self.client = client

    key = staticmethod(doc_key)

    async def upsert(self, items: Sequence[tuple[MemoryRecord, np.ndarray]]) -> dict[str, str]:
        """Write records with their vectors; return {sent id: existing id} for exact duplicates.
        One script call per namespace, all in one round trip."""
        script = self.client.register_script(_UPSERT_SCRIPT)
        async with self.client.pipeline(transaction=False) as pipe:
            for group in _per_namespace(items, lambda item: record_key(item[0])):
                await script(keys=_record_keys(group), args=_upsert_args(group), client=pipe)
            replies = await pipe.execute()
        pairs = [value.decode() for reply in replies for value in reply]
        return {pairs[i]: pairs[i + 1] for i in range(0, len(pairs), 2)}

    async def move(self, old_key: str, record: MemoryRecord, vector: np.ndarray) -> bool:
        """Store `record` (with a new owner) in place of the memory at `old_key`, atomically.

        False if that memory is gone; OwnerTaken if the new owner holds the id or the text.
        """
        key = record_key(record)
        hash_prefix = _hash_prefix(record.namespace or "")
        args: list[Any] = [old_key, access_key(old_key), hash_prefix, key]
        args += [hash_prefix + (record.memory_hash or ""), document(record, vector)]
        replies = await self.client.register_script(_MOVE_SCRIPT)(keys=[old_key, key], args=args)
        reply = [value.decode() for value in replies]
        if reply and reply[0] == "!taken":
            raise OwnerTaken(None)
        if reply and reply[0] == "!duplicate":
            raise OwnerTaken(reply[1])
        return not reply

    async def get_keys(self, keys: Sequence[str]) -> list[bytes | None]:
        """The record JSON stored under each key (None where there is none)."""
        if not keys:
            return []
        async with self.client.pipeline(transaction=False) as pipe:
            groups = queue_json_mget(pipe, keys, "$.record")
            replies = in_key_order(groups, await pipe.execute())
        return [None if reply is None else reply[1:-1] for reply in replies]

    async def get_many(
        self, namespace: str, memory_ids: Sequence[str], user_id: str | None = None
    ) -> list[bytes | None]:
        return await self.get_keys([doc_key(namespace, memory_id, user_id) for memory_id in memory_ids])

    async def get(self, namespace: str, memory_id: str, user_id: str | None = None) -> bytes | None:
        return (await self.get_many(namespace, [memory_id], user_id))[0]

    async def delete_keys(self, keys: Sequence[str]) -> list[str]:
        """Delete memories by key with their dedup entries; return the keys that existed."""
        if not keys:
            return []
        script = self.client.register_script(_DELETE_SCRIPT)
        async with self.client.pipeline(transaction=False) as pipe:
            for group in _per_namespace(keys, str):
                await script(keys=group, args=self._delete_args(group), client=pipe)
            replies = await pipe.execute()
        return [key.decode() for reply in replies for key in reply]

    def _delete_args(self, keys: Sequence[str]) -> list[Any]:
        args: list[Any] = []
        for key in keys:
            quoted_namespace = key[len(KEY_PREFIX) :].split(":", 1)[0]
            args += [key, f"{HASH_PREFIX}{quoted_namespace}:", access_key(key)]
        return args

    async def replace(
        self,
        remove_keys: Sequence[str],
        items: Sequence[tuple[MemoryRecord, np.ndarray]],
        expected_hashes: Mapping[str, str | None],
    ) -> bool:
        """Delete some memories and write others in one transaction, only if every memory of
        `expected_hashes` still has that content (optimistic, with WATCH). False if one changed."""
        async with self.client.pipeline(transaction=True) as pipe:
            keys = list(expected_hashes)
            await pipe.watch(*keys)
            replies: list[Any] = await pipe.execute_command(  # type: ignore[assignment]  # immediate after WATCH
                "JSON.MGET", *keys, "$.record.memory_hash"
            )
            current = [None if raw is None else orjson.loads(raw)[0] for raw in replies]
            if current != list(expected_hashes.values()):
                await pipe.reset()
                return False
            pipe.multi()
            if remove_keys:
                await self.client.register_script(_DELETE_SCRIPT)(
                    keys=list(remove_keys), args=self._delete_args(remove_keys), client=pipe
                )
            if items:
                await self.client.register_script(_UPSERT_SCRIPT)(
                    keys=_record_keys(items), args=_upsert_args(items), client=pipe
                )
            try:
                await pipe.execute()
            except WatchError:
                return False
        return True

    async def records(
        self, query: str, offset: int, limit: int, newest_first: bool = False
    ) -> list[tuple[str, bytes]]:
        """(key, record JSON) of a filter's matches, oldest first (or newest first)."""
        order = "DESC" if newest_first else "ASC"
        (page,) = await self.search(
            [SearchCall(query, offset=offset, limit=limit, sort_by=("created_at", order))]
        )
        return [(hit.key, hit.record) for hit in page.hits]

    async def neighbours(
        self, query: str, vectors: Sequence[np.ndarray], radius: float, limit: int
    ) -> list[list[Hit]]:
        """For each vector, the memories matching `query` within `radius`, nearest first (one round trip)."""
        vector_range = "@embedding:[VECTOR_RANGE $radius $vector]=>{$YIELD_DISTANCE_AS: dist}"
        full = vector_range if query == "*" else f"({vector_range}) {query}"
        calls = [
            SearchCall(
                full,
                limit=limit,
                vector=v.astype(np.float32).tobytes(),
                radius=radius,
                sort_by=("dist", "ASC"),
            )
            for v in vectors
        ]
        return [page.hits for page in await self.search(calls)] if calls else []

    async def delete(
        self, namespace: str, memory_ids: Iterable[str], user_id: str | None = None
    ) -> list[str]:
        return await self.delete_keys([doc_key(namespace, memory_id, user_id) for memory_id in memory_ids])

    async def fill_tags(self, tags: Sequence[tuple[MemoryRecord, list[str], list[str]]]) -> int:
        """Set topics and entities that are still empty, on memories whose text is unchanged; at
        most TAG_WRITE_BATCH memories per script call, since each write re-indexes a memory and
        a script holds Redis until it ends (a topic fit tags up to 20,000 at once)."""
        script, updated = self.client.register_script(_TAGS_SCRIPT), 0
        for group in _per_namespace(tags, lambda tag: record_key(tag[0])):
            for start in range(0, len(group), TAG_WRITE_BATCH):
                keys: list[str] = []
                args: list[Any] = []
                for record, topics, entities in group[start : start + TAG_WRITE_BATCH]:
                    keys.append(record_key(record))
                    args += [keys[-1], record.memory_hash or "", orjson.dumps(topics), orjson.dumps(entities)]
                updated += int(await script(keys=keys, args=args))
        return updated

    async def touch(self, keys: Sequence[str], now: float) -> None:
        """Count search hits and note their access time: one script call per namespace, in
        one round trip."""
        if not keys:
            return
        script = self.client.register_script(_TOUCH_SCRIPT)
        async with self.client.pipeline(transaction=False) as pipe:
            for group in _per_namespace(keys, str):
                script_keys = [k for key in group for k in (key, access_key(key))]
                await script(keys=script_keys, args=[repr(now), repr(ACCESS_INDEX_INTERVAL)], client=pipe)
            await pipe.execute()

    async def access_stats(self, keys: Sequence[str]) -> dict[str, AccessStats]:
        """Search hits and last hit time of these memories (those ever hit), in one round trip."""
        return (await self.access_and_vectors(keys, []))[0]

    async def access_and_vectors(
        self, access_keys: Sequence[str], vector_keys: Sequence[str]
    ) -> tuple[dict[str, AccessStats], dict[str, np.ndarray]]:
        """The access statistics of some memories (those ever hit) and the stored vectors of
        others (those that still exist), in one round trip."""
        if not access_keys and not vector_keys:
            return {}, {}
        access_groups = _per_namespace(range(len(access_keys)), access_keys.__getitem__)
        for attempt in (1, 2):
            # The script by its SHA in the same round trip (a pipeline given the script itself
            # would first ask SCRIPT EXISTS, a round trip of its own). These are reads: when
            # Redis lost its scripts (restart, flush), load it and ask again.
            async with self.client.pipeline(transaction=False) as pipe:
                for group in access_groups:
                    pipe.evalsha(_ACCESS_SHA, len(group), *(access_key(access_keys[i]) for i in group))
                vector_groups = queue_json_mget(pipe, vector_keys, "$.embedding")
                try:
                    replies = await pipe.execute()
                    break
                except NoScriptError:
                    if attempt == 2:
                        raise
            await self.client.script_load(_ACCESS_SCRIPT)
        counted = in_key_order(access_groups, replies[: len(access_groups)])
        embeddings = in_key_order(vector_groups, replies[len(access_groups) :])
        stats = {
            key: AccessStats(int(count), float(last))
            for key, (count, last) in zip(access_keys, counted, strict=True)
            if count is not None and last is not None
        }
        vectors = {
            key: np.asarray(orjson.loads(reply)[0], dtype=np.float32)
            for key, reply in zip(vector_keys, embeddings, strict=True)
            if reply is not None
        }
        return stats, vectors

    async def vectors(self, keys: Sequence[str]) -> dict[str, np.ndarray]:
        """The stored vectors of these memories (those that still exist)."""
        return (await self.access_and_vectors([], keys))[1]

    async def with_access(self, keys: Sequence[str], records: Sequence[MemoryRecord]) -> list[MemoryRecord]:
        """The records with their side access statistics added."""
        stats = await self.access_stats(keys)
        return [
            stats[key].applied(record) if key in stats else record
            for key, record in zip(keys, records, strict=True)
        ]

    async def search(self, calls: Sequence[SearchCall]) -> list[Page]:
        """Run several FT.SEARCH calls (all on one index) in one round trip."""
        index = calls[0].index if calls else INDEX_NAME
        commands = [call.args() for call in calls]
        return [_page(reply) for reply in await self._complete_search(commands, index)]

    async def _complete_search(self, commands: Sequence[Sequence[Any]], index: str = INDEX_NAME) -> list[Any]:
        """Replies of search commands, refused (IndexRebuilding) while they could be partial.

        The index's `rebuilding` marker is read in the same round trip, so a search of a
        complete index costs one small HGET and no FT.INFO (see longterm_app.index).
        """
        marker, replies = await self._search_round_trip(commands, index)
        if marker is None:
            return replies
        progress = await rebuild_progress(self.client, marker, index)
        if progress is None:
            raise MissingIndex(index)
        if progress < 1:
            raise IndexRebuilding(progress)
        return (await self._search_round_trip(commands, index))[1]  # the scan just ended: ask again

    async def _search_round_trip(
        self, commands: Sequence[Sequence[Any]], index: str
    ) -> tuple[Any, list[Any]]:
        verify = index not in _verified
        ask_run = _server_run.due(float(settings.SEARCH_INDEX_CHECK_SECONDS))
        checks = [("INFO", "server")] if ask_run else []
        checks += [("FT.INFO", index)] if verify else []
        try:
            answers = await self._pipelined([*checks, ("HGET", META_KEY, marker_field(index)), *commands])
        except BaseException:
            if ask_run:
                _server_run.ask_again()
            raise
        restarted = ask_run and _server_run.changed(answers.pop(0))
        if restarted:
            _verified.clear()
        ft_info = answers.pop(0) if verify else None
        if restarted and ft_info is None:  # one more round trip, once per restart
            (ft_info,) = await self._pipelined([("FT.INFO", index)])
        marker, *replies = (_answered(answer, index) for answer in answers)
        if ft_info is not None:
            progress = scanning(_answered(ft_info, index))
            if progress is not None:
                raise IndexRebuilding(progress)
            _verified.add(index)
        return marker, replies

    async def _pipelined(self, commands: Sequence[Sequence[Any]]) -> list[Any]:
        """The commands' replies in one round trip, a refused command's error in its place."""
        async with self.client.pipeline(transaction=False) as pipe:
            for command in commands:
                pipe.execute_command(*command)
            return list(await pipe.execute(raise_on_error=False))

    async def records_and_vectors(self, keys: Sequence[str]) -> list[tuple[str, MemoryRecord, np.ndarray]]:
        """The memories under these keys with their stored vectors (those that still exist)."""
        found = []
        for start in range(0, len(keys), 500):
            chunk = list(keys[start : start + 500])
            async with self.client.pipeline(transaction=False) as pipe:
                groups = queue_json_mget(pipe, chunk, "$")
                replies = in_key_order(groups, await pipe.execute())
            for key, raw in zip(chunk, replies, strict=True):
                if raw is not None:
                    (document,) = orjson.loads(raw)
                    record = MemoryRecord.model_validate(document["record"])
                    found.append((key, record, np.asarray(document["embedding"], dtype=np.float32)))
        return found

    async def count(self, query: str) -> int:
        return (await self.search([SearchCall(query, limit=0)]))[0].total

    async def keys_matching(self, query: str, batch: int = 500) -> list[str]:
        """Keys of the first `batch` memories matching a filter query."""
        # Through _complete_search: a partial index would make deletes miss memories.
        (reply,) = await self._complete_search(
            [("FT.SEARCH", INDEX_NAME, query, "NOCONTENT", "LIMIT", 0, batch, "DIALECT", 2)]
        )
        return [item[b"id"].decode() for item in reply[b"results"]]

    async def topic_counts(self, namespace: str, limit: int) -> list[tuple[str, int]]:
        """The namespace's topics (lower case, as the index keeps them) with how many memories
        carry each, most common first; empty when the namespace has no memories yet. At most
        MAX_COUNTED_TOPICS topics are counted, in two round trips."""
        index = namespace_index(namespace)
        try:
            values = await self.client.execute_command("FT.TAGVALS", index, "topics")
        except ResponseError as error:
            if missing_index(error):
                return []
            raise
        topics = sorted(text(value) for value in values)[:MAX_COUNTED_TOPICS]
        calls = [SearchCall(f"@topics:{{{escape_tag(topic)}}}", limit=0, index=index) for topic in topics]
        counts = zip(topics, (page.total for page in await self.search(calls)), strict=True) if calls else []
        return sorted(counts, key=lambda pair: (-pair[1], pair[0]))[:limit]

    async def count_by_namespace(self) -> dict[str, int]:
        """Indexed memories per namespace."""
        group = ("GROUPBY", 1, "@namespace", "REDUCE", "COUNT", 0, "AS", "n", "LIMIT", 0, 100_000)
        reply = await self.client.execute_command("FT.AGGREGATE", INDEX_NAME, "*", *group)
        counts: dict[str, int] = {}
        for row in reply[b"results"]:
            attributes = row[b"extra_attributes"]
            namespace = attributes.get(b"namespace")
            counts[namespace.decode() if namespace else ""] = int(attributes[b"n"])
        return dict(sorted(counts.items()))

    async def count_by_namespace_if_indexed(self) -> dict[str, int] | None:
        """Indexed memories per namespace; None while there is no index (yet)."""
        try:
            return await self.count_by_namespace()
        except ResponseError as error:
            if missing_index(error):
                return None
            raise


# Operator tasks (longterm_app.maintenance): synchronous, document by document with SCAN, so
# they never need the index they may be rebuilding.

MIGRATION_VERSION_KEY = "memory_migrations:version"
# Set once the keys were moved to the namespace hash tags (`move_to_namespace_tags`).
LAYOUT_KEY = "memory_layout"
LAYOUT_VERSION = "2"

# Moves one memory to its owner's key with its access statistics and dedup entry, at once;
# a key the owner already uses (written by a newer server before migrating) wins.
_MOVE_TO_OWNER_SCRIPT = """#!lua
local old, new, old_access, new_access, hash_key = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
if redis.call('EXISTS', old) == 0 or redis.call('EXISTS', new) == 1 then return 0 end
redis.call('RENAME', old, new)
if redis.call('EXISTS', old_access) == 1 then redis.call('RENAME', old_access, new_access) end
if redis.call('GET', hash_key) == old then redis.call('SET', hash_key, new) end
return 1
"""


def memory_keys(client: redis.Redis, batch: int) -> Iterator[list[str]]:
    """Batches of memory document keys (dedup entries and metadata excluded)."""
    keys: list[str] = []
    for raw in client.scan_iter(match=f"{KEY_PREFIX}*", count=batch, _type="ReJSON-RL"):
        keys.append(text(raw))
        if len(keys) >= batch:
            yield keys
            keys = []
    if keys:
        yield keys


def stored_records(client: redis.Redis, keys: Sequence[str]) -> list[tuple[str, dict[str, Any]]]:
    """(key, record as stored) of the memories under `keys` that exist."""
    with client.pipeline(transaction=False) as pipe:
        groups = queue_json_mget(pipe, keys, "$.record")
        replies = in_key_order(groups, pipe.execute())
    return [(key, orjson.loads(reply)[0]) for key, reply in zip(keys, replies, strict=True) if reply]


def write_vectors(client: redis.Redis, vectors: Iterable[tuple[str, np.ndarray]]) -> None:
    """Replace the stored vector of each memory, in one round trip."""
    with client.pipeline(transaction=False) as pipe:
        for key, vector in vectors:
            pipe.execute_command(
                "JSON.SET", key, "$.embedding", orjson.dumps(vector, option=orjson.OPT_SERIALIZE_NUMPY)
            )
        pipe.execute()


def write_record_field(client: redis.Redis, key: str, field: str, value: Any) -> None:
    client.execute_command("JSON.SET", key, f"$.record.{field}", orjson.dumps(value))


def claim_dedup_entry(client: redis.Redis, key: str, value: str) -> None:
    """Make the memory at `key` the holder of its text (hash `value`), unless one is already."""
    namespace_part = key[len(KEY_PREFIX) :].split(":", 1)[0]
    client.set(f"{HASH_PREFIX}{namespace_part}:{value}", key, nx=True)


def move_to_owner(client: redis.Redis, key: str, new: str, value: str | None) -> bool:
    """Move the memory at `key` (whose text has the hash `value`) to its owner's key `new`, with
    its access statistics and dedup entry; False if it is gone or `new` is taken."""
    namespace_part = key[len(KEY_PREFIX) :].split(":", 1)[0]
    hash_key = f"{HASH_PREFIX}{namespace_part}:{value or ''}"
    move = client.register_script(_MOVE_TO_OWNER_SCRIPT)
    return bool(move(keys=[key, new], args=[key, new, access_key(key), access_key(new), hash_key]))


def memory_exists(client: redis.Redis, key: str) -> bool:
    return bool(client.exists(key))


def migration_version(client: redis.Redis) -> int:
    return int(client.get(MIGRATION_VERSION_KEY) or 0)


def set_migration_version(client: redis.Redis, version: int) -> None:
    client.set(MIGRATION_VERSION_KEY, version)


def layout_is_current(client: redis.Redis) -> bool:
    return bool(client.get(LAYOUT_KEY) == LAYOUT_VERSION.encode())


def mark_layout_current(client: redis.Redis) -> None:
    client.set(LAYOUT_KEY, LAYOUT_VERSION)


def move_to_namespace_tags(client: redis.Redis) -> int:
    """Keys written before the namespace hash tags (`memory:<ns>:...`) move to
    `memory:{<ns>}:...` with their access statistics, dedup entries (which then name the
    moved keys) and session counters; returns how many moved."""

    def retarget(prefix: str, key: str) -> None:
        """A dedup entry names its memory's key: it moves too."""
        if prefix == HASH_PREFIX and (owner := client.get(key)) is not None:
            held = text(owner)
            client.set(
                key, KEY_PREFIX + _tagged(held[len(KEY_PREFIX) :]) if held.startswith(KEY_PREFIX) else held
            )

    prefixes = (KEY_PREFIX, ACCESS_PREFIX, HASH_PREFIX, SEQ_PREFIX)
    return move_to_hash_tags(client, prefixes, _tagged, retarget)


def _tagged(rest: str) -> str:
    """`<ns>:<rest>` (after a key's prefix) with the namespace part made a hash tag (see
    namespace_tag); unchanged when it is one already."""
    if rest.startswith("{"):
        return rest
    namespace, _, tail = rest.partition(":")
    return f"{{{namespace or '%'}}}:{tail}"


def memory_store() -> MemoryStore:
    """The store on the long-term Redis (this event loop's client): every transport's."""
    return MemoryStore(get_async_redis("long_term"))
