"""Compaction: merge exact and near-duplicate memories of the same owner (namespace and user).

Exact duplicates (same `memory_hash`) merge without a model. Near duplicates (vector
distance within the threshold) are merged into one text by the chat model, one call per
group; without a chat model they are reported and left alone. A merge keeps the earliest
memory's id, the union of topics, entities and sources, the earliest `created_at`, the
latest `last_accessed` and the summed access count, and is written in one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from longterm_app.queries import filter_query
from longterm_app.records import MemoryRecord, memory_hash
from longterm_app.repository import MemoryStore
from longterm_app.schemas import MemoryFilters, TagFilter
from memoryserver.fields import now
from providers.embeddings import Embedder
from providers.llm import ChatMessage, ChatModel

SCAN_PAGE = 500
NEIGHBOURS = 20
MAX_MODEL_MERGES = 100  # model calls per run are bounded
REPORTED_GROUPS = 100
# Near-duplicate chains (A~B, B~C, ...) can join memories that are not alike end to end:
# larger groups are reported, not merged.
MAX_GROUP = 10

MERGE_PROMPT = (
    "These memories about the same user say nearly the same thing. Merge them into one memory: "
    "one or two standalone sentences that keep every distinct detail (names, dates, numbers). "
    "Where they conflict, prefer the most recent. Answer with the merged memory only."
)


@dataclass
class Group:
    members: list[tuple[str, MemoryRecord]]  # (key, record), earliest first
    exact: bool

    def summary(self) -> dict[str, Any]:
        keep, *rest = self.members
        return {
            "keep": keep[1].id,
            "merge": [r.id for _, r in rest],
            "kind": "exact" if self.exact else "near",
        }


@dataclass
class Report:
    dry_run: bool
    scanned: int = 0
    exact_groups: int = 0
    near_groups: int = 0
    removed: int = 0
    skipped_groups: int = 0
    skipped_reason: str | None = None
    groups: list[dict[str, Any]] = field(default_factory=list)


def _scope(namespace: str | None, user_id: str | None) -> str:
    filters = MemoryFilters(
        namespace=TagFilter(eq=namespace) if namespace else None,
        user_id=TagFilter(eq=user_id) if user_id else None,
    )
    return filter_query(filters)


def _owner(record: MemoryRecord) -> tuple[str, str]:
    return record.namespace or "", record.user_id or ""


class _Components:
    """Union-find over memory keys."""

    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, key: str) -> str:
        self.parent.setdefault(key, key)
        while self.parent[key] != key:
            self.parent[key] = self.parent[self.parent[key]]
            key = self.parent[key]
        return key

    def union(self, a: str, b: str) -> None:
        self.parent[self.find(a)] = self.find(b)


async def _scan(store: MemoryStore, query: str, limit: int) -> dict[str, MemoryRecord]:
    records: dict[str, MemoryRecord] = {}
    while len(records) < limit:
        page = await store.records(query, len(records), min(SCAN_PAGE, limit - len(records)))
        records.update((key, MemoryRecord.model_validate_json(raw)) for key, raw in page)
        if len(page) < SCAN_PAGE:
            break
    return records


def _join_exact(records: dict[str, MemoryRecord], components: _Components) -> None:
    first_of: dict[tuple[str, str, str], str] = {}
    for key, record in records.items():
        content = record.memory_hash or memory_hash(record.text, record.namespace, record.user_id)
        identity = (*_owner(record), content)
        components.union(key, first_of.setdefault(identity, key))


async def _join_near(
    store: MemoryStore,
    query: str,
    records: dict[str, MemoryRecord],
    threshold: float,
    components: _Components,
) -> None:
    """Join each memory with its neighbours of the same owner: one pipelined round trip per page."""
    keys = list(records)
    for start in range(0, len(keys), SCAN_PAGE):
        batch = keys[start : start + SCAN_PAGE]
        vectors = await store.vectors(batch)
        present = [key for key in batch if key in vectors]
        hits = await store.neighbours(query, [vectors[key] for key in present], threshold, NEIGHBOURS)
        for key, neighbours in zip(present, hits, strict=True):
            owner = _owner(records[key])
            for hit in neighbours:
                other = records.get(hit.key)
                if other is not None and _owner(other) == owner:
                    components.union(key, hit.key)


async def find_groups(
    store: MemoryStore,
    namespace: str | None,
    user_id: str | None,
    threshold: float,
    limit: int,
    exact: bool = True,
    near: bool = True,
) -> tuple[int, list[Group]]:
    """(memories scanned, groups of exact and/or near duplicates), oldest memory first in each group."""
    query = _scope(namespace, user_id)
    records = await _scan(store, query, limit)
    components = _Components()
    if exact:
        _join_exact(records, components)
    if near:
        await _join_near(store, query, records, threshold, components)
    members: dict[str, list[str]] = {}
    for key in records:
        members.setdefault(components.find(key), []).append(key)
    groups = []
    for group_keys in members.values():
        if len(group_keys) > 1:
            ordered = sorted(group_keys, key=lambda k: (records[k].created_at, records[k].id))
            hashes = {records[k].memory_hash for k in ordered}
            groups.append(Group([(k, records[k]) for k in ordered], exact=len(hashes) == 1))
    return len(records), groups


def merged_record(group: Group, text: str, access: dict[str, tuple[int, float]]) -> MemoryRecord:
    """The keeper updated with what every member knew."""
    records = [record for _, record in group.members]
    keep = records[0]

    def union(values: list[list[str]]) -> list[str]:
        seen: dict[str, str] = {}
        for items in values:
            for item in items:
                seen.setdefault(item.casefold(), item)
        return list(seen.values())[:100]

    counts = [access.get(key, (record.access_count, record.last_accessed)) for key, record in group.members]
    return keep.model_copy(
        update={
            "text": text,
            "topics": union([r.topics for r in records]),
            "entities": union([r.entities for r in records]),
            "created_at": min(r.created_at for r in records),
            "last_accessed": max(last for _, last in counts),
            "access_count": sum(count for count, _ in counts),
            "extracted_from": union([r.extracted_from for r in records] + [[r.id for r in records[1:]]])[
                :1000
            ],
            "updated_at": now(),
            "memory_hash": memory_hash(text, keep.namespace, keep.user_id),
        }
    )


def merge_text(model: ChatModel, group: Group) -> str:
    listing = "\n".join(f"- {record.text}" for _, record in group.members)
    result = model.complete(
        [ChatMessage("system", MERGE_PROMPT), ChatMessage("user", listing)], task="compaction", max_tokens=512
    )
    return result.text.strip()


async def compact(
    store: MemoryStore,
    embedder: Embedder,
    model: ChatModel | None,
    *,
    namespace: str | None = None,
    user_id: str | None = None,
    threshold: float,
    dry_run: bool = False,
    limit: int = 10_000,
    unavailable_reason: str | None = None,
    exact: bool = True,
    near: bool = True,
) -> Report:
    report = Report(dry_run=dry_run)
    report.scanned, groups = await find_groups(store, namespace, user_id, threshold, limit, exact, near)
    report.exact_groups = sum(group.exact for group in groups)
    report.near_groups = len(groups) - report.exact_groups
    report.groups = [group.summary() for group in groups[:REPORTED_GROUPS]]
    if dry_run:
        return report
    model_merges = 0
    for group in groups:
        if not group.exact and len(group.members) > MAX_GROUP:
            report.skipped_groups += 1
            report.skipped_reason = f"groups of more than {MAX_GROUP} similar memories are only reported"
            continue
        if group.exact:
            text = group.members[0][1].text
        elif model is None or model_merges >= MAX_MODEL_MERGES:
            report.skipped_groups += 1
            report.skipped_reason = unavailable_reason if model is None else "model merges per run reached"
            continue
        else:
            text = merge_text(model, group)
            model_merges += 1
            if not text:
                report.skipped_groups += 1
                continue
        keys = [key for key, _ in group.members]
        stats = await store.access_stats(keys)
        access = {
            key: (record.access_count + stats[key].count, max(record.last_accessed, stats[key].last))
            if key in stats
            else (record.access_count, record.last_accessed)
            for key, record in group.members
        }
        merged = merged_record(group, text, access)
        keep_key = keys[0]
        if text == group.members[0][1].text:
            vector = (await store.vectors([keep_key]))[keep_key]
        else:
            vector = (await embedder.aembed_many([text]))[0]
        expected = {key: record.memory_hash for key, record in group.members}
        if await store.replace(keys, [(merged, vector)], expected):
            report.removed += len(keys) - 1
        else:  # a member was edited or deleted meanwhile: the next run sees the new state
            report.skipped_groups += 1
            report.skipped_reason = "a memory of the group changed during compaction"
    return report
