"""The MCP tools, named and shaped like the upstream server's, over the shared services."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mcp.types import ToolAnnotations

from mcp_app.tools.clock import get_current_datetime
from mcp_app.tools.longterm import (
    compact_long_term_memories,
    create_long_term_memories,
    delete_long_term_memories,
    edit_long_term_memory,
    get_long_term_memory,
)
from mcp_app.tools.search import memory_prompt, search_long_term_memory
from mcp_app.tools.working import append_working_memory_messages, get_working_memory, set_working_memory


@dataclass(frozen=True)
class ToolSpec:
    fn: Callable[..., Any]
    annotations: ToolAnnotations


READS = ToolAnnotations(readOnlyHint=True, openWorldHint=False)
WRITES = ToolAnnotations(readOnlyHint=False, destructiveHint=False, openWorldHint=False)
REPLACES = ToolAnnotations(readOnlyHint=False, destructiveHint=True, idempotentHint=True, openWorldHint=False)

TOOLS = [
    ToolSpec(get_current_datetime, READS),
    ToolSpec(set_working_memory, REPLACES),
    ToolSpec(append_working_memory_messages, WRITES),
    ToolSpec(get_working_memory, READS),
    ToolSpec(create_long_term_memories, WRITES),
    ToolSpec(search_long_term_memory, READS),
    ToolSpec(get_long_term_memory, READS),
    ToolSpec(edit_long_term_memory, REPLACES),
    ToolSpec(delete_long_term_memories, REPLACES),
    ToolSpec(memory_prompt, READS),
    ToolSpec(compact_long_term_memories, REPLACES),
]
