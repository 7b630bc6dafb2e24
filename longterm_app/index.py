"""The long-term memory index: its redisvl schema, creation at start-up, model checks.

Documents are JSON: `{"record": <MemoryRecord>, "embedding": [floats]}` under
`memory:{namespace}:{id}`, or `memory:{namespace}:~{user}:{id}` for a user's memory (see
repository.py). Searches return only `$.record`, never the vector.
`memory_idx:meta` remembers which embedding model built the index, so a model change
is caught at start-up instead of silently mixing incompatible vectors.

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
from typing import Any

import redis
import redis.asyncio as aioredis
from redisvl.index import SearchIndex
from redisvl.schema import IndexSchema

from memoryserver.errors import BackendUnavailable, Conflict

logger = logging.getLogger(__name__)

INDEX_NAME = "memory_idx"
KEY_PREFIX = "memory:"
META_KEY = "memory_idx:meta"
SCHEMA_VERSION = 1
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
_NUMERIC = ("created_at", "updated_at", "last_accessed", "event_date")


def index_schema(dims: int) -> IndexSchema:
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
        {"index": {"name": INDEX_NAME, "prefix": KEY_PREFIX, "storage_type": "json"}, "fields": fields}
    )


def _search_index(client: redis.Redis, dims: int) -> SearchIndex:
    return SearchIndex(index_schema(dims), redis_client=client)


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
        return False
    # The marker first: from the moment the index exists, searches must see it.
    marker = uuid.uuid4().hex
    client.hset(
        META_KEY, mapping={"model": model_identity, "schema_version": SCHEMA_VERSION, REBUILDING: marker}
    )
    index.create(overwrite=False)
    logger.info("Created search index %s for %s", INDEX_NAME, model_identity)
    _clear_if_scanned(client, marker)
    return True


def _clear_if_scanned(client: redis.Redis, marker: str, attempts: int = 3) -> None:
    """Over an empty or small keyspace the scan ends within milliseconds: searches then need not
    answer "rebuilding" even once. A longer scan is left to the searches (rebuild_progress)."""
    for _ in range(attempts):
        if not int(_info_fields(client.execute_command("FT.INFO", INDEX_NAME)).get("indexing", 0)):
            client.eval(_CLEAR_MARKER, 1, META_KEY, REBUILDING, marker)
            return
        time.sleep(0.002)


def drop_index(client: redis.Redis, dims: int) -> None:
    """Drop the index definition only; the documents stay."""
    index = _search_index(client, dims)
    if index.exists():
        index.delete(drop=False)


class IndexRebuilding(BackendUnavailable):
    """The index exists but RediSearch is still scanning the stored memories into it."""

    def __init__(self, fraction: float) -> None:
        super().__init__(
            f"Search index rebuilding: {fraction:.0%} of the stored memories are indexed so far, "
            "so a search would miss some. Try again shortly.",
            retry_after=1,
        )
        self.fraction = fraction


def _info_fields(info: Any) -> dict[str, Any]:
    pairs = info.items() if isinstance(info, dict) else zip(info[::2], info[1::2], strict=True)  # RESP3 / 2
    return {key.decode() if isinstance(key, bytes) else key: item for key, item in pairs}


async def rebuild_progress(client: aioredis.Redis, marker: bytes | str) -> float | None:
    """How much of the background scan is done (0 to 1), or None if the index is missing.

    Called only while the `rebuilding` marker is set; the first caller to see the scan
    finished clears the marker, so searches stop asking FT.INFO.
    """
    try:
        info = _info_fields(await client.execute_command("FT.INFO", INDEX_NAME))
    except redis.ResponseError:
        return None
    if int(info.get("indexing", 0)):
        return min(float(info.get("percent_indexed", 0.0)), 0.99)  # never 100% while it scans
    await client.eval(_CLEAR_MARKER, 1, META_KEY, REBUILDING, marker)
    logger.info("Search index %s is complete again", INDEX_NAME)
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
