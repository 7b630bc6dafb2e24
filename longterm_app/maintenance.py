"""Operator tasks on stored memories: rebuild the index, re-embed, versioned data migrations.

Everything here works document by document with SCAN, so it never needs the index it may be
rebuilding, and each step is safe to run again after an interruption.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import orjson
import redis

from longterm_app.index import (
    INDEX_NAME,
    KEY_PREFIX,
    META_KEY,
    drop_index,
    ensure_index,
    ensure_namespace_index,
    index_prefixes,
    namespace_index,
    namespace_indexes,
)
from longterm_app.records import memory_hash
from longterm_app.repository import (
    ACCESS_PREFIX,
    HASH_PREFIX,
    SEQ_PREFIX,
    access_key,
    doc_key,
    id_of,
    in_key_order,
    namespace_of,
    queue_json_mget,
)
from memoryserver.embeddings import Embedder
from memoryserver.redis import move_to_hash_tags

logger = logging.getLogger(__name__)

MIGRATION_VERSION_KEY = "memory_migrations:version"
SCAN_BATCH = 256
# Set once the keys were moved to the namespace hash tags (`upgrade_key_layout`).
LAYOUT_KEY = "memory_layout"
LAYOUT_VERSION = "2"


def memory_keys(client: redis.Redis, batch: int = SCAN_BATCH) -> Iterator[list[str]]:
    """Batches of memory document keys (dedup entries and metadata excluded)."""
    keys: list[str] = []
    for raw in client.scan_iter(match=f"{KEY_PREFIX}*", count=batch, _type="ReJSON-RL"):
        keys.append(raw.decode() if isinstance(raw, bytes) else raw)
        if len(keys) >= batch:
            yield keys
            keys = []
    if keys:
        yield keys


def _records(client: redis.Redis, keys: list[str]) -> list[tuple[str, dict]]:
    with client.pipeline(transaction=False) as pipe:
        groups = queue_json_mget(pipe, keys, "$.record")
        replies = in_key_order(groups, pipe.execute())
    return [(key, orjson.loads(reply)[0]) for key, reply in zip(keys, replies, strict=True) if reply]


def reembed(client: redis.Redis, embedder: Embedder, batch: int = SCAN_BATCH) -> int:
    """Replace every stored vector with the configured model's; return how many."""
    done = 0
    for keys in memory_keys(client, batch):
        records = _records(client, keys)
        vectors = embedder.embed_many([record["text"] for _, record in records])
        with client.pipeline(transaction=False) as pipe:
            for (key, _), vector in zip(records, vectors, strict=True):
                pipe.execute_command(
                    "JSON.SET", key, "$.embedding", orjson.dumps(vector, option=orjson.OPT_SERIALIZE_NUMPY)
                )
            pipe.execute()
        done += len(records)
        logger.info("Re-embedded %d memories", done)
    return done


def wait_for_indexing(client: redis.Redis, timeout: float = 3600, index: str = INDEX_NAME) -> int:
    """Wait until an index has caught up with existing documents; return its document count."""
    deadline = time.monotonic() + timeout
    while True:
        info = client.execute_command("FT.INFO", index)
        if float(info[b"percent_indexed"]) >= 1.0 or time.monotonic() > deadline:
            return int(info[b"num_docs"])
        time.sleep(0.2)


def _namespaces(client: redis.Redis) -> list[str]:
    """The namespaces the (complete) global index holds memories of."""
    group = ("GROUPBY", 1, "@namespace", "LIMIT", 0, 1_000_000)
    reply = client.execute_command("FT.AGGREGATE", INDEX_NAME, "*", *group)
    values = (row[b"extra_attributes"].get(b"namespace") for row in reply[b"results"])
    return sorted(value.decode() for value in values if value is not None)


def rebuild_index(client: redis.Redis, embedder: Embedder, reembed_vectors: bool) -> int:
    """Recreate the indexes (the global one, then each namespace's) from the stored documents,
    which are never deleted; return the number of memories indexed."""
    if reembed_vectors:
        reembed(client, embedder)
    drop_index(client, embedder.dims)
    client.delete(META_KEY)
    ensure_index(client, embedder.identity, embedder.dims)
    indexed = wait_for_indexing(client)
    for namespace in _namespaces(client):
        ensure_namespace_index(client, namespace, embedder.dims)
        wait_for_indexing(client, index=namespace_index(namespace))
    return indexed


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    apply: Callable[[redis.Redis], int]


def _backfill_memory_hash(client: redis.Redis) -> int:
    """Memories written before dedup existed get their hash and dedup entry."""
    changed = 0
    for keys in memory_keys(client):
        for key, record in _records(client, keys):
            if record.get("memory_hash"):
                continue
            value = memory_hash(record["text"], record.get("namespace"), record.get("user_id"))
            namespace_part = key[len(KEY_PREFIX) :].split(":", 1)[0]
            client.execute_command("JSON.SET", key, "$.record.memory_hash", orjson.dumps(value))
            client.set(f"{HASH_PREFIX}{namespace_part}:{value}", key, nx=True)
            changed += 1
    return changed


