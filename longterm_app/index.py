"""The long-term memory index: its redisvl schema, creation at start-up, model checks. The
Redis side (the index's names, its metadata hash, the RediSearch commands) is
longterm_app.repositories.index.

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
from typing import Any

from redisvl.schema import IndexSchema

from longterm_app.repositories import index as stored_index
from longterm_app.repositories.index import (
    INDEX_NAME,
    KEY_PREFIX,
    NAMESPACE_INDEX_PREFIX,
    namespace_index,
    namespace_prefix,
)
from memoryserver.errors import BackendUnavailable, Conflict
from memoryserver.redis import RedisClient

logger = logging.getLogger(__name__)

# 2: session_seq (numeric) added; an index of version 1 gets it by FT.ALTER at start-up.
SCHEMA_VERSION = 2

# Tags never contain control characters (memoryserver.fields.Tag), so this separator never
# splits a value; the default "," would split "a,b" in two.
TAG_SEPARATOR = "\x1f"
_CASE_SENSITIVE_TAGS = ("id", "session_id", "user_id", "namespace", "memory_type", "memory_hash")
_CASE_INSENSITIVE_TAGS = ("topics", "entities")
_NUMERIC = ("created_at", "updated_at", "last_accessed", "event_date", "session_seq")


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


def ensure_namespace_index(client: RedisClient, namespace: str, dims: int) -> bool:
    """Create the namespace's index if it is missing; True if created.

    RediSearch fills a new index by scanning the whole keyspace. A namespace that holds no
    memory yet (the global index says so) needs no scan: its index is created with
    SKIPINITIALSCAN, so a new tenant never waits for a scan of everyone else's keys. One that
    already holds memories (an upgrade, a dropped index) is scanned and marked rebuilding.
    """
    name = namespace_index(namespace)
    prefix = namespace_prefix(namespace)
    schema = index_schema(dims, name, prefix)
    if stored_index.exists(client, schema):
        return False
    empty = stored_index.global_count(client, namespace) == 0
    marker = uuid.uuid4().hex
    if not empty:
        stored_index.mark_rebuilding(client, name, marker)
    if not stored_index.create_prefix_index(client, schema, prefix, skip_initial_scan=empty):
        return False
    logger.info("Created search index %s%s", name, "" if empty else " (scanning its memories)")
    if not empty:
        _clear_if_scanned(client, marker, name)
    return True


def namespace_indexes(client: RedisClient) -> list[str]:
    """The names of every namespace's index."""
    return sorted(
        name for name in stored_index.index_names(client) if name.startswith(NAMESPACE_INDEX_PREFIX)
    )


def stale_statistics_warning(client: RedisClient) -> str | None:
    """A warning when RediSearch collects rewritten memories' old postings only once an index
    holds more than FORK_GC_CLEAN_THRESHOLD of them: below that, a small namespace's keyword
    ranking stays skewed for good (server/localredis.py measures it)."""
    threshold = stored_index.fork_gc_clean_threshold(client)
    if threshold is None or threshold <= 0:
        return None
    return (
        f"RediSearch collects a rewritten memory's old postings only once an index holds more than "
        f"{threshold} of them, so small namespaces keep skewed keyword statistics after edits and "
        "tagging: run CONFIG SET search-fork-gc-clean-threshold 0 (Redis 8; Redis Stack: FT.CONFIG "
        "SET FORK_GC_CLEAN_THRESHOLD 0), see README 'Keyword statistics'."
    )


def ensure_index(client: RedisClient, model_identity: str, dims: int) -> bool:
    """Create the index if it is missing; refuse a different embedding model. True if created."""
    stored = stored_index.stored_model(client)
    schema = index_schema(dims)
    if stored_index.exists(client, schema):
        if stored is not None and stored != model_identity:
            raise Conflict(
                f"The memory index was built with embedding model '{stored}' but the "
                f"configured model is '{model_identity}'. Run `python manage.py rebuild_index --reembed` "
                "to re-embed every memory, or configure the original model."
            )
        if stored is None:
            stored_index.remember_model(client, model_identity, SCHEMA_VERSION)
        _upgrade_schema(client)
        return False
    # The marker first: from the moment the index exists, searches must see it.
    marker = uuid.uuid4().hex
    stored_index.remember_model(client, model_identity, SCHEMA_VERSION, marker)
    if not stored_index.create_index(client, schema):
        return False
    logger.info("Created search index %s for %s", INDEX_NAME, model_identity)
    _clear_if_scanned(client, marker, INDEX_NAME)
    return True


def _upgrade_schema(client: RedisClient) -> None:
    """Add the fields later schema versions index to an index made by an earlier one."""
    if stored_index.stored_schema_version(client) < 2:
        stored_index.add_numeric_field(client, INDEX_NAME, "$.record.session_seq", "session_seq")
        stored_index.set_schema_version(client, SCHEMA_VERSION)
        logger.info("Search index %s upgraded to schema version %d", INDEX_NAME, SCHEMA_VERSION)


def _clear_if_scanned(client: RedisClient, marker: str, index: str, attempts: int = 3) -> None:
    """Over an empty or small keyspace the scan ends within milliseconds: searches then need not
    answer "rebuilding" even once. A longer scan is left to the searches (rebuild_progress)."""
    for _ in range(attempts):
        if stored_index.clear_marker_if_scanned(client, marker, index):
            return
        time.sleep(0.002)


def drop_index(client: RedisClient, dims: int) -> None:
    """Drop the index definitions (the global one and every namespace's); the documents stay."""
    stored_index.drop(client, index_schema(dims))
    for name in namespace_indexes(client):
        stored_index.drop_named(client, name)


class IndexRebuilding(BackendUnavailable):
    """The index exists but RediSearch is still scanning the stored memories into it."""

    def __init__(self, fraction: float) -> None:
        super().__init__(
            f"Search index rebuilding: {fraction:.0%} of the stored memories are indexed so far, "
            "so a search would miss some. Try again shortly.",
            retry_after=1,
        )
        self.fraction = fraction


def index_status(client: RedisClient) -> dict[str, Any]:
    """What FT.INFO says about the index, and the model that built it; `exists` False if it is gone."""
    model = stored_index.stored_model(client)
    value = stored_index.index_info(client)
    if value is None:
        return {"exists": False, "model": model}
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
