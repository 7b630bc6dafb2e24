"""The published upstream server's MCP tools (names and argument names), and shared test data."""

from __future__ import annotations

from mcp.types import Tool

# The published upstream server's tools and their argument names (upstream-mcp-tools.json).
UPSTREAM_TOOLS = {
    "get_current_datetime": set(),
    "create_long_term_memories": {"memories"},
    "search_long_term_memory": {
        *("text", "search_mode", "session_id", "namespace", "topics", "entities", "created_at"),
        *("last_accessed", "user_id", "memory_type", "event_date", "distance_threshold", "limit"),
        *("offset", "optimize_query", "recency_boost", "recency_semantic_weight"),
        *("recency_recency_weight", "recency_freshness_weight", "recency_novelty_weight"),
        *("recency_half_life_last_access_days", "recency_half_life_created_days", "server_side_recency"),
    },
    "memory_prompt": {
        *("query", "session_id", "namespace", "model_name", "context_window_max", "topics", "entities"),
        *("created_at", "last_accessed", "user_id", "memory_type", "event_date", "distance_threshold"),
        *("search_mode", "limit", "offset", "optimize_query", "recency_boost", "recency_semantic_weight"),
        *("recency_recency_weight", "recency_freshness_weight", "recency_novelty_weight"),
        *("recency_half_life_last_access_days", "recency_half_life_created_days", "server_side_recency"),
        "include_long_term_search",
    },
    "set_working_memory": {
        *("session_id", "memories", "messages", "context", "data", "namespace", "user_id"),
        *("ttl_seconds", "long_term_memory_strategy"),
    },
    "get_working_memory": {"session_id", "user_id", "namespace", "recent_messages_limit"},
    "get_long_term_memory": {"memory_id"},
    "edit_long_term_memory": {
        *("memory_id", "text", "topics", "entities", "memory_type", "namespace", "user_id"),
        *("session_id", "event_date", "pinned"),
    },
    "delete_long_term_memories": {"memory_ids"},
    "compact_long_term_memories": {"namespace", "user_id", "session_id"},
}

CONVERSATION = [
    {"role": "user", "content": "I am planning a trip to Japan in April"},
    {"role": "assistant", "content": "Lovely! Which cities?"},
    {"role": "user", "content": "Tokyo and Kyoto, and I want to see the cherry blossoms"},
]


# Tools of this server beyond upstream's.
OUR_TOOLS = {"append_working_memory_messages"}


def check_upstream_tools(tools: list[Tool]) -> None:
    by_name = {tool.name: tool for tool in tools}
    assert set(by_name) == set(UPSTREAM_TOOLS) | OUR_TOOLS
    for name, arguments in UPSTREAM_TOOLS.items():
        assert arguments <= set(by_name[name].inputSchema.get("properties", {})), name
        assert "Example" in (by_name[name].description or ""), name
