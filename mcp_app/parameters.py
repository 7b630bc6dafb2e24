"""Tool parameters with the descriptions an LLM reads: one definition, shared by the tools.

Names follow the upstream server's tools (so existing agent prompts keep working); the
search parameters are shared by `search_long_term_memory` and `memory_prompt`.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from longterm_app.schemas import SearchMode
from upstream.filters import TagFilterArg, TimeFilterArg

SearchText = Annotated[
    str | None,
    Field(
        description='What to look for, in natural language, e.g. "user\'s favourite food". '
        "Empty or null lists the memories matching the filters, newest first."
    ),
]
SearchModeParam = Annotated[
    SearchMode,
    Field(description="semantic (by meaning, the default), keyword (exact words) or hybrid (both)."),
]
SessionIdFilter = Annotated[
    TagFilterArg | None,
    Field(description='Only memories of this session, e.g. {"eq": "chat-42"}. Use an exact id; never guess.'),
]
NamespaceFilter = Annotated[
    TagFilterArg | None, Field(description='Only memories of this namespace, e.g. {"eq": "work"}.')
]
TopicsFilter = Annotated[
    TagFilterArg | None, Field(description='By topic (case-insensitive), e.g. {"any": ["travel", "food"]}.')
]
EntitiesFilter = Annotated[
    TagFilterArg | None, Field(description='By entity (case-insensitive), e.g. {"all": ["Alice", "Paris"]}.')
]
UserIdFilter = Annotated[
    TagFilterArg | None, Field(description='Only memories about this user, e.g. {"eq": "alice"}.')
]
MemoryTypeFilter = Annotated[
    TagFilterArg | None,
    Field(description='By type: {"eq": "episodic"}, or {"any": ["semantic", "episodic"]}.'),
]
MemoryHashFilter = Annotated[
    TagFilterArg | None,
    Field(description='By content hash (exact duplicates share one), e.g. {"eq": "..."}.'),
]
CreatedAtFilter = Annotated[
    TimeFilterArg | None, Field(description='When stored, e.g. {"gte": "2025-01-01T00:00:00Z"}.')
]
UpdatedAtFilter = Annotated[
    TimeFilterArg | None, Field(description='When last edited, e.g. {"lt": "2025-06-01T00:00:00Z"}.')
]
LastAccessedFilter = Annotated[
    TimeFilterArg | None,
    Field(description='When last found by a search, e.g. {"gt": "2025-05-01T00:00:00Z"}.'),
]
EventDateFilter = Annotated[
    TimeFilterArg | None,
    Field(
        description="When the remembered event happened (episodic memories), e.g. "
        '{"between": ["2025-03-01T00:00:00Z", "2025-03-31T23:59:59Z"]}.'
    ),
]
DistanceThreshold = Annotated[
    float | None,
    Field(
        description="Only memories within this cosine distance of the text (0 identical, 2 opposite), "
        "e.g. 0.6. Omit to get the closest memories whatever their distance."
    ),
]
Limit = Annotated[int, Field(description="How many memories to return, 1-100.")]
Offset = Annotated[int, Field(description="How many to skip: pass the previous result's next_offset.")]
OptimizeQuery = Annotated[
    bool,
    Field(
        description="Let the server's fast chat model rewrite the text into a search query first "
        "(searched as given when no chat model is configured)."
    ),
]
RecencyBoost = Annotated[
    bool | None,
    Field(description="Re-rank so that fresh and recently used memories come first (default false)."),
]
RecencyWeight = Annotated[
    float | None, Field(description="Recency re-ranking weight, 0-1 (server default if null).")
]
HalfLifeDays = Annotated[
    float | None, Field(description="Recency re-ranking half-life in days (server default if null).")
]
ServerSideRecency = Annotated[
    bool | None, Field(description="Upstream name for recency_boost; recency_boost wins when both are given.")
]
HybridAlpha = Annotated[
    float | None, Field(description="Hybrid mode: weight of the semantic side, 0-1 (default 0.5).")
]
