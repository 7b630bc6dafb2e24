"""Summary views: named, partitioned summaries of long-term memories, and their results."""

from __future__ import annotations

from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, field_validator

from longterm_app.records import MemoryType
from memoryserver.fields import Identifier, Timestamp, check_identifier

GroupField = Literal["user_id", "namespace", "session_id", "memory_type"]
GROUP_FIELDS: tuple[GroupField, ...] = ("user_id", "namespace", "session_id", "memory_type")
MEMORY_TYPES: tuple[str, ...] = get_args(MemoryType)


def _checked_value(field: str, value: str) -> str:
    if field == "memory_type":
        if value not in MEMORY_TYPES:
            raise ValueError(f"memory_type '{value}' is not one of {', '.join(MEMORY_TYPES)}")
        return value
    try:
        return check_identifier(value)
    except ValueError as error:
        raise ValueError(f"{field} '{value}' {error}") from None


class SummaryViewSpec(BaseModel):
    """What a view summarises and how it partitions the memories; everything but the id."""

    model_config = ConfigDict(extra="ignore")

    name: str | None = Field(None, max_length=200, description="A human-readable name.")
    source: Literal["long_term", "working_memory"] = Field(
        description="Memories summarised; only 'long_term' is available ('working_memory' is reserved)."
    )
    group_by: list[GroupField] = Field(
        default_factory=list, max_length=4, description="One summary per combination of these fields."
    )
    filters: dict[GroupField, str] = Field(
        default_factory=dict,
        description="Fixed conditions, e.g. {'namespace': 'chat', 'memory_type': 'episodic'}.",
    )
    time_window_days: int | None = Field(
        None, ge=1, le=36_500, description="Only memories created in the last so many days."
    )
    continuous: bool = Field(False, description="A worker refreshes every partition periodically.")
    prompt: str | None = Field(None, max_length=10_000, description="Instructions for the summariser.")
    model_name: str | None = Field(
        None, min_length=1, max_length=200, description="Chat model; default FAST_MODEL (GENERATION_MODEL)."
    )

    @field_validator("source")
    @classmethod
    def _long_term_only(cls, source: str) -> str:
        if source != "long_term":
            raise ValueError("only 'long_term' is available; 'working_memory' is reserved for later")
        return source

    @field_validator("group_by")
    @classmethod
    def _distinct(cls, fields: list[GroupField]) -> list[GroupField]:
        if len(set(fields)) != len(fields):
            raise ValueError("names a field twice")
        return fields

    @field_validator("filters", mode="before")
    @classmethod
    def _null_is_empty(cls, value: object) -> object:
        return {} if value is None else value

    @field_validator("filters")
    @classmethod
    def _filter_values(cls, filters: dict[GroupField, str]) -> dict[GroupField, str]:
        return {field: _checked_value(field, value) for field, value in filters.items()}


class SummaryView(SummaryViewSpec):
    id: Identifier
    created_at: Timestamp


def checked_group(view: SummaryView, group: dict[str, str]) -> dict[str, str]:
    """A partition of the view: exactly its group_by fields, with valid values (ValueError otherwise)."""
    if set(group) != set(view.group_by):
        expected = ", ".join(view.group_by) or "no fields"
        raise ValueError(f"names {', '.join(sorted(group)) or 'no fields'}; this view groups by {expected}")
    return {field: _checked_value(field, group[field]) for field in view.group_by}


class PartitionResult(BaseModel):
    """The summary of one partition, e.g. group {"user_id": "alice"}."""

    view_id: str
    group: dict[str, str]
    summary: str
    memory_count: int = Field(ge=0)
    computed_at: Timestamp
