"""The long-term memory index: its redisvl schema, creation at start-up, model checks.

Documents are JSON: `{"record": <MemoryRecord>, "embedding": [floats]}` under
`memory:{namespace}:{id}`. Searches return only `$.record`, never the vector.
`memory_idx:meta` remembers which embedding model built the index, so a model change
is caught at start-up instead of silently mixing incompatible vectors.
"""

from __future__ import annotations

import logging
from typing import Any

import redis
from redisvl.index import SearchIndex
from redisvl.schema import IndexSchema

from memoryserver.errors import Conflict

logger = logging.getLogger(__name__)

INDEX_NAME = "memory_idx"
KEY_PREFIX = "memory:"
META_KEY = "memory_idx:meta"
SCHEMA_VERSION = 1

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
    index.create(overwrite=False)
    client.hset(META_KEY, mapping={"model": model_identity, "schema_version": SCHEMA_VERSION})
    logger.info("Created search index %s for %s", INDEX_NAME, model_identity)
    return True


def drop_index(client: redis.Redis, dims: int) -> None:
    """Drop the index definition only; the documents stay."""
    index = _search_index(client, dims)
    if index.exists():
        index.delete(drop=False)


def index_status(client: redis.Redis) -> dict[str, Any]:
    """What FT.INFO says about the index, and the model that built it; `exists` False if it is gone."""
    raw = client.hget(META_KEY, "model")
    model = raw.decode() if isinstance(raw, bytes) else raw
    try:
        info = client.execute_command("FT.INFO", INDEX_NAME)
    except redis.ResponseError:
        return {"exists": False, "model": model}
    pairs = info.items() if isinstance(info, dict) else zip(info[::2], info[1::2], strict=True)  # RESP3 / 2
    value = {key.decode() if isinstance(key, bytes) else key: item for key, item in pairs}
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
