"""The long-term memory index: its redisvl schema, creation at start-up, model checks.

Documents are JSON: `{"record": <MemoryRecord>, "embedding": [floats]}` under
`memory:{namespace}:{id}`, or `memory:{namespace}:~{user}:{id}` for a user's memory (see
repository.py). Searches return only `$.record`, never the vector.
`memory_idx:meta` remembers which embedding model built the index, so a model change
is caught at start-up instead of silently mixing incompatible vectors.

Beside the index of every memory, each namespace has an index of its own memories,
`memory_idx:ns:{namespace}` over the prefix `memory:{namespace}:`. A search confined to one
namespace (every search of a tenant-bound caller) runs there: its keyword statistics (how
rare a word is, how long a memory is) are the tenant's own, so one tenant's ranking never
moves when another writes, and its nearest-neighbour search walks only the tenant's
vectors. The global index serves searches across namespaces and operator listings.

An index created over existing documents (after a FLUSHALL, a new Redis, `rebuild_index`)
is filled by a background scan in RediSearch, and a search meanwhile sees only part of the
memories: a wrong answer, not a degraded one. So whoever creates the index first sets the
`rebuilding` field of `memory_idx:meta`; every search reads that field in its own round
trip (`MemoryStore.search`), and only while it is set asks FT.INFO how far the scan is,
refusing with IndexRebuilding (503) until the scan ends and the field is cleared. The
marker is in Redis, not in the process, because any web process may have recreated it.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, unquote

import redis
import redis.asyncio as aioredis
from redis.commands.search.index_definition import IndexDefinition, IndexType
from redisvl.exceptions import RedisSearchError
from redisvl.index import SearchIndex
from redisvl.schema import IndexSchema

from longterm_app.queries import escape_tag
from memoryserver.errors import BackendUnavailable, Conflict

logger = logging.getLogger(__name__)

INDEX_NAME = "memory_idx"
NAMESPACE_INDEX_PREFIX = "memory_idx:ns:"
KEY_PREFIX = "memory:"
META_KEY = "memory_idx:meta"
# 2: session_seq (numeric) added; an index of version 1 gets it by FT.ALTER at start-up.
SCHEMA_VERSION = 2
REBUILDING = "rebuilding"  # field of META_KEY: set while the index scans existing documents

# Clears the marker only if it is still the one seen, so a rebuild that began meanwhile
# (another FLUSHALL) keeps its own marker.
_CLEAR_MARKER = """
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then redis.call('HDEL', KEYS[1], ARGV[1]) end
return 0
"""

# Tags never contain control characters (memoryserver.fields.Tag), so this separator never
# splits a value; the default "," would split "a,b" in two.
TAG_SEPARATOR = "\x1f"
_CASE_SENSITIVE_TAGS = ("id", "session_id", "user_id", "namespace", "memory_type", "memory_hash")
_CASE_INSENSITIVE_TAGS = ("topics", "entities")
_NUMERIC = ("created_at", "updated_at", "last_accessed", "event_date", "session_seq")


def namespace_index(namespace: str) -> str:
    """The index of one namespace's memories (names percent-encoded, like the keys)."""
    return NAMESPACE_INDEX_PREFIX + quote(namespace, safe="")


def namespace_tag(namespace: str) -> str:
    """The hash tag of a namespace's keys: they share one hash slot of a sharded Redis, so
    every multi-key operation within a namespace stays on one shard. Percent-encoded, so it
    never holds `{`, `}` or `:`; "%" (never an encoding) stands for the empty namespace."""
    return "{" + (quote(namespace, safe="") or "%") + "}"


def tag_namespace(tag: str) -> str:
    """The namespace of a hash tag (the inverse of `namespace_tag`)."""
    inner = tag.removeprefix("{").removesuffix("}")
    return "" if inner == "%" else unquote(inner)


def namespace_prefix(namespace: str) -> str:
    return f"{KEY_PREFIX}{namespace_tag(namespace)}:"


def marker_field(index: str) -> str:
    """The META_KEY field set while `index` scans existing documents."""
    return REBUILDING if index == INDEX_NAME else f"{REBUILDING}:{index}"


def index_schema(dims: int, name: str = INDEX_NAME, prefix: str = KEY_PREFIX) -> IndexSchema:
    fields: list[dict[str, Any]] = [
        {"name": "text", "type": "text", "path": "$.record.text"},
        *(
            {
                "name": name,
                "type": "tag",
                "path": f"$.record.{name}",
                "attrs": {"case_sensitive": True, "separator": TAG_SEPARATOR},
            }
            for name in _CASE_SENSITIVE_TAGS
        ),
        *(
            {
                "name": name,
                "type": "tag",
                "path": f"$.record.{name}[*]",
                "attrs": {"separator": TAG_SEPARATOR},
            }
            for name in _CASE_INSENSITIVE_TAGS
        ),
        *(
            {"name": name, "type": "numeric", "path": f"$.record.{name}", "attrs": {"sortable": True}}
            for name in _NUMERIC
        ),
        {
            "name": "embedding",
            "type": "vector",
            "path": "$.embedding",
            "attrs": {"algorithm": "hnsw", "dims": dims, "distance_metric": "cosine", "datatype": "float32"},
        },
    ]
    return IndexSchema.from_dict(
        {"index": {"name": name, "prefix": prefix, "storage_type": "json"}, "fields": fields}
    )


