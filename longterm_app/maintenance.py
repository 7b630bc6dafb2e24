"""Operator tasks on stored memories: rebuild the index, re-embed, versioned data migrations,
and the once-per-Redis move of an older server's keys to the hash-tagged layout.

Everything here works document by document with SCAN (longterm_app.repository), so it never
needs the index it may be rebuilding, and each step is safe to run again after an interruption.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from longterm_app.index import drop_index, ensure_index, ensure_namespace_index, namespace_indexes
from longterm_app.records import memory_hash
from longterm_app.repositories import index as stored_index
from longterm_app.repositories.index import INDEX_NAME, KEY_PREFIX, namespace_index
from longterm_app.repository import (
    claim_dedup_entry,
    doc_key,
    id_of,
    layout_is_current,
    mark_layout_current,
    memory_exists,
    memory_keys,
    migration_version,
    move_to_namespace_tags,
    move_to_owner,
    namespace_of,
    set_migration_version,
    stored_records,
    write_record_field,
    write_vectors,
)
from memoryserver.errors import NotFound
from memoryserver.redis import RedisClient
from providers.embeddings import Embedder

logger = logging.getLogger(__name__)

SCAN_BATCH = 256


def reembed(client: RedisClient, embedder: Embedder, batch: int = SCAN_BATCH) -> int:
    """Replace every stored vector with the configured model's; return how many."""
    done = 0
    for keys in memory_keys(client, batch):
        records = stored_records(client, keys)
        vectors = embedder.embed_many([record["text"] for _, record in records])
        write_vectors(client, zip((key for key, _ in records), vectors, strict=True))
        done += len(records)
        logger.info("Re-embedded %d memories", done)
    return done


def wait_for_indexing(client: RedisClient, timeout: float = 3600, index: str = INDEX_NAME) -> int:
    """Wait until an index has caught up with existing documents; return its document count."""
    deadline = time.monotonic() + timeout
    while True:
        info = stored_index.index_info(client, index)
        if info is None:
            raise NotFound(f"The search index {index} is gone: another process dropped it meanwhile.")
        if float(info["percent_indexed"]) >= 1.0 or time.monotonic() > deadline:
            return int(info["num_docs"])
        time.sleep(0.2)


def rebuild_index(client: RedisClient, embedder: Embedder, reembed_vectors: bool) -> int:
    """Recreate the indexes (the global one, then each namespace's) from the stored documents,
    which are never deleted; return the number of memories indexed."""
    if reembed_vectors:
        reembed(client, embedder)
    drop_index(client, embedder.dims)
    stored_index.forget_meta(client)
    ensure_index(client, embedder.identity, embedder.dims)
    indexed = wait_for_indexing(client)
    for namespace in stored_index.indexed_namespaces(client):
        ensure_namespace_index(client, namespace, embedder.dims)
        wait_for_indexing(client, index=namespace_index(namespace))
    return indexed


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    apply: Callable[[RedisClient], int]


def _backfill_memory_hash(client: RedisClient) -> int:
    """Memories written before dedup existed get their hash and dedup entry."""
    changed = 0
    for keys in memory_keys(client, SCAN_BATCH):
        for key, record in stored_records(client, keys):
            if record.get("memory_hash"):
                continue
            value = memory_hash(record["text"], record.get("namespace"), record.get("user_id"))
            write_record_field(client, key, "memory_hash", value)
            claim_dedup_entry(client, key, value)
            changed += 1
    return changed


def _backfill_access_count(client: RedisClient) -> int:
    """Memories written before access counting start from zero."""
    changed = 0
    for keys in memory_keys(client, SCAN_BATCH):
        for key, record in stored_records(client, keys):
            if "access_count" not in record:
                write_record_field(client, key, "access_count", 0)
                changed += 1
    return changed


def _per_owner_ids(client: RedisClient) -> int:
    """Users' memories move from `memory:{ns}:{id}` to their owner's `memory:{ns}:~{user}:{id}`."""
    changed = 0
    for keys in memory_keys(client, SCAN_BATCH):
        old_layout = [key for key in keys if key[len(KEY_PREFIX) :].count(":") == 1]
        for key, record in stored_records(client, old_layout) if old_layout else []:
            if not record.get("user_id"):
                continue
            new = doc_key(namespace_of(key), id_of(key), record["user_id"])
            moved = move_to_owner(client, key, new, record.get("memory_hash"))
            if not moved and memory_exists(client, key):
                logger.warning("Memory %s left in place: its owner already has %s", key, new)
            changed += int(moved)
    return changed


MIGRATIONS = [
    Migration(1, "backfill memory_hash and its dedup entry", _backfill_memory_hash),
    Migration(2, "backfill access_count", _backfill_access_count),
    Migration(3, "memory ids per owner: users' memories move to their own keys", _per_owner_ids),
]


def migrate(client: RedisClient, migrations: list[Migration] = MIGRATIONS) -> list[tuple[Migration, int]]:
    """Apply, in order, the migrations newer than the stored version; each is safe to repeat.
    Keys of an older layout move to the hash-tagged one first (as at every start-up)."""
    upgrade_key_layout(client)
    current = migration_version(client)
    applied = []
    for migration in sorted(migrations, key=lambda m: m.version):
        if migration.version <= current:
            continue
        changed = migration.apply(client)
        set_migration_version(client, migration.version)
        applied.append((migration, changed))
    return applied


def upgrade_key_layout(client: RedisClient) -> int:
    """Once per Redis: keys written before the namespace hash tags move to them, and the
    namespace indexes, whose key prefixes changed, are dropped, to be built again on first
    use. Returns how many keys moved."""
    if layout_is_current(client):
        return 0
    moved = move_to_namespace_tags(client)
    for name in namespace_indexes(client):
        _drop_if_untagged(client, name)
    mark_layout_current(client)
    return moved


def _drop_if_untagged(client: RedisClient, index: str) -> None:
    """Drop a namespace index still covering the untagged prefix (its documents stay). One
    already rebuilt on the tagged prefix (by a process that upgraded first) is kept, and one
    dropped meanwhile by another process is no error."""
    prefixes = stored_index.covered_prefixes(client, index)
    if prefixes is not None and not any("{" in prefix for prefix in prefixes):
        stored_index.drop_named(client, index)
