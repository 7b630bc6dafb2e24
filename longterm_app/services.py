"""Long-term memory operations shared by every transport (REST now, MCP later)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from longterm_app.access import check_owner, scoped_filters, scoped_record
from longterm_app.forgetting import select_for_forgetting
from longterm_app.index import (
    NAMESPACE_INDEX_PREFIX,
    ensure_index,
    ensure_namespace_index,
    stale_statistics_warning,
)
from longterm_app.queries import filter_query, ids_query, namespace_query, single_namespace
from longterm_app.records import MemoryRecord, memory_hash
from longterm_app.repository import (
    MemoryStore,
    MissingIndex,
    OwnerTaken,
    doc_key,
    id_of,
    namespace_of,
    record_key,
    user_of,
)
from longterm_app.schemas import (
    CompactQueued,
    CompactRequest,
    CreateMemoriesRequest,
    CreateMemoriesResult,
    DeleteMemoriesResult,
    ForgetRequest,
    ForgetResult,
    MemoryFilters,
    MemoryPatch,
    MergedMemory,
    PolicyForgetRequest,
    PolicyForgetResult,
    SearchRequest,
    SearchResult,
    TagFilter,
)
from longterm_app.search import Searcher
from longterm_app.tagging import entities_after_edit, entities_before_write
from memoryserver.auth.principal import SYSTEM, Principal
from memoryserver.errors import Conflict, InvalidInput, NotFound
from memoryserver.fields import check_identifier, now
from memoryserver.observability.metrics import get_metrics
from memoryserver.redis import get_redis
from memoryserver.validation import parse, refuse_repeated_ids
from providers.embeddings import Embedder, get_embedder

logger = logging.getLogger(__name__)

# Calls up to this size are embedded and indexed before the response (read-your-writes).
SYNC_BATCH_LIMIT = 100
FORGET_BATCH = 500


@dataclass(frozen=True)
class BackgroundWork:
    """How a create queues work: indexing of large batches (returns the task id), tagging."""

    indexing: Callable[[list[MemoryRecord]], Awaitable[str]]
    tagging: Callable[[list[MemoryRecord]], Awaitable[None]]


_background: set[asyncio.Task[Any]] = set()


# Namespaces whose own index this process has seen (or made) exist; a namespace's first write
# makes sure of it. Stale after a FLUSHALL: the next search meets MissingIndex and recreates it.
_namespace_indexes: set[str] = set()


def forget_namespace_indexes() -> None:
    """Forget which namespace indexes exist (after Redis was emptied on purpose, as tests do)."""
    _namespace_indexes.clear()


def ensure_memory_index(embedder: Embedder | None = None) -> bool:
    """Create the search index for the configured embedding model if it is missing."""
    embedder = embedder or get_embedder()
    return ensure_index(get_redis("long_term"), embedder.identity, embedder.dims)


def index_settings_warning() -> str | None:
    """What the long-term Redis's settings cost search quality, if anything."""
    return stale_statistics_warning(get_redis("long_term"))


def _ensure_namespace_index(namespace: str, embedder: Embedder | None = None) -> None:
    ensure_namespace_index(get_redis("long_term"), namespace, (embedder or get_embedder()).dims)
    _namespace_indexes.add(namespace)


async def ensure_namespace_indexes(namespaces: Iterable[str], embedder: Embedder) -> None:
    """Make sure each namespace has its own index before its memories are written, so the index
    never has to scan them afterwards."""
    for namespace in set(namespaces) - _namespace_indexes:
        await asyncio.to_thread(_ensure_namespace_index, namespace, embedder)


async def _with_index(operation: Callable[[], Coroutine[Any, Any, Any]]) -> Any:
    """Run a search; if an index vanished (Redis flushed or replaced), recreate it once.

    The search that follows a re-creation raises IndexRebuilding (503, Retry-After) until
    RediSearch has scanned every stored memory into the new index: see longterm_app.index.
    """
    try:
        return await operation()
    except MissingIndex as missing:
        logger.warning("Search index %s missing: recreating it", missing.index)
        if missing.index.startswith(NAMESPACE_INDEX_PREFIX):
            namespace = unquote(missing.index[len(NAMESPACE_INDEX_PREFIX) :])
            _namespace_indexes.discard(namespace)
            await asyncio.to_thread(_ensure_namespace_index, namespace)
        else:
            await asyncio.to_thread(ensure_memory_index)
        return await operation()


