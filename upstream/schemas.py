"""The upstream /v1 shapes (upstream-openapi.json): field names, enum values and defaults.

Responses carry times as ISO-8601 date-times (UTC); requests accept them as ISO-8601 or
epoch seconds. Class names end in V1 where ours would clash in the OpenAPI schema.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from longterm_app.records import MemoryType
from longterm_app.schemas import SearchMode
from memoryserver.validation import object_or_flag
from sessions_app.prompt import PromptMessage
from upstream.arguments import MemoryArg
from upstream.filters import DateTime, TagFilterV1, TimeFilterArg

Flag = Literal["t", "f"]
TaskStatus = Literal["pending", "running", "success", "failed"]


class AckResponse(BaseModel):
    status: str


class CompactAck(AckResponse):
    task_id: str = Field(description="The queued compaction: GET /v1/tasks/{task_id}.")


class HealthCheckResponse(BaseModel):
    now: int = Field(description="Milliseconds since the epoch.")


class SessionListResponse(BaseModel):
    sessions: list[str]
    total: int


class MemoryStrategyConfig(BaseModel):
    model_config = ConfigDict(extra="ignore")

    strategy: Literal["discrete", "summary", "preferences", "custom"] = "discrete"
    config: dict[str, Any] = Field(default_factory=dict, description="'custom' takes a custom_prompt.")


class MemoryMessageV1(BaseModel):
    role: str
    content: str
    id: str
    created_at: datetime
    persisted_at: datetime | None = None
    discrete_memory_extracted: Flag = "f"


class MemoryRecordV1(BaseModel):
    id: str
    text: str
    session_id: str | None = None
    user_id: str | None = None
    namespace: str | None = None
    last_accessed: datetime
    created_at: datetime
    updated_at: datetime
    pinned: bool = False
    access_count: int = 0
    topics: list[str] | None = None
    entities: list[str] | None = None
    memory_hash: str | None = None
    discrete_memory_extracted: Flag = "f"
    memory_type: MemoryType = "message"
    persisted_at: datetime | None = None
    extracted_from: list[str] | None = None
    event_date: datetime | None = None
    extraction_strategy: str = "discrete"
    extraction_strategy_config: dict[str, Any] = Field(default_factory=dict)


class MemoryRecordResultV1(MemoryRecordV1):
    dist: float = Field(description="Cosine distance to the query, 0 (same) to 1 (unrelated or opposite).")
    score: float | None = Field(None, description="Relevance in this search mode, 0-1.")
    score_type: SearchMode | None = None


class MemoryRecordResultsResponse(BaseModel):
    memories: list[MemoryRecordResultV1]
    total: int
    next_offset: int | None = None


class WorkingMemoryResponse(BaseModel):
    messages: list[MemoryMessageV1]
    memories: list[MemoryRecordV1]
    data: dict[str, Any] | None = None
    context: str | None = None
    user_id: str | None = None
    tokens: int = 0
    session_id: str
    namespace: str | None = None
    long_term_memory_strategy: MemoryStrategyConfig
    ttl_seconds: int | None = None
    last_accessed: datetime
    created_at: datetime
    updated_at: datetime
    context_percentage_total_used: float | None = Field(
        None, description="Share (0-100) of the client model's window used; null without model_name."
    )
    context_percentage_until_summarization: float | None = Field(
        None, description="Progress (0-100) towards the summarisation threshold; null without model_name."
    )


class MemoryPromptResponseV1(BaseModel):
    messages: list[PromptMessage]
    long_term_memories: list[MemoryRecordResultV1] | None = None


class ForgetResponse(BaseModel):
    scanned: int
    deleted: int
    deleted_ids: list[str]
    dry_run: bool


class SummaryViewV1(BaseModel):
    id: str
    name: str | None = None
    source: Literal["long_term", "working_memory"]
    group_by: list[str]
    filters: dict[str, Any]
    time_window_days: int | None = None
    continuous: bool = False
    prompt: str | None = None
    model_name: str | None = None


class SummaryViewPartitionResult(BaseModel):
    view_id: str
    group: dict[str, str]
    summary: str
    memory_count: int
    computed_at: datetime


class TaskV1(BaseModel):
    id: str
    type: str = Field(description="summary_view_full_run, or the job's name for other background work.")
    status: TaskStatus = "pending"
    view_id: str | None = None
    created_at: datetime
    started_at: datetime | None = None
    completed_at: datetime | None = None
    error_message: str | None = None


# Requests.


class MessageIn(BaseModel):
    """A message as /v1 clients send it (server-computed fields are ignored)."""

    model_config = ConfigDict(extra="ignore", title="MemoryMessageV1Input")

    role: str = Field(description="user, assistant, system or tool.")
    content: str
    id: str | None = Field(None, description="Generated when omitted.")
    created_at: DateTime | None = Field(None, description="Now when omitted.")
    discrete_memory_extracted: Flag = "f"


class MemoryIn(MemoryArg):
    """A memory record as /v1 clients send it; `pinned` is not supported."""

    model_config = ConfigDict(extra="ignore", title="MemoryRecordV1Input")

    memory_type: MemoryType | None = None  # type: ignore[assignment]  # its default depends on the call
    persisted_at: DateTime | None = None


class UpdateWorkingMemory(BaseModel):
    """PUT body: a full replacement; fields the server computes or does not know are ignored."""

    model_config = ConfigDict(extra="ignore")

    messages: list[MessageIn] = Field(default_factory=list)
    memories: list[MemoryIn] = Field(default_factory=list)
    data: dict[str, Any] | None = None
    context: str | None = None
    user_id: str | None = None
    namespace: str | None = None
    long_term_memory_strategy: MemoryStrategyConfig | None = None
    ttl_seconds: int | None = Field(None, description="Seconds until the session expires; 0 or null: never.")


class AppendMessagesV1(BaseModel):
    """Body of POST /v1/working-memory/{session_id}/messages (this server's addition)."""

    model_config = ConfigDict(extra="ignore")

    messages: list[MessageIn] = Field(min_length=1)
    user_id: str | None = None
    namespace: str | None = None
    ttl_seconds: int | None = Field(
        None, description="Sets the session's TTL; omitted: the session keeps its own."
    )


class CreateMemoryRecordRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    memories: list[MemoryIn]
    deduplicate: bool = Field(True, description="Exact duplicates are always merged by this server.")


class SearchRequestV1(BaseModel):
    model_config = ConfigDict(extra="ignore")

    text: str | None = None
    search_mode: SearchMode = "semantic"
    hybrid_alpha: float = Field(0.7, ge=0, le=1)
    text_scorer: Literal["BM25STD"] = "BM25STD"
    session_id: TagFilterV1 | None = None
    namespace: TagFilterV1 | None = None
    topics: TagFilterV1 | None = None
    entities: TagFilterV1 | None = None
    user_id: TagFilterV1 | None = None
    memory_type: TagFilterV1 | None = None
    memory_hash: TagFilterV1 | None = None
    created_at: TimeFilterArg | None = None
    last_accessed: TimeFilterArg | None = None
    updated_at: TimeFilterArg | None = None
    event_date: TimeFilterArg | None = None
    distance_threshold: float | None = None
    limit: int = Field(10, ge=1, le=100)
    offset: int = Field(0, ge=0)
    recency_boost: bool | None = Field(None, description="Recency re-ranking; on unless false.")
    recency_semantic_weight: float | None = None
    recency_recency_weight: float | None = None
    recency_freshness_weight: float | None = None
    recency_novelty_weight: float | None = None
    recency_half_life_last_access_days: float | None = None
    recency_half_life_created_days: float | None = None
    server_side_recency: bool | None = None


class EditMemoryRecordRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    text: str | None = None
    topics: list[str] | None = None
    entities: list[str] | None = None
    memory_type: MemoryType | None = None
    namespace: str | None = None
    user_id: str | None = None
    session_id: str | None = None
    event_date: DateTime | None = None
    pinned: bool | None = None


class ForgetBody(BaseModel):
    model_config = ConfigDict(extra="ignore")

    policy: dict[str, Any]
    pinned_ids: list[str] | None = None


class WorkingMemoryRequest(BaseModel):
    """The session a memory prompt includes; `context_window_max` may come as a string."""

    model_config = ConfigDict(extra="ignore")

    session_id: str
    namespace: str | None = None
    user_id: str | None = None
    model_name: str | None = None
    context_window_max: int | None = None


class MemoryPromptRequestV1(BaseModel):
    model_config = ConfigDict(extra="ignore")

    query: str
    session: WorkingMemoryRequest | None = None
    long_term_search: Annotated[
        SearchRequestV1 | bool | None, object_or_flag(SearchRequestV1, "long_term_search")
    ] = None


class RunSummaryViewPartitionRequest(BaseModel):
    group: dict[str, str]


class RunSummaryViewRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    task_id: str | None = None
