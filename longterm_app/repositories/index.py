"""The long-term memory index in Redis: its names, its metadata, and every RediSearch command
that creates, inspects or drops it (longterm_app.index decides when, and why).

Layout
- `memory_idx`            RediSearch index of every memory (JSON documents under `memory:`)
- `memory_idx:ns:<ns>`    the index of one namespace's memories, over `memory:{<ns>}:`
                          (`<ns>` percent-encoded; `{<ns>}` is the namespace's hash tag)
- `memory_idx:meta`       hash: `model` (the embedding model that built the index),
                          `schema_version`, and `rebuilding` / `rebuilding:<index>`, set while
                          an index scans the stored documents
"""

from __future__ import annotations

import logging
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
from memoryserver.redis import text

logger = logging.getLogger(__name__)

INDEX_NAME = "memory_idx"
NAMESPACE_INDEX_PREFIX = "memory_idx:ns:"
KEY_PREFIX = "memory:"
META_KEY = "memory_idx:meta"
REBUILDING = "rebuilding"  # field of META_KEY: set while the index scans existing documents

# Clears the marker only if it is still the one seen, so a rebuild that began meanwhile
# (another FLUSHALL) keeps its own marker.
_CLEAR_MARKER = """
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then redis.call('HDEL', KEYS[1], ARGV[1]) end
return 0
"""


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


def stored_model(client: redis.Redis) -> str | None:
    """The embedding model that built the index; None if no index remembers one."""
    raw = client.hget(META_KEY, "model")
    return None if raw is None else text(raw)


def stored_schema_version(client: redis.Redis) -> int:
    """The schema version of the index (1: made before versions were stored)."""
    return int(client.hget(META_KEY, "schema_version") or 1)


def remember_model(client: redis.Redis, model: str, schema_version: int, marker: str | None = None) -> None:
    """Record the embedding model and schema version of the index; with `marker`, mark the
    global index rebuilding in the same command (so searches see the marker once it exists)."""
    fields: dict[Any, Any] = {"model": model, "schema_version": schema_version}
    if marker is not None:
        fields[REBUILDING] = marker
    client.hset(META_KEY, mapping=fields)


def set_schema_version(client: redis.Redis, version: int) -> None:
    client.hset(META_KEY, "schema_version", version)


def mark_rebuilding(client: redis.Redis, index: str, marker: str) -> None:
    """From now on searches of `index` check how far its scan is (see rebuild_progress)."""
    client.hset(META_KEY, marker_field(index), marker)


def forget_meta(client: redis.Redis) -> None:
    client.delete(META_KEY)


def exists(client: redis.Redis, schema: IndexSchema) -> bool:
    return bool(SearchIndex(schema, redis_client=client).exists())


def create_index(client: redis.Redis, schema: IndexSchema) -> bool:
    """Create the index, which scans the stored documents; False if it exists already."""
    return _created(lambda: SearchIndex(schema, redis_client=client).create(overwrite=False))


def create_prefix_index(
    client: redis.Redis, schema: IndexSchema, prefix: str, skip_initial_scan: bool
) -> bool:
    """Create an index over the documents under `prefix`, without scanning the stored ones
    if told; False if it exists already."""
    definition = IndexDefinition(prefix=[prefix], index_type=IndexType.JSON)
    return _created(
        lambda: client.ft(schema.index.name).create_index(
            schema.redis_fields, definition=definition, skip_initial_scan=skip_initial_scan
        )
    )


def _created(create: Callable[[], object]) -> bool:
    """Create an index; False if another process (or thread) created it meanwhile."""
    try:
        create()
    except (redis.ResponseError, RedisSearchError) as error:
        if "already exists" not in str(error).lower():
            raise
        return False
    return True


def drop(client: redis.Redis, schema: IndexSchema) -> None:
    """Drop the index definition if it exists; the documents stay."""
    index = SearchIndex(schema, redis_client=client)
    if index.exists():
        index.delete(drop=False)