def prepare(record: MemoryRecord, timestamp: float, principal: Principal) -> MemoryRecord:
    """Fill the server-owned fields: tenant, content hash, persistence time."""
    scoped_record(record, principal)
    record.memory_hash = memory_hash(record.text, record.namespace, record.user_id)
    record.persisted_at = timestamp
    record.access_count = 0
    return record


async def index_records(
    store: MemoryStore, embedder: Embedder, records: list[MemoryRecord]
) -> dict[str, str]:
    """Embed all texts in one batched call, then write every record in one script call."""
    vectors, _ = await asyncio.gather(
        embedder.aembed_many([record.text for record in records]),
        ensure_namespace_indexes((record.namespace or "" for record in records), embedder),
    )
    # Ids are per owner (repository layout), so no write can meet another user's memory.
    return await store.upsert(list(zip(records, vectors, strict=True)))


async def store_worker_records(
    store: MemoryStore,
    embedder: Embedder,
    records: list[MemoryRecord],
    work: BackgroundWork,
    timestamp: float | None = None,
) -> dict[str, str]:
    """Store records a worker made (promoted or extracted), their local entities already found,
    then queue what else they need tagged; their owners are already set."""
    timestamp = timestamp or now()
    prepared = [prepare(record, timestamp, SYSTEM) for record in records]
    untagged = await entities_before_write(prepared)
    merged = await index_records(store, embedder, prepared)
    await work.tagging([record for record in untagged if record.id not in merged])
    return merged


async def create_memories(
    store: MemoryStore,
    embedder: Embedder,
    principal: Principal,
    request: CreateMemoriesRequest,
    work: BackgroundWork,
) -> CreateMemoriesResult:
    timestamp = now()
    records = [prepare(record, timestamp, principal) for record in request.memories]
    refuse_repeated_ids(((r.namespace, r.user_id, r.id) for r in records), "memories")
    if len(records) > SYNC_BATCH_LIMIT:
        task_id = await work.indexing(records)
        return CreateMemoriesResult(status="queued", task_id=task_id)
    merged = await index_records(store, embedder, records)
    await work.tagging([r for r in records if r.id not in merged])
    return CreateMemoriesResult(
        status="ok",
        stored=[r.id for r in records if r.id not in merged],
        merged=[MergedMemory(id=sent, into=kept) for sent, kept in merged.items()],
    )


async def search_memories(
    store: MemoryStore, embedder: Embedder, principal: Principal, request: SearchRequest
) -> SearchResult:
    request = scoped_filters(request, principal)
    get_metrics().searches.labels(request.search_mode if request.text.strip() else "filter").inc()
    timestamp = now()
    result, keys = await _with_index(lambda: _searched(store, embedder, request, timestamp))
    if keys:
        # Off the response's critical path: mark the hits accessed in one script call.
        task = asyncio.create_task(store.touch(keys, timestamp))
        _background.add(task)
        task.add_done_callback(_touched)
    return result


async def browse_memories(store: MemoryStore, embedder: Embedder, request: SearchRequest) -> SearchResult:
    """A search that is no access (an operator's reading, in the console): the hits' access
    statistics stay as they are. A namespace without memories (or an index) finds nothing."""
    result, _keys = await _with_index(lambda: _searched(store, embedder, request, now()))
    return result


async def _searched(
    store: MemoryStore, embedder: Embedder, request: SearchRequest, timestamp: float
) -> tuple[SearchResult, list[str]]:
    """The search on its namespace's index. A namespace without an index that holds no
    memory is searched on the shared index instead: reading a namespace never creates one."""
    try:
        return await Searcher(store, embedder, request).run(timestamp)
    except MissingIndex as missing:
        namespace = single_namespace(request)
        if namespace is None or not missing.index.startswith(NAMESPACE_INDEX_PREFIX):
            raise
        if await store.count(namespace_query(namespace)):
            raise  # a namespace with memories gets its index back (_with_index)
        return await Searcher(store, embedder, request, own_index=False).run(timestamp)


def _touched(task: asyncio.Task[Any]) -> None:
    _background.discard(task)
    if not task.cancelled() and task.exception() is not None:
        logger.warning("Could not mark search hits accessed: %s", type(task.exception()).__name__)


def _checked_id(memory_id: str, field: str = "memory_id") -> str:
    try:
        return check_identifier(memory_id)
    except ValueError as error:
        raise InvalidInput(field, str(error)) from None


def _checked_ids(memory_ids: list[str]) -> list[str]:
    return [_checked_id(memory_id, f"memory_ids.{index}") for index, memory_id in enumerate(memory_ids)]


