"""Long-term memory as the console uses it: reads through the search code, writes through the services.

Console reads do not count as accesses: an operator browsing memories must not change
what agents' recency-ranked searches return. Every write goes through
`longterm_app.services`, exactly as the REST API's do.
"""

from __future__ import annotations

from collections import defaultdict

from longterm_app import services
from longterm_app.records import MemoryRecord
from longterm_app.repository import MemoryStore
from longterm_app.schemas import MemoryPatch, SearchRequest, SearchResult
from memoryserver.auth.principal import Principal
from providers.embeddings import get_embedder

from .runner import with_memory_store

BULK_BATCH = 100


async def _search(store: MemoryStore, request: SearchRequest) -> SearchResult:
    return await services.browse_memories(store, get_embedder(), request)


def search(request: SearchRequest) -> SearchResult:
    return with_memory_store(lambda store: _search(store, request))


def listing(filters: SearchRequest, limit: int) -> SearchRequest:
    """The filters alone (no query text), newest first: what a bulk delete acts on."""
    return filters.model_copy(update={"text": "", "offset": 0, "limit": limit})


def count(filters: SearchRequest) -> int:
    """How many memories the filters match."""
    return search(listing(filters, 1)).total


def topics(principal: Principal, namespace: str) -> list[tuple[str, int]]:
    """The namespace's topics with their memory counts, most common first."""
    return with_memory_store(lambda store: services.topic_counts(store, principal, namespace))


def get(principal: Principal, namespace: str, memory_id: str, user_id: str | None = None) -> MemoryRecord:
    """One memory; `user_id` names its owner (ids are unique per namespace and user)."""
    return with_memory_store(
        lambda store: services.get_memory(store, principal, namespace, memory_id, user_id)
    )


def edit(
    principal: Principal, namespace: str, memory_id: str, patch: MemoryPatch, user_id: str | None = None
) -> MemoryRecord:
    """Apply the edit with the API's service: a new text is re-embedded."""
    return with_memory_store(
        lambda store: services.edit_memory(
            store, get_embedder(), principal, namespace, memory_id, patch, user_id
        )
    )


def delete(principal: Principal, namespace: str, memory_id: str, user_id: str | None = None) -> int:
    async def run(store: MemoryStore) -> int:
        return (await services.delete_memories(store, principal, namespace, [memory_id], user_id)).deleted

    return with_memory_store(run)


async def _delete_matches(store: MemoryStore, principal: Principal, filters: SearchRequest, most: int) -> int:
    deleted = 0
    while deleted < most:
        page = await _search(store, listing(filters, min(BULK_BATCH, most - deleted)))
        ids_by_owner: dict[tuple[str, str | None], list[str]] = defaultdict(list)
        for memory in page.memories:
            ids_by_owner[(memory.namespace or "", memory.user_id)].append(memory.id)
        removed = 0
        for (namespace, user_id), ids in ids_by_owner.items():
            removed += (await services.delete_memories(store, principal, namespace, ids, user_id)).deleted
        if not removed:  # nothing left (or someone else deleted them meanwhile)
            break
        deleted += removed
    return deleted


def bulk_delete(principal: Principal, filters: SearchRequest, most: int) -> int:
    """Delete the memories the filters match, at most `most` of them (the count confirmed)."""
    return with_memory_store(lambda store: _delete_matches(store, principal, filters, most))
