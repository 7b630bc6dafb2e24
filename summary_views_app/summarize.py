"""What a view summarises and how: its memory filters, its partitions, and the model calls."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime

from longterm_app.records import MemoryRecord
from longterm_app.schemas import MemoryFilters, NumericFilter, TagFilter
from memoryserver.tokens import count_message
from providers.llm import ChatMessage, ChatModel
from summary_views_app.repository import partition_key
from summary_views_app.schemas import SummaryView

SECONDS_PER_DAY = 86_400
# Per model call, at most this many tokens of memories: large partitions fold in bounded calls.
CHUNK_TOKENS = 6_000
SUMMARY_MAX_WORDS = 300
EMPTY_SUMMARY = "No memories match this partition."
DEFAULT_INSTRUCTIONS = (
    "You summarise long-term memories that an AI assistant keeps about its users. Write a concise "
    "summary of the memories below: key facts, stable preferences and important events, with their "
    "dates. Keep names and numbers exact; leave out nothing that matters and invent nothing."
)


def view_filters(view: SummaryView, group: dict[str, str] | None, now: float) -> MemoryFilters:
    """The memories of one partition (or, without a group, of the whole view)."""
    fixed: dict[str, str] = {field: value for field, value in view.filters.items()}
    fixed.update(group or {})
    conditions: dict[str, object] = {field: TagFilter(eq=value) for field, value in fixed.items()}
    if view.time_window_days is not None:
        conditions["created_at"] = NumericFilter(gte=now - view.time_window_days * SECONDS_PER_DAY)
    return MemoryFilters.model_validate(conditions)


def partitions(
    view: SummaryView, records: Iterable[MemoryRecord]
) -> dict[str, tuple[dict[str, str], list[MemoryRecord]]]:
    """Records grouped by the view's group_by values; records lacking one of them belong to none."""
    groups: dict[str, tuple[dict[str, str], list[MemoryRecord]]] = {}
    for record in records:
        values: dict[str, str | None] = {field: getattr(record, field) for field in view.group_by}
        if any(value is None for value in values.values()):
            continue
        group = {field: str(value) for field, value in values.items()}
        groups.setdefault(partition_key(group), (group, []))[1].append(record)
    return groups


def _line(record: MemoryRecord) -> str:
    when = ""
    if record.event_date is not None:
        when = f" (on {datetime.fromtimestamp(record.event_date, UTC).date().isoformat()})"
    return f"- {record.text}{when}"


def _chunks(records: list[MemoryRecord]) -> Iterator[list[str]]:
    chunk: list[str] = []
    used = 0
    for record in records:
        line = _line(record)
        cost = count_message(line)
        if chunk and used + cost > CHUNK_TOKENS:
            yield chunk
            chunk, used = [], 0
        chunk.append(line)
        used += cost
    if chunk:
        yield chunk


def summarize(model: ChatModel, view: SummaryView, group: dict[str, str], records: list[MemoryRecord]) -> str:
    """The partition's summary: one model call per chunk, each folding its memories into the last."""
    if not records:
        return EMPTY_SUMMARY
    instructions = (view.prompt or DEFAULT_INSTRUCTIONS).strip()
    system = f"{instructions}\n\nAnswer with the summary only, at most {SUMMARY_MAX_WORDS} words."
    summary = ""
    for lines in _chunks(records):
        so_far = f"Summary so far (update it with the new memories):\n{summary}\n\n" if summary else ""
        prompt = f"Partition: {json.dumps(group, sort_keys=True)}\n\n{so_far}Memories:\n" + "\n".join(lines)
        result = model.complete(
            [ChatMessage("system", system), ChatMessage("user", prompt)], task="summary_view", max_tokens=1024
        )
        summary = result.text.strip() or summary
    return summary or EMPTY_SUMMARY