def _namespace(principal: Principal, namespace: str | None) -> str:
    return principal.check_namespace(namespace) if namespace else principal.default_namespace()


async def topic_counts(
    store: MemoryStore, principal: Principal, namespace: str | None, limit: int = 200
) -> list[tuple[str, int]]:
    """A namespace's topics, each with how many memories carry it, most common first."""
    return await store.topic_counts(_namespace(principal, namespace), limit)


def _missing(memory_id: str, namespace: str) -> NotFound:
    return NotFound(f"No memory '{memory_id}' in namespace '{namespace}'.")


async def _keys_in_namespace(
    store: MemoryStore, namespace: str, memory_ids: list[str]
) -> dict[str, list[str]]:
    """{id: keys} of the memories with these ids in the namespace, of every user (unbound callers)."""
    filters = MemoryFilters(namespace=TagFilter(eq=namespace))
    query = ids_query(memory_ids, filters)
    keys = await _with_index(lambda: store.keys_matching(query, max(len(memory_ids) * 4, 10)))
    found: dict[str, list[str]] = {}
    for key in keys:
        found.setdefault(id_of(key), []).append(key)
    return found


def _ambiguous(namespace: str, found: dict[str, list[str]]) -> Conflict:
    ids = ", ".join(f"'{memory_id}'" for memory_id in list(found)[:10])
    return Conflict(
        f"Memory ids {ids} are used by several users of namespace '{namespace}'; name the user_id."
    )


async def _memory_keys(
    store: MemoryStore, principal: Principal, namespace: str, memory_ids: list[str], user_id: str | None
) -> dict[str, str]:
    """{id: key} of the named memories that exist (or, for a known owner, would exist).

    Ids are per owner: a caller bound to a user, or naming one, addresses that user's
    memories only, so another user's id looks exactly like a free one. An unbound caller
    naming no user may read every user's memories; an id several of them use is a Conflict.
    """
    owner = principal.check_user(user_id)
    if owner is not None:
        return {memory_id: doc_key(namespace, memory_id, owner) for memory_id in memory_ids}
    found: dict[str, list[str]] = {}
    for start in range(0, len(memory_ids), FORGET_BATCH):
        found |= await _keys_in_namespace(store, namespace, memory_ids[start : start + FORGET_BATCH])
    ambiguous = {memory_id: keys for memory_id, keys in found.items() if len(keys) > 1}
    if ambiguous:
        raise _ambiguous(namespace, ambiguous)
    return {memory_id: keys[0] for memory_id, keys in found.items()}


async def get_memory(
    store: MemoryStore,
    principal: Principal,
    namespace: str | None,
    memory_id: str,
    user_id: str | None = None,
) -> MemoryRecord:
    """A memory by namespace and id; `user_id` names its owner (see `_memory_keys`)."""
    namespace = _namespace(principal, namespace)
    memory_id = _checked_id(memory_id)
    key = (await _memory_keys(store, principal, namespace, [memory_id], user_id)).get(memory_id)
    found = None if key is None else (await store.get_keys([key]))[0]
    if key is None or found is None:
        raise _missing(memory_id, namespace)
    record = MemoryRecord.model_validate_json(found)
    (record,) = await store.with_access([key], [record])
    return check_owner(record, principal)


async def _keys_by_id(
    store: MemoryStore, principal: Principal, memory_ids: list[str], user_id: str | None = None
) -> list[str]:
    """Keys of the memories with these ids in any namespace (and of any user) the caller may read."""
    scope = MemoryFilters() if user_id is None else MemoryFilters(user_id=TagFilter(eq=user_id))
    query = ids_query(memory_ids, scoped_filters(scope, principal))
    return await _with_index(lambda: store.keys_matching(query, max(len(memory_ids) * 4, 10)))


async def find_memory(
    store: MemoryStore, principal: Principal, memory_id: str, user_id: str | None = None
) -> MemoryRecord:
    """A memory by id alone, in whichever namespace (and of whichever user) the caller may read.

    For APIs whose ids are global (upstream /v1); an id used in two places is a Conflict.
    """
    memory_id = _checked_id(memory_id)
    keys = await _keys_by_id(store, principal, [memory_id], user_id)
    if not keys:
        raise NotFound(f"No memory '{memory_id}' in the namespaces this caller may read.")
    if len(keys) > 1:
        raise Conflict(
            f"Memory id '{memory_id}' is used in {len(keys)} namespaces or by {len(keys)} users; "
            "name the namespace and the user_id."
        )
    return await get_memory(store, principal, namespace_of(keys[0]), memory_id, user_of(keys[0]))


