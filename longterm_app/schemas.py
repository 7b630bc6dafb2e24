"""Long-term memory contract: create, search (filters and modes), edit, forget."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from longterm_app.forgetting import ForgetPolicy
from longterm_app.records import MemoryRecord, MemoryType
from memoryserver.fields import Identifier, Tag, Timestamp, check_tag

MAX_BATCH = 1000
SearchMode = Literal["semantic", "keyword", "hybrid"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CreateMemoriesRequest(BaseModel):
    memories: list[MemoryRecord] = Field(min_length=1, max_length=MAX_BATCH)


class MergedMemory(BaseModel):
    id: str = Field(description="The id sent by the client.")
    into: str = Field(description="The stored memory with the same text and owner.")


class CreateMemoriesResult(BaseModel):
    status: Literal["ok", "queued"]
    stored: list[str] = Field(default_factory=list, description="Ids written (new or replaced).")
    merged: list[MergedMemory] = Field(default_factory=list, description="Exact duplicates not stored.")
    task_id: str | None = Field(None, description="For large batches indexed by a worker: see /tasks/{id}.")


# RediSearch expands a tag prefix only from this length (its MINPREFIX default).
MIN_PREFIX = 2
MAX_SEARCH_TEXT = 10_000


class TagFilter(Strict):
    """Operators on a tag field; several operators are combined with AND."""

    eq: Tag | None = None
    ne: Tag | None = None
    any: list[Tag] | None = Field(None, min_length=1, max_length=500)
    all: list[Tag] | None = Field(None, min_length=1, max_length=500)
    none: list[Tag] | None = Field(None, min_length=1, max_length=500, description="Has none of these.")
    startswith: (
        Annotated[str, Field(min_length=MIN_PREFIX, max_length=200), AfterValidator(check_tag)] | None
    ) = Field(None, description="Has a value starting with this prefix (2+ characters).")

    @model_validator(mode="after")
    def _has_an_operator(self) -> TagFilter:
        if all(getattr(self, name) is None for name in type(self).model_fields):
            raise ValueError("needs one of the operators eq, ne, any, all, none, startswith")
        return self


class NumericFilter(Strict):
    """Operators on a time field (epoch seconds or ISO-8601); several are combined with AND."""

    gt: Timestamp | None = None
    gte: Timestamp | None = None
    lt: Timestamp | None = None
    lte: Timestamp | None = None
    eq: Timestamp | None = None
    ne: Timestamp | None = None
    between: tuple[Timestamp, Timestamp] | None = None

    @model_validator(mode="after")
    def _has_an_operator(self) -> NumericFilter:
        if all(getattr(self, name) is None for name in type(self).model_fields):
            raise ValueError("needs one of the operators gt, gte, lt, lte, eq, ne, between")
        if self.between is not None and self.between[0] > self.between[1]:
            raise ValueError("between needs [low, high] with low <= high")
        return self


class MemoryFilters(Strict):
    session_id: TagFilter | None = None
    namespace: TagFilter | None = None
    user_id: TagFilter | None = None
    topics: TagFilter | None = None
    entities: TagFilter | None = None
    memory_type: TagFilter | None = None
    memory_hash: TagFilter | None = None
    created_at: NumericFilter | None = None
    updated_at: NumericFilter | None = None
    last_accessed: NumericFilter | None = None
    event_date: NumericFilter | None = None


class SearchRequest(MemoryFilters):
    text: str = Field("", max_length=MAX_SEARCH_TEXT, description="Query; empty lists matches newest first.")
    limit: int = Field(10, ge=1, le=100)
    offset: int = Field(0, ge=0, le=10_000)
    distance_threshold: float | None = Field(None, ge=0, le=2, description="Cosine distance cut-off.")
    search_mode: SearchMode = Field(
        "hybrid", description="hybrid (the default: semantic and keyword scores combined), semantic, keyword."
    )
    hybrid_alpha: float = Field(
        0.3,
        ge=0,
        le=1,
        description="Weight of the semantic side in hybrid search: alpha x similarity + (1 - alpha) x "
        "keyword score, each scaled 0..1 over its own hits (the keyword side also by how rare the "
        "words its best hit matched are).",
    )
    session_context: bool = Field(
        True,
        description="Rank by session context too: a memory gains a share of the best hit of its "
        "session, and the memories written just before or after a strong hit in its session "
        "gain a share of its score (and may join the results).",
    )
    recency_boost: bool = False
    recency_semantic_weight: float = Field(0.8, ge=0, le=1)
    recency_recency_weight: float = Field(0.2, ge=0, le=1)
    recency_freshness_weight: float = Field(0.6, ge=0, le=1)
    recency_novelty_weight: float = Field(0.4, ge=0, le=1)
    recency_half_life_last_access_days: float = Field(7.0, gt=0, le=36500)
    recency_half_life_created_days: float = Field(30.0, gt=0, le=36500)


class MemoryHit(MemoryRecord):
    dist: float | None = Field(
        description="Cosine distance to the query (0 is identical); null when no vector was compared."
    )
    score: float = Field(description="Ranking score of this search mode; higher is better.")


# What a search's `total` counts, which depends on the mode.
TotalKind = Literal["matching", "within_distance", "searched"]


class SearchResult(BaseModel):
    memories: list[MemoryHit]
    total: int = Field(
        description="How many memories `total_counts` says: those matching (keyword search, or no "
        "text), those within `distance_threshold`, or those searched by a nearest-neighbour search."
    )
    total_counts: TotalKind = Field(
        "matching",
        description="`matching`: memories matching the filters (and, in keyword mode, a query word); "
        "`within_distance`: within `distance_threshold` (hybrid: or matching a query word); "
        "`searched`: the memories the semantic or hybrid search ranked (every one passing the "
        "filters), of which the best come first.",
    )
    next_offset: int | None = Field(None, description="Offset of the next page, while more remain.")


class MemoryPatch(Strict):
    """Fields a client may change; a new text is re-embedded and re-hashed."""

    text: str | None = Field(None, min_length=1, max_length=100_000)
    memory_type: MemoryType | None = None
    topics: list[Tag] | None = Field(None, max_length=100)
    entities: list[Tag] | None = Field(None, max_length=100)
    event_date: Timestamp | None = None
    session_id: Identifier | None = None
    user_id: Identifier | None = None


class ForgetRequest(Strict):
    """Delete every memory of a namespace, user or session; dry_run only counts them."""

    namespace: Identifier | None = None
    user_id: Identifier | None = None
    session_id: Identifier | None = None
    dry_run: bool = True


class PolicyForgetRequest(Strict):
    """Forget what a retention policy selects among a scope's memories, oldest scanned first."""

    policy: ForgetPolicy
    namespace: Identifier | None = None
    user_id: Identifier | None = None
    session_id: Identifier | None = None
    limit: int = Field(1000, ge=1, le=100_000, description="Memories scanned, oldest first.")
    pinned_ids: list[Identifier] = Field(default_factory=list, max_length=10_000)
    dry_run: bool = True


class PolicyForgetResult(BaseModel):
    scanned: int
    deleted: int = Field(description="Memories deleted; in a dry run, those that would be.")
    deleted_ids: list[str]
    dry_run: bool


class CompactRequest(Strict):
    """Merge duplicate memories of a namespace (or of every namespace the caller may use)."""

    namespace: Identifier | None = None
    user_id: Identifier | None = None
    dry_run: bool = False
    distance_threshold: float | None = Field(None, gt=0, le=1, description="Near-duplicate distance.")


class CompactQueued(BaseModel):
    status: Literal["queued"] = "queued"
    task_id: str


class ForgetResult(BaseModel):
    dry_run: bool
    matched: int
    deleted: int


class DeleteMemoriesResult(BaseModel):
    status: Literal["ok"] = "ok"
    deleted: int
    missing: list[str] = Field(default_factory=list)
