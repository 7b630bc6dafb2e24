"""Tools that read long-term memory by search: search_long_term_memory and memory_prompt."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated

from pydantic import Field

from longterm_app import services
from longterm_app.query_rewrite import optimized
from longterm_app.repository import memory_store
from longterm_app.schemas import SearchResult
from mcp_app.context import caller
from mcp_app.parameters import (
    CreatedAtFilter,
    DistanceThreshold,
    EntitiesFilter,
    EventDateFilter,
    HalfLifeDays,
    HybridAlpha,
    LastAccessedFilter,
    Limit,
    MemoryHashFilter,
    MemoryTypeFilter,
    NamespaceFilter,
    Offset,
    OptimizeQuery,
    RecencyBoost,
    RecencyWeight,
    SearchModeParam,
    SearchText,
    ServerSideRecency,
    SessionIdFilter,
    TopicsFilter,
    UpdatedAtFilter,
    UserIdFilter,
)
from memoryserver.auth.principal import READ
from memoryserver.errors import InvalidInput
from memoryserver.validation import parse
from providers.embeddings import get_embedder
from sessions_app.prompt import (
    MemoryPromptRequest,
    MemoryPromptResponse,
    PromptSession,
    optimized_search,
    search_text,
)
from sessions_app.prompt import memory_prompt as build_memory_prompt
from sessions_app.repository import working_store
from upstream.filters import TagFilterArg
from upstream.search import effective_recency_boost, tool_search_request


async def search_long_term_memory(
    text: SearchText = None,
    search_mode: SearchModeParam = "semantic",
    session_id: SessionIdFilter = None,
    namespace: NamespaceFilter = None,
    topics: TopicsFilter = None,
    entities: EntitiesFilter = None,
    created_at: CreatedAtFilter = None,
    last_accessed: LastAccessedFilter = None,
    user_id: UserIdFilter = None,
    memory_type: MemoryTypeFilter = None,
    event_date: EventDateFilter = None,
    distance_threshold: DistanceThreshold = None,
    limit: Limit = 10,
    offset: Offset = 0,
    optimize_query: OptimizeQuery = False,
    recency_boost: RecencyBoost = None,
    recency_semantic_weight: RecencyWeight = None,
    recency_recency_weight: RecencyWeight = None,
    recency_freshness_weight: RecencyWeight = None,
    recency_novelty_weight: RecencyWeight = None,
    recency_half_life_last_access_days: HalfLifeDays = None,
    recency_half_life_created_days: HalfLifeDays = None,
    server_side_recency: ServerSideRecency = None,
    updated_at: UpdatedAtFilter = None,
    memory_hash: MemoryHashFilter = None,
    hybrid_alpha: HybridAlpha = None,
) -> SearchResult:
    """Search long-term memory: what is known about the user, their preferences and past events.

    Call it before answering anything that may depend on what you were told earlier
    (preferences, facts about the user, past decisions), and before creating a memory, to
    avoid duplicates. Filters narrow the search; several conditions are combined with AND.
    Time filters take ISO-8601 date-times ("2025-01-31T09:00:00Z") or epoch seconds; tag
    filters also take a prefix (`{"startswith": "trav"}`). Results come best first, each with `dist`
    (cosine distance, lower is closer) and `score`; `next_offset` pages on.

    Examples:
      search_long_term_memory(text="user's favourite food")
      search_long_term_memory(text="", user_id={"eq": "alice"}, limit=50)   # everything about alice
      search_long_term_memory(text="trip to Japan", search_mode="hybrid",
          topics={"any": ["travel"]}, created_at={"gte": "2025-01-01T00:00:00Z"})
    """
    principal = caller(READ)
    filters = {
        "session_id": session_id,
        "namespace": namespace,
        "topics": topics,
        "entities": entities,
        "user_id": user_id,
        "memory_type": memory_type,
        "memory_hash": memory_hash,
        "created_at": created_at,
        "updated_at": updated_at,
        "last_accessed": last_accessed,
        "event_date": event_date,
    }
    options = {
        "distance_threshold": distance_threshold,
        "limit": limit,
        "offset": offset,
        "hybrid_alpha": hybrid_alpha,
        "recency_boost": effective_recency_boost(recency_boost, server_side_recency),
        "recency_semantic_weight": recency_semantic_weight,
        "recency_recency_weight": recency_recency_weight,
        "recency_freshness_weight": recency_freshness_weight,
        "recency_novelty_weight": recency_novelty_weight,
        "recency_half_life_last_access_days": recency_half_life_last_access_days,
        "recency_half_life_created_days": recency_half_life_created_days,
    }
    request = tool_search_request(text, search_mode, filters, options)
    if optimize_query:  # without a chat model the text is searched as given
        request, _ = await optimized(request)
    return await services.search_memories(memory_store(), get_embedder(), principal, request)


def _session(
    session_id: TagFilterArg | None,
    namespace: TagFilterArg | None,
    user_id: TagFilterArg | None,
    window: Mapping[str, object],
) -> PromptSession | None:
    """The upstream tool names its session with a filter object; only {"eq": id} names one."""
    if session_id is None:
        return None
    if session_id.eq is None:
        raise InvalidInput("session_id", 'name the session as {"eq": "<session id>"}')
    scope = {
        "session_id": session_id.eq,
        "namespace": namespace.eq if namespace else None,
        "user_id": user_id.eq if user_id else None,
    }
    return parse(PromptSession, {**scope, **window}, prefix="session")


async def memory_prompt(
    query: Annotated[str, Field(description="The user's message you are about to answer.")],
    session_id: Annotated[
        TagFilterArg | None,
        Field(description='Add this session\'s recent conversation, e.g. {"eq": "chat-42"}. Exact id only.'),
    ] = None,
    namespace: Annotated[
        TagFilterArg | None,
        Field(description='Namespace of the session and of the memories searched, e.g. {"eq": "work"}.'),
    ] = None,
    model_name: Annotated[
        str | None,
        Field(
            description="Your model, e.g. gpt-4o or claude-sonnet-4-5: history is trimmed to fit its window."
        ),
    ] = None,
    context_window_max: Annotated[
        int | None, Field(description="Token budget of the whole prompt; overrides model_name's window.")
    ] = None,
    topics: TopicsFilter = None,
    entities: EntitiesFilter = None,
    created_at: CreatedAtFilter = None,
    last_accessed: LastAccessedFilter = None,
    user_id: UserIdFilter = None,
    memory_type: MemoryTypeFilter = None,
    event_date: EventDateFilter = None,
    distance_threshold: DistanceThreshold = None,
    search_mode: SearchModeParam = "semantic",
    limit: Limit = 10,
    offset: Offset = 0,
    optimize_query: OptimizeQuery = False,
    recency_boost: RecencyBoost = None,
    recency_semantic_weight: RecencyWeight = None,
    recency_recency_weight: RecencyWeight = None,
    recency_freshness_weight: RecencyWeight = None,
    recency_novelty_weight: RecencyWeight = None,
    recency_half_life_last_access_days: HalfLifeDays = None,
    recency_half_life_created_days: HalfLifeDays = None,
    server_side_recency: ServerSideRecency = None,
    include_long_term_search: Annotated[
        bool, Field(description="Search long-term memory with the query (default true); false: session only.")
    ] = True,
    window_size: Annotated[
        int | None, Field(description="At most this many recent session messages (default WINDOW_SIZE).")
    ] = None,
) -> MemoryPromptResponse:
    """Hydrate the user's query with memory, ready to send to an LLM.

    Call it when a question may depend on earlier conversation or on what is remembered
    about the user: it returns `messages` = a system message with the session's summary and
    the relevant long-term memories (as a bulleted list), then the session's recent messages
    that fit your model's window, then the query as the last user message. The filters
    (topics, user_id, created_at, ...) narrow the long-term search; session_id selects the
    conversation history, and keeps the search to the session's namespace and user unless
    the filters name others. Give session_id, or keep include_long_term_search true.

    Examples:
      memory_prompt(query="What should I cook tonight?")
      memory_prompt(query="Where were we?", session_id={"eq": "chat-42"}, include_long_term_search=false)
      memory_prompt(query="What do you know about me?", user_id={"eq": "alice"}, limit=50,
          session_id={"eq": "chat-42"}, model_name="gpt-4o")
    """
    principal = caller(READ)
    window = {"model_name": model_name, "context_window_max": context_window_max, "window_size": window_size}
    session = _session(session_id, namespace, user_id, window)
    if session is None and not include_long_term_search:
        raise InvalidInput("session_id", "give a session_id, or set include_long_term_search to true")
    search = None
    if include_long_term_search:
        filters = {
            "namespace": namespace,
            "topics": topics,
            "entities": entities,
            "user_id": user_id,
            "memory_type": memory_type,
            "created_at": created_at,
            "last_accessed": last_accessed,
            "event_date": event_date,
        }
        options = {
            "distance_threshold": distance_threshold,
            "limit": limit,
            "offset": offset,
            "recency_boost": effective_recency_boost(recency_boost, server_side_recency),
            "recency_semantic_weight": recency_semantic_weight,
            "recency_recency_weight": recency_recency_weight,
            "recency_freshness_weight": recency_freshness_weight,
            "recency_novelty_weight": recency_novelty_weight,
            "recency_half_life_last_access_days": recency_half_life_last_access_days,
            "recency_half_life_created_days": recency_half_life_created_days,
        }
        search = tool_search_request(search_text(query), search_mode, filters, options)
    request = parse(MemoryPromptRequest, {"query": query, "session": session, "long_term_search": search})
    if optimize_query:  # without a chat model the text is searched as given
        request, _ = await optimized_search(request)
    return await build_memory_prompt(working_store(), memory_store(), get_embedder(), principal, request)