async def locate_memory(
    store: MemoryStore,
    principal: Principal,
    namespace: str | None,
    memory_id: str,
    user_id: str | None = None,
) -> MemoryRecord:
    """A memory in the given namespace, or by id alone when none is given (upstream /v1)."""
    if namespace is not None:
        return await get_memory(store, principal, namespace, memory_id, user_id)
    return await find_memory(store, principal, memory_id, user_id)


async def edit_located_memory(
    store: MemoryStore,
    embedder: Embedder,
    principal: Principal,
    where: tuple[str | None, str | None],
    memory_id: str,
    changes: dict[str, Any],
    namespace: str | None = None,
) -> MemoryRecord:
    """`edit_memory` with `changes` (a MemoryPatch's fields) of the memory `locate_memory`
    finds at `where` (namespace, user id). A missing memory is reported first, then a
    `namespace` other than its own (memories do not move between them), then bad changes."""
    record = await locate_memory(store, principal, where[0], memory_id, where[1])
    if namespace is not None and namespace != record.namespace:
        raise InvalidInput(
            "namespace", f"memories do not move between namespaces; this one is in '{record.namespace}'"
        )
    patch = parse(MemoryPatch, changes)
    return await edit_memory(store, embedder, principal, record.namespace, memory_id, patch, record.user_id)


async def delete_memories_by_id(
    store: MemoryStore, principal: Principal, memory_ids: list[str], user_id: str | None = None
) -> DeleteMemoriesResult:
    """Delete memories by id in every namespace (and of every user) the caller may use (upstream /v1)."""
    ids = list(dict.fromkeys(_checked_ids(memory_ids)))
    found: list[str] = []
    for start in range(0, len(ids), FORGET_BATCH):
        found += await _keys_by_id(store, principal, ids[start : start + FORGET_BATCH], user_id)
    deleted = await store.delete_keys(found)
    deleted_ids = {id_of(key) for key in deleted}
    missing = [memory_id for memory_id in ids if memory_id not in deleted_ids]
    return DeleteMemoriesResult(deleted=len(deleted), missing=missing)


async def edit_memory(
    store: MemoryStore,
    embedder: Embedder,
    principal: Principal,
    namespace: str | None,
    memory_id: str,
    patch: MemoryPatch,
    user_id: str | None = None,
) -> MemoryRecord:
    """Apply a partial edit; a new text (or owner) is re-embedded and re-hashed.

    `user_id` names the memory's owner, as for get_memory; `patch.user_id` gives it a new one.
    """
    record = await get_memory(store, principal, namespace, memory_id, user_id)
    changes = patch.model_dump(exclude_unset=True)
    for field, value in changes.items():
        if value is None and field in ("text", "memory_type", "topics", "entities"):
            raise InvalidInput(field, "cannot be null")
    if "user_id" in changes:
        changes["user_id"] = principal.check_user(changes["user_id"])
    updated = record.model_copy(update=changes)
    if updated.text != record.text and "entities" not in changes:
        updated.entities = await entities_after_edit(record, updated)
    updated.updated_at = now()
    updated.memory_hash = memory_hash(updated.text, updated.namespace, updated.user_id)
    key = record_key(record)
    vector = (await store.vectors([key])).get(key)
    if vector is None or updated.text != record.text:
        vector = (await embedder.aembed_many([updated.text]))[0]
    if updated.user_id != record.user_id:  # only unbound callers can give a memory to another user
        return await _move(store, key, updated, vector)
    merged = await store.upsert([(updated, vector)])
    if merged:
        raise Conflict(f"The new text duplicates memory '{merged[updated.id]}'; nothing was changed.")
    return updated


async def _move(store: MemoryStore, key: str, updated: MemoryRecord, vector: Any) -> MemoryRecord:
    try:
        moved = await store.move(key, updated, vector)
    except OwnerTaken as taken:
        if taken.duplicate_of is not None:
            raise Conflict(
                f"The new text duplicates memory '{taken.duplicate_of}'; nothing was changed."
            ) from None
        raise Conflict(
            f"User '{updated.user_id}' already has a memory '{updated.id}' in namespace "
            f"'{updated.namespace}'; nothing was changed."
        ) from None
    if not moved:
        raise _missing(updated.id, updated.namespace or "")
    return updated


