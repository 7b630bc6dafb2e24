"""Topics and entities for memories stored without them, filled in by the worker.

Entities come from the local model (longterm_app/entities.py) or from the chat model, as
`providers.features.entity_extractor` decides; topics from the chat model or from the
namespace's BERTopic model (longterm_app/topic_model.py), as `topic_tagger` decides. A batch
needs at most one chat-model call, for whatever the chat model tags. A namespace without a
topic model yet gets its topics when one is fitted (tasks.fit_namespace_topics).
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable, Mapping, Sequence

from django.conf import settings
from pydantic import BaseModel, Field

from longterm_app.entities import local_entities
from longterm_app.extraction import clean_tags
from longterm_app.records import MemoryRecord
from longterm_app.repository import MemoryStore, doc_key, record_key
from longterm_app.topic_model import FittedTopics, assign_topics
from memoryserver.machine_load import OtherLoad
from providers.features import entity_extractor, topic_tagger
from providers.llm import ChatMessage, ChatModel

BATCH = 25  # memories per chat-model call
LOCAL_BATCH = 200  # memories per write when only the local model tags
LOCAL_CHUNK = 32  # memories the local model tags between two looks at the machine's load (~0.1 s)
# The rest of the machine is busy when it keeps more than this share of its cores working
# (our own tag writes keep Redis re-indexing, about half a core on two).
BUSY_SHARE = 0.5

PROMPT = (
    "For each numbered memory, give 1-3 short lower-case topics (what it is about, e.g. 'travel', "
    "'food', 'work') and the named entities it mentions (people, places, organisations, products, "
    "exactly as written). Answer for every number."
)


class Tags(BaseModel):
    number: int = Field(description="The memory's number in the list.")
    topics: list[str] = Field(default_factory=list)
    entities: list[str] = Field(default_factory=list)


class Tagging(BaseModel):
    memories: list[Tags] = Field(default_factory=list, max_length=BATCH * 2)


def tagging_enabled() -> bool:
    return topic_tagger()[0] != "off" or entity_extractor()[0] != "off"


def missing_tags(records: Sequence[MemoryRecord]) -> list[MemoryRecord]:
    """The records something will tag: no topics while topics are tagged, or no entities while
    entities are."""
    topics, entities = topic_tagger()[0] != "off", entity_extractor()[0] != "off"
    return [
        record for record in records if (topics and not record.topics) or (entities and not record.entities)
    ]


def _chat_tags(model: ChatModel, batch: list[MemoryRecord]) -> dict[int, Tags]:
    listing = "\n".join(f"{number}. {record.text}" for number, record in enumerate(batch, 1))
    result = model.complete(
        [ChatMessage("system", PROMPT), ChatMessage("user", listing)], schema=Tagging, task="tagging"
    )
    return {tags.number: tags for tags in result.data.memories}


async def entities_before_write(records: list[MemoryRecord]) -> list[MemoryRecord]:
    """Give memories a worker made (promoted, extracted) their local entities before their first
    write, so each is indexed once instead of again when tagged; return those that still need
    tagging afterwards (topics)."""
    if entity_extractor()[0] != "local":
        return records
    untagged = [record for record in records if not record.entities]
    found = await asyncio.to_thread(local_entities, [record.text for record in untagged])
    for record, names in zip(untagged, found, strict=True):
        record.entities = names
    topics = topic_tagger()[0] != "off"
    return [record for record in records if topics and not record.topics]


async def entities_after_edit(old: MemoryRecord, new: MemoryRecord) -> list[str]:
    """The entities of a memory whose text an edit changed without naming its entities.

    Entities the local model found in the old text are stale once the text changes: they are
    found again in the new one. Entities it did not find there (a client's own, or a chat
    model's) are kept, since nothing here can tell whether they still hold; a memory that
    holds only such entities keeps them as they are.
    """
    if entity_extractor()[0] != "local":
        return new.entities
    before, after = await asyncio.to_thread(local_entities, [old.text, new.text])
    found = {name.casefold() for name in before}
    given = [name for name in old.entities if name.casefold() not in found]
    if old.entities and len(given) == len(old.entities):
        return new.entities
    return clean_tags([*after, *given])


async def _local_entities(batch: list[MemoryRecord]) -> list[list[str]]:
    """The local model's entities of each memory, found in chunks: flat out while the rest of
    the machine is idle, and while it is busy (requests, embedding an ingest) working at most
    ENRICHMENT_CPU_SHARE of the time, pausing after each chunk, so it slows requests little
    and still gets on. On two cores, tagging flat out during an ingest slowed it by 20 %, even
    in a thread that got only idle CPU (SCHED_IDLE, which starves it under steady load);
    working 20 % of the time while the machine is busy, by 9 % (bench/enrichment.py)."""
    share, load = float(settings.ENRICHMENT_CPU_SHARE), OtherLoad()
    found: list[list[str]] = []
    for start in range(0, len(batch), LOCAL_CHUNK):
        began = time.perf_counter()
        texts = [record.text for record in batch[start : start + LOCAL_CHUNK]]
        found += await asyncio.to_thread(local_entities, texts)
        if share < 1 and load.cores() > BUSY_SHARE * (os.cpu_count() or 1):
            await asyncio.sleep((time.perf_counter() - began) * (1 / share - 1))
            load.cores()  # the next reading covers the next chunk only
    return found


# The memories of one owner: (namespace, memory ids, user id or None).
Group = tuple[str, list[str], str | None]


async def tag_records(
    store: MemoryStore,
    chat_model: Callable[[], ChatModel],
    groups: Sequence[Group],
    topic_models: Mapping[str, FittedTopics | None] | None = None,
) -> int:
    """Tag the memories that still lack topics or entities, in batches shared by all their
    owners; return how many were updated. `chat_model` gives the chat model, asked for only
    when a batch needs it; `topic_models` holds each namespace's BERTopic model, when topics
    come from one."""
    keys = [doc_key(namespace, memory_id, user) for namespace, ids, user in groups for memory_id in ids]
    found = await store.get_keys(keys)  # one round trip for every owner
    records = missing_tags([MemoryRecord.model_validate_json(raw) for raw in found if raw is not None])
    topics_by, entities_by = topic_tagger()[0], entity_extractor()[0]
    chat = topics_by == "llm" or entities_by == "llm"
    size = BATCH if chat else LOCAL_BATCH
    updated = 0
    for start in range(0, len(records), size):
        batch = records[start : start + size]
        answers = _chat_tags(chat_model(), batch) if chat else {}
        local = await _local_entities(batch) if entities_by == "local" else [[] for _ in batch]
        modelled = await _modelled_topics(store, topic_models or {}, batch) if topics_by == "bertopic" else {}
        tags = []
        for number, (record, found_entities) in enumerate(zip(batch, local, strict=True), 1):
            answer = answers.get(number)
            topics = []
            if not record.topics and topics_by == "llm" and answer:
                topics = clean_tags(answer.topics)
            elif not record.topics and record_key(record) in modelled:
                topics = [modelled[record_key(record)]]
            if entities_by == "llm":
                found_entities = clean_tags(answer.entities) if answer else []
            entities = found_entities if entities_by != "off" and not record.entities else []
            if topics or entities:
                tags.append((record, topics, entities))
        updated += await store.fill_tags(tags)
    return updated


async def _modelled_topics(
    store: MemoryStore, models: Mapping[str, FittedTopics | None], batch: list[MemoryRecord]
) -> dict[str, str]:
    """{memory key: topic label} from each namespace's topic model, for those near a topic."""
    untagged = [record for record in batch if not record.topics and models.get(record.namespace or "")]
    vectors = await store.vectors([record_key(record) for record in untagged])
    by_namespace: dict[str, list[MemoryRecord]] = {}
    for record in untagged:
        if record_key(record) in vectors:
            by_namespace.setdefault(record.namespace or "", []).append(record)
    labelled: dict[str, str] = {}
    for namespace, present in by_namespace.items():
        model = models[namespace]
        assert model is not None  # only namespaces with a model have untagged records here
        labels = assign_topics(model, [vectors[record_key(record)] for record in present])
        labelled |= {
            record_key(record): label
            for record, label in zip(present, labels, strict=True)
            if label is not None
        }
    return labelled