def _search_index(client: redis.Redis, dims: int) -> SearchIndex:
    return SearchIndex(index_schema(dims), redis_client=client)


def ensure_namespace_index(client: redis.Redis, namespace: str, dims: int) -> bool:
    """Create the namespace's index if it is missing; True if created.

    RediSearch fills a new index by scanning the whole keyspace. A namespace that holds no
    memory yet (the global index says so) needs no scan: its index is created with
    SKIPINITIALSCAN, so a new tenant never waits for a scan of everyone else's keys. One that
    already holds memories (an upgrade, a dropped index) is scanned and marked rebuilding.
    """
    name = namespace_index(namespace)
    schema = index_schema(dims, name, namespace_prefix(namespace))
    if SearchIndex(schema, redis_client=client).exists():
        return False
    empty = _global_count(client, namespace) == 0
    marker = uuid.uuid4().hex
    if not empty:
        client.hset(META_KEY, marker_field(name), marker)
    definition = IndexDefinition(prefix=[namespace_prefix(namespace)], index_type=IndexType.JSON)

    def create() -> object:
        fields = schema.redis_fields
        return client.ft(name).create_index(fields, definition=definition, skip_initial_scan=empty)

    if not _created(create):
        return False
    logger.info("Created search index %s%s", name, "" if empty else " (scanning its memories)")
    if not empty:
        _clear_if_scanned(client, marker, name)
    return True


def _global_count(client: redis.Redis, namespace: str) -> int:
    """Memories of the namespace in the global index (missing index: unknown, so -1)."""
    query = "@namespace:{" + escape_tag(namespace) + "}"
    try:
        reply = client.execute_command("FT.SEARCH", INDEX_NAME, query, "LIMIT", 0, 0, "DIALECT", 2)
    except redis.ResponseError:
        return -1
    total = reply[b"total_results"] if isinstance(reply, dict) else reply[0]  # RESP3 / 2
    return int(total)


def namespace_indexes(client: redis.Redis) -> list[str]:
    """The names of every namespace's index."""
    names = (raw.decode() if isinstance(raw, bytes) else raw for raw in client.execute_command("FT._LIST"))
    return sorted(name for name in names if name.startswith(NAMESPACE_INDEX_PREFIX))


def stale_statistics_warning(client: redis.Redis) -> str | None:
    """A warning when RediSearch collects rewritten memories' old postings only once an index
    holds more than FORK_GC_CLEAN_THRESHOLD of them: below that, a small namespace's keyword
    ranking stays skewed for good (memoryserver/localredis.py measures it)."""
    try:
        reply = client.execute_command("FT.CONFIG", "GET", "FORK_GC_CLEAN_THRESHOLD")
    except redis.ResponseError:  # a managed Redis may not expose it
        return None
    pairs = reply.items() if isinstance(reply, dict) else [tuple(pair) for pair in reply]
    threshold = next((int(value) for _, value in pairs if value not in (None, b"", "")), 0)
    if threshold <= 0:
        return None
    return (
        f"RediSearch collects a rewritten memory's old postings only once an index holds more than "
        f"{threshold} of them, so small namespaces keep skewed keyword statistics after edits and "
        "tagging: run CONFIG SET search-fork-gc-clean-threshold 0 (Redis 8; Redis Stack: FT.CONFIG "
        "SET FORK_GC_CLEAN_THRESHOLD 0), see README 'Keyword statistics'."
    )


def ensure_index(client: redis.Redis, model_identity: str, dims: int) -> bool:
    """Create the index if it is missing; refuse a different embedding model. True if created."""
    raw = client.hget(META_KEY, "model")
    stored = raw.decode() if isinstance(raw, bytes) else raw
    index = _search_index(client, dims)
    if index.exists():
        if stored is not None and stored != model_identity:
            raise Conflict(
                f"The memory index was built with embedding model '{stored}' but the "
                f"configured model is '{model_identity}'. Run `python manage.py rebuild_index --reembed` "
                "to re-embed every memory, or configure the original model."
            )
        if stored is None:
            client.hset(META_KEY, mapping={"model": model_identity, "schema_version": SCHEMA_VERSION})
        _upgrade_schema(client)
        return False
    # The marker first: from the moment the index exists, searches must see it.
    marker = uuid.uuid4().hex
    client.hset(
        META_KEY, mapping={"model": model_identity, "schema_version": SCHEMA_VERSION, REBUILDING: marker}
    )
    if not _created(lambda: index.create(overwrite=False)):
        return False
    logger.info("Created search index %s for %s", INDEX_NAME, model_identity)
    _clear_if_scanned(client, marker, INDEX_NAME)
    return True