async def delete_memories(
    store: MemoryStore,
    principal: Principal,
    namespace: str | None,
    memory_ids: list[str],
    user_id: str | None = None,
) -> DeleteMemoriesResult:
    """Delete memories by namespace and id; `user_id` names their owner, as for get_memory."""
    namespace = _namespace(principal, namespace)
    ids = _checked_ids(memory_ids)
    keys = await _memory_keys(store, principal, namespace, list(dict.fromkeys(ids)), user_id)
    deleted = {id_of(key) for key in await store.delete_keys(list(keys.values()))}
    missing = [memory_id for memory_id in ids if memory_id not in deleted]
    return DeleteMemoriesResult(deleted=len(deleted), missing=missing)


async def forget(store: MemoryStore, principal: Principal, request: ForgetRequest) -> ForgetResult:
    """Delete everything of a namespace, user or session, in batches; a dry run only counts."""
    scope = {
        field: TagFilter(eq=value)
        for field in ("namespace", "user_id", "session_id")
        if (value := getattr(request, field)) is not None
    }
    if not scope:
        raise InvalidInput("namespace", "name at least one of namespace, user_id or session_id to forget")
    query = filter_query(scoped_filters(MemoryFilters(**scope), principal))
    matched = await _with_index(lambda: store.count(query))
    deleted = 0
    if not request.dry_run:
        while keys := await store.keys_matching(query, FORGET_BATCH):
            removed = len(await store.delete_keys(keys))
            deleted += removed
            if not removed:  # deleted by someone else meanwhile; the index catches up
                break
    return ForgetResult(dry_run=request.dry_run, matched=matched, deleted=deleted)


async def _scan(store: MemoryStore, query: str, limit: int, newest_first: bool) -> list[tuple[str, bytes]]:
    """(key, record JSON) of up to `limit` matches of a filter query, by creation time."""
    found: list[tuple[str, bytes]] = []
    while len(found) < limit:
        offset, size = len(found), min(FORGET_BATCH, limit - len(found))

        async def page_at(offset: int = offset, size: int = size) -> list[tuple[str, bytes]]:
            return await store.records(query, offset, size, newest_first=newest_first)

        page = await _with_index(page_at)
        found += page
        if len(page) < size:
            break
    return found


async def list_memories(
    store: MemoryStore, principal: Principal, filters: MemoryFilters, limit: int, newest_first: bool = True
) -> list[MemoryRecord]:
    """Up to `limit` memories matching the filters, by creation time; no access is recorded."""
    query = filter_query(scoped_filters(filters, principal))
    return [
        MemoryRecord.model_validate_json(raw) for _, raw in await _scan(store, query, limit, newest_first)
    ]


async def forget_by_policy(
    store: MemoryStore, principal: Principal, request: PolicyForgetRequest
) -> PolicyForgetResult:
    """Scan a scope's memories (oldest first, up to `limit`) and delete what the policy selects."""
    scope = {
        field: TagFilter(eq=value)
        for field in ("namespace", "user_id", "session_id")
        if (value := getattr(request, field)) is not None
    }
    query = filter_query(scoped_filters(MemoryFilters(**scope), principal))
    candidates = await _scan(store, query, request.limit, newest_first=False)
    keys = [key for key, _ in candidates]
    records = await store.with_access(keys, [MemoryRecord.model_validate_json(raw) for _, raw in candidates])
    chosen = select_for_forgetting(zip(keys, records, strict=True), request.policy, now(), request.pinned_ids)
    ids = {key: record.id for key, record in zip(keys, records, strict=True)}
    deleted = chosen if request.dry_run else await store.delete_keys(chosen)
    return PolicyForgetResult(
        scanned=len(candidates),
        deleted=len(deleted),
        deleted_ids=[ids[key] for key in deleted],
        dry_run=request.dry_run,
    )


def queue_compaction_everywhere(schedule: Callable[..., str]) -> CompactQueued:
    """Queue one compaction run over every namespace and user (the console's operators, who
    see everything)."""
    return CompactQueued(task_id=schedule(namespace=None, user_id=None))


async def queue_compaction(
    principal: Principal, request: CompactRequest, schedule: Callable[..., Awaitable[str]]
) -> CompactQueued:
    """Queue a compaction run for the caller's namespace (and user, when bound to one)."""
    namespace = _namespace(principal, request.namespace)
    user_id = principal.check_user(request.user_id)
    task_id = await schedule(
        namespace=namespace,
        user_id=user_id,
        dry_run=request.dry_run,
        distance_threshold=request.distance_threshold,
    )
    return CompactQueued(task_id=task_id)
