"""Our service models to and from the /v1 shapes: ISO date-times, nulls, upstream defaults."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from longterm_app.records import MemoryRecord, MemoryType
from longterm_app.schemas import MemoryHit, SearchMode, SearchResult
from longterm_app.strategies import MemoryStrategy
from memoryserver.errors import InvalidInput
from memoryserver.validation import parse
from sessions_app.schemas import AppendMessagesInput, Message, WorkingMemory, WorkingMemoryInput
from summary_views_app.schemas import PartitionResult, SummaryView
from upstream.arguments import MemoryArg
from upstream.schemas import (
    AppendMessagesV1,
    MemoryIn,
    MemoryMessageV1,
    MemoryRecordResultsResponse,
    MemoryRecordResultV1,
    MemoryRecordV1,
    MemoryStrategyConfig,
    SummaryViewPartitionResult,
    SummaryViewV1,
    UpdateWorkingMemory,
    WorkingMemoryResponse,
)


def iso(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp, UTC)


def _iso_or_none(timestamp: float | None) -> datetime | None:
    return None if timestamp is None else iso(timestamp)


def record_v1(record: MemoryRecord) -> MemoryRecordV1:
    return MemoryRecordV1(**_record_fields(record))


_TIMES = {"created_at", "updated_at", "last_accessed", "persisted_at", "event_date"}


def _record_fields(record: MemoryRecord, exclude: set[str] = _TIMES) -> dict[str, Any]:
    return {
        **record.model_dump(exclude=exclude),
        "created_at": iso(record.created_at),
        "updated_at": iso(record.updated_at),
        "last_accessed": iso(record.last_accessed),
        "persisted_at": _iso_or_none(record.persisted_at),
        "event_date": _iso_or_none(record.event_date),
    }


def _unit(value: float) -> float:
    return min(1.0, max(0.0, value))


def hit_v1(hit: MemoryHit, mode: SearchMode | None) -> MemoryRecordResultV1:
    """A search hit; `dist` is the cosine distance capped at 1 (the client shows 1 - dist).

    Keyword hits and filter-only listings have no distance: theirs is 1 - score.
    """
    dist = _unit(hit.dist) if hit.dist is not None else 1.0 - _unit(hit.score)
    return MemoryRecordResultV1(
        **_record_fields(hit, _TIMES | {"dist", "score"}),
        dist=dist,
        score=_unit(hit.score) if mode else None,
        score_type=mode,
    )


def results_v1(result: SearchResult, text: str, mode: SearchMode) -> MemoryRecordResultsResponse:
    scored = mode if text.strip() else None
    return MemoryRecordResultsResponse(
        memories=[hit_v1(hit, scored) for hit in result.memories],
        total=result.total,
        next_offset=result.next_offset,
    )


def message_v1(message: Message) -> MemoryMessageV1:
    return MemoryMessageV1(
        role=message.role,
        content=message.content,
        id=message.id,
        created_at=iso(message.created_at),
        discrete_memory_extracted=message.discrete_memory_extracted,
    )


def strategy_v1(strategy: MemoryStrategy) -> MemoryStrategyConfig:
    config = {"custom_prompt": strategy.custom_prompt} if strategy.custom_prompt else {}
    return MemoryStrategyConfig(strategy=strategy.strategy, config=config)


def strategy_in(config: MemoryStrategyConfig | None) -> dict[str, Any]:
    if config is None:
        return {}
    return {"strategy": config.strategy, "custom_prompt": config.config.get("custom_prompt")}


def working_memory_v1(
    memory: WorkingMemory, percentages: tuple[float, float] | tuple[None, None]
) -> WorkingMemoryResponse:
    total, until = percentages
    return WorkingMemoryResponse(
        messages=[message_v1(message) for message in memory.messages],
        memories=[record_v1(record) for record in memory.memories],
        data=memory.data,
        context=memory.context,
        user_id=memory.user_id,
        tokens=memory.tokens,
        session_id=memory.session_id,
        namespace=memory.namespace,
        long_term_memory_strategy=strategy_v1(memory.long_term_memory_strategy),
        ttl_seconds=memory.ttl_seconds,
        last_accessed=iso(memory.last_accessed),
        created_at=iso(memory.created_at),
        updated_at=iso(memory.updated_at),
        context_percentage_total_used=total,
        context_percentage_until_summarization=until,
    )


def refuse_pinned(field: str, pinned: bool | None) -> None:
    """Upstream clients can pin memories; this server cannot, and says so rather than ignore it."""
    if pinned:
        raise InvalidInput(field, "pinning memories is not supported by this server; omit it")


def tool_memory_payloads(memories: Sequence[MemoryArg] | None) -> list[dict[str, Any]]:
    """An MCP tool's `memories` as our records' fields; `pinned: true` is refused by name."""
    for index, memory in enumerate(memories or []):
        refuse_pinned(f"memories.{index}.pinned", memory.pinned)
    return [memory.payload() for memory in memories or []]


def memory_payload(memory: MemoryIn, field: str, memory_type: MemoryType, extracted: str) -> dict[str, Any]:
    """A /v1 memory as our record's fields, with the upstream defaults of this call."""
    refuse_pinned(f"{field}.pinned", memory.pinned)
    payload = memory.payload()
    payload.setdefault("memory_type", memory_type)
    payload.setdefault("discrete_memory_extracted", extracted)
    return payload


def memory_records(memories: list[MemoryIn], memory_type: MemoryType, extracted: str) -> list[MemoryRecord]:
    return [
        parse(MemoryRecord, memory_payload(memory, f"memories.{i}", memory_type, extracted), f"memories.{i}")
        for i, memory in enumerate(memories)
    ]


def working_memory_input(body: UpdateWorkingMemory) -> WorkingMemoryInput:
    """A PUT body as ours: memories default to type 'message', as upstream's working memory does."""
    payload = {
        "messages": [message.model_dump(exclude_none=True) for message in body.messages],
        "memories": [
            memory_payload(memory, f"memories.{i}", "message", "f") for i, memory in enumerate(body.memories)
        ],
        "context": body.context,
        "data": body.data,
        "namespace": body.namespace,
        "user_id": body.user_id,
        "ttl_seconds": body.ttl_seconds or None,
        "long_term_memory_strategy": strategy_in(body.long_term_memory_strategy),
    }
    return parse(WorkingMemoryInput, payload)


def append_input(body: AppendMessagesV1) -> AppendMessagesInput:
    payload = {
        "messages": [message.model_dump(exclude_none=True) for message in body.messages],
        "namespace": body.namespace,
        "user_id": body.user_id,
        "ttl_seconds": body.ttl_seconds or None,
    }
    return parse(AppendMessagesInput, payload)


def summary_view_v1(view: SummaryView) -> SummaryViewV1:
    return SummaryViewV1(**view.model_dump(exclude={"created_at"}))


def partition_v1(result: PartitionResult) -> SummaryViewPartitionResult:
    return SummaryViewPartitionResult(
        **result.model_dump(exclude={"computed_at"}), computed_at=iso(result.computed_at)
    )