def drop_named(client: redis.Redis, name: str) -> None:
    """Drop the index definition (the documents stay); one dropped meanwhile by another
    process is no error."""
    try:
        client.execute_command("FT.DROPINDEX", name)
    except redis.ResponseError as error:
        if not missing_index(error):
            raise


def missing_index(error: redis.ResponseError) -> bool:
    """Whether RediSearch answered that the index does not exist."""
    return any(words in str(error).lower() for words in ("no such index", "unknown index"))


def index_names(client: redis.Redis) -> list[str]:
    """The name of every index on the server (FT._LIST)."""
    return [text(raw) for raw in client.execute_command("FT._LIST")]


def global_count(client: redis.Redis, namespace: str) -> int:
    """Memories of the namespace in the global index (missing index: unknown, so -1)."""
    query = "@namespace:{" + escape_tag(namespace) + "}"
    try:
        reply = client.execute_command("FT.SEARCH", INDEX_NAME, query, "LIMIT", 0, 0, "DIALECT", 2)
    except redis.ResponseError:
        return -1
    total = reply[b"total_results"] if isinstance(reply, dict) else reply[0]  # RESP3 / 2
    return int(total)


def indexed_namespaces(client: redis.Redis) -> list[str]:
    """The namespaces the global index holds memories of."""
    group = ("GROUPBY", 1, "@namespace", "LIMIT", 0, 1_000_000)
    reply = client.execute_command("FT.AGGREGATE", INDEX_NAME, "*", *group)
    values = (row[b"extra_attributes"].get(b"namespace") for row in reply[b"results"])
    return sorted(text(value) for value in values if value is not None)


def fork_gc_clean_threshold(client: redis.Redis) -> int | None:
    """RediSearch's FORK_GC_CLEAN_THRESHOLD; None where the server does not expose it (a
    managed Redis may not)."""
    try:
        reply = client.execute_command("FT.CONFIG", "GET", "FORK_GC_CLEAN_THRESHOLD")
    except redis.ResponseError:
        return None
    pairs = reply.items() if isinstance(reply, dict) else [tuple(pair) for pair in reply]
    return next((int(value) for _, value in pairs if value not in (None, b"", "")), 0)


def add_numeric_field(client: redis.Redis, index: str, path: str, name: str) -> None:
    """Index one more numeric field of the documents; a field the index has already is kept."""
    try:
        client.execute_command("FT.ALTER", index, "SCHEMA", "ADD", path, "AS", name, "NUMERIC")
    except redis.ResponseError as error:
        if "duplicate" not in str(error).lower():
            raise


def index_info(client: redis.Redis, index: str = INDEX_NAME) -> dict[str, Any] | None:
    """What FT.INFO says about the index, by field name; None if it does not exist."""
    try:
        return _info_fields(client.execute_command("FT.INFO", index))
    except redis.ResponseError as error:
        if missing_index(error):
            return None
        raise


def covered_prefixes(client: redis.Redis, index: str) -> list[str] | None:
    """The key prefixes the index covers; None if it does not exist."""
    info = index_info(client, index)
    if info is None:
        return None
    definition = _info_fields(info.get("index_definition") or {})
    return [text(prefix) for prefix in definition.get("prefixes") or []]


def clear_marker_if_scanned(client: redis.Redis, marker: str, index: str) -> bool:
    """Clear the index's rebuilding marker (if still `marker`) once its scan has ended; True
    if it has."""
    if scanning(client.execute_command("FT.INFO", index)) is not None:
        return False
    client.eval(_CLEAR_MARKER, 1, META_KEY, marker_field(index), marker)
    return True


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


def scanning(info: Any) -> float | None:
    """From an FT.INFO reply: the share scanned so far while the index scans stored documents
    (as after Redis loaded its data on a restart), or None when it is complete."""
    fields = _info_fields(info)
    if int(fields.get("indexing", 0)):
        return min(float(fields.get("percent_indexed", 0.0)), 0.99)  # never 100% while it scans
    return None


def _info_fields(info: Any) -> dict[str, Any]:
    pairs = info.items() if isinstance(info, dict) else zip(info[::2], info[1::2], strict=True)  # RESP3 / 2
    return {text(key): item for key, item in pairs}