def _backfill_access_count(client: redis.Redis) -> int:
    """Memories written before access counting start from zero."""
    changed = 0
    for keys in memory_keys(client):
        for key, record in _records(client, keys):
            if "access_count" not in record:
                client.execute_command("JSON.SET", key, "$.record.access_count", 0)
                changed += 1
    return changed


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


def _per_owner_ids(client: redis.Redis) -> int:
    """Users' memories move from `memory:{ns}:{id}` to their owner's `memory:{ns}:~{user}:{id}`."""
    move = client.register_script(_MOVE_TO_OWNER_SCRIPT)
    changed = 0
    for keys in memory_keys(client):
        old_layout = [key for key in keys if key[len(KEY_PREFIX) :].count(":") == 1]
        for key, record in _records(client, old_layout) if old_layout else []:
            if not record.get("user_id"):
                continue
            new = doc_key(namespace_of(key), id_of(key), record["user_id"])
            namespace_part = key[len(KEY_PREFIX) :].split(":", 1)[0]
            hash_key = f"{HASH_PREFIX}{namespace_part}:{record.get('memory_hash') or ''}"
            moved = move(keys=[key, new], args=[key, new, access_key(key), access_key(new), hash_key])
            if not moved and client.exists(key):
                logger.warning("Memory %s left in place: its owner already has %s", key, new)
            changed += int(moved)
    return changed


MIGRATIONS = [
    Migration(1, "backfill memory_hash and its dedup entry", _backfill_memory_hash),
    Migration(2, "backfill access_count", _backfill_access_count),
    Migration(3, "memory ids per owner: users' memories move to their own keys", _per_owner_ids),
]


def migrate(client: redis.Redis, migrations: list[Migration] = MIGRATIONS) -> list[tuple[Migration, int]]:
    """Apply, in order, the migrations newer than the stored version; each is safe to repeat.
    Keys of an older layout move to the hash-tagged one first (as at every start-up)."""
    upgrade_key_layout(client)
    current = int(client.get(MIGRATION_VERSION_KEY) or 0)
    applied = []
    for migration in sorted(migrations, key=lambda m: m.version):
        if migration.version <= current:
            continue
        changed = migration.apply(client)
        client.set(MIGRATION_VERSION_KEY, migration.version)
        applied.append((migration, changed))
    return applied


def upgrade_key_layout(client: redis.Redis) -> int:
    """Once per Redis: keys written before the namespace hash tags (`memory:<ns>:...`) move to
    `memory:{<ns>}:...` with their access statistics, dedup entries (which then name the moved
    keys) and session counters, and the namespace indexes, whose key prefixes changed, are
    dropped, to be built again on first use. Returns how many keys moved."""
    if client.get(LAYOUT_KEY) == LAYOUT_VERSION.encode():
        return 0

    def retarget(prefix: str, key: str) -> None:
        """A dedup entry names its memory's key: it moves too."""
        if prefix == HASH_PREFIX and (owner := client.get(key)) is not None:
            text = owner.decode() if isinstance(owner, bytes) else str(owner)
            client.set(
                key, KEY_PREFIX + _tagged(text[len(KEY_PREFIX) :]) if text.startswith(KEY_PREFIX) else text
            )

    prefixes = (KEY_PREFIX, ACCESS_PREFIX, HASH_PREFIX, SEQ_PREFIX)
    moved = move_to_hash_tags(client, prefixes, _tagged, retarget)
    for name in namespace_indexes(client):
        _drop_if_untagged(client, name)
    client.set(LAYOUT_KEY, LAYOUT_VERSION)
    return moved


def _drop_if_untagged(client: redis.Redis, index: str) -> None:
    """Drop a namespace index still covering the untagged prefix (its documents stay). One
    already rebuilt on the tagged prefix (by a process that upgraded first) is kept, and one
    dropped meanwhile by another process is no error."""
    try:
        if not any("{" in prefix for prefix in index_prefixes(client.execute_command("FT.INFO", index))):
            client.execute_command("FT.DROPINDEX", index)
    except redis.ResponseError as error:
        if "unknown index" not in str(error).lower() and "no such index" not in str(error).lower():
            raise


def _tagged(rest: str) -> str:
    """`<ns>:<rest>` (after a key's prefix) with the namespace part made a hash tag (see
    index.namespace_tag); unchanged when it is one already."""
    if rest.startswith("{"):
        return rest
    namespace, _, tail = rest.partition(":")
    return f"{{{namespace or '%'}}}:{tail}"