def _upgrade_schema(client: redis.Redis) -> None:
    """Add the fields later schema versions index to an index made by an earlier one."""
    version = int(client.hget(META_KEY, "schema_version") or 1)
    if version < 2:
        try:
            field = ("$.record.session_seq", "AS", "session_seq", "NUMERIC")
            client.execute_command("FT.ALTER", INDEX_NAME, "SCHEMA", "ADD", *field)
        except redis.ResponseError as error:
            if "duplicate" not in str(error).lower():
                raise
        client.hset(META_KEY, "schema_version", SCHEMA_VERSION)
        logger.info("Search index %s upgraded to schema version %d", INDEX_NAME, SCHEMA_VERSION)


def _created(create: Callable[[], object]) -> bool:
    """Create an index; False if another process (or thread) created it meanwhile."""
    try:
        create()
    except (redis.ResponseError, RedisSearchError) as error:
        if "already exists" not in str(error).lower():
            raise
        return False
    return True


def _clear_if_scanned(client: redis.Redis, marker: str, index: str, attempts: int = 3) -> None:
    """Over an empty or small keyspace the scan ends within milliseconds: searches then need not
    answer "rebuilding" even once. A longer scan is left to the searches (rebuild_progress)."""
    for _ in range(attempts):
        if scanning(client.execute_command("FT.INFO", index)) is None:
            client.eval(_CLEAR_MARKER, 1, META_KEY, marker_field(index), marker)
            return
        time.sleep(0.002)


def drop_index(client: redis.Redis, dims: int) -> None:
    """Drop the index definitions (the global one and every namespace's); the documents stay."""
    index = _search_index(client, dims)
    if index.exists():
        index.delete(drop=False)
    for name in namespace_indexes(client):
        client.execute_command("FT.DROPINDEX", name)


class IndexRebuilding(BackendUnavailable):
    """The index exists but RediSearch is still scanning the stored memories into it."""

    def __init__(self, fraction: float) -> None:
        super().__init__(
            f"Search index rebuilding: {fraction:.0%} of the stored memories are indexed so far, "
            "so a search would miss some. Try again shortly.",
            retry_after=1,
        )
        self.fraction = fraction


def scanning(info: Any) -> float | None:
    """From an FT.INFO reply: the share scanned so far while the index scans stored documents
    (as after Redis loaded its data on a restart), or None when it is complete."""
    fields = _info_fields(info)
    if int(fields.get("indexing", 0)):
        return min(float(fields.get("percent_indexed", 0.0)), 0.99)  # never 100% while it scans
    return None


def index_prefixes(info: Any) -> list[str]:
    """From an FT.INFO reply: the key prefixes the index covers."""
    definition = _info_fields(info).get("index_definition") or {}
    prefixes = _info_fields(definition).get("prefixes") or []
    return [prefix.decode() if isinstance(prefix, bytes) else str(prefix) for prefix in prefixes]


def _info_fields(info: Any) -> dict[str, Any]:
    pairs = info.items() if isinstance(info, dict) else zip(info[::2], info[1::2], strict=True)  # RESP3 / 2
    return {key.decode() if isinstance(key, bytes) else key: item for key, item in pairs}


async def rebuild_progress(
    client: aioredis.Redis, marker: bytes | str, index: str = INDEX_NAME
) -> float | None:
    """How much of the background scan of `index` is done (0 to 1), or None if it is missing.

    Called only while the index's `rebuilding` marker is set; the first caller to see the
    scan finished clears the marker, so searches stop asking FT.INFO.
    """
    try:
        progress = scanning(await client.execute_command("FT.INFO", index))
    except redis.ResponseError:
        return None
    if progress is not None:
        return progress
    await client.eval(_CLEAR_MARKER, 1, META_KEY, marker_field(index), marker)
    logger.info("Search index %s is complete again", index)
    return 1.0


def index_status(client: redis.Redis) -> dict[str, Any]:
    """What FT.INFO says about the index, and the model that built it; `exists` False if it is gone."""
    raw = client.hget(META_KEY, "model")
    model = raw.decode() if isinstance(raw, bytes) else raw
    try:
        info = client.execute_command("FT.INFO", INDEX_NAME)
    except redis.ResponseError:
        return {"exists": False, "model": model}
    value = _info_fields(info)
    return {
        "exists": True,
        "model": model,
        "num_docs": int(value.get("num_docs", 0)),
        "indexing": bool(int(value.get("indexing", 0))),
        "percent_indexed": float(value.get("percent_indexed", 1.0)),
        "indexing_failures": int(value.get("hash_indexing_failures", 0)),
        "memory_mb": float(value.get("total_index_memory_sz_mb", 0.0)),
        "vector_index_mb": float(value.get("vector_index_sz_mb", 0.0)),
    }
