"""Tool failures as MCP tool errors: the result has isError true and the domain message.

The one place where the MCP transport translates failures (the REST API's counterpart is
rest/errors.py). A failure never crashes the server or the session:
domain errors keep their message, bad arguments name each field and rule, Redis being
down says so, and anything unexpected is logged with its traceback.
"""

from __future__ import annotations

import logging

from mcp.server.fastmcp.exceptions import ToolError
from pydantic import ValidationError

from memoryserver.errors import REDIS_DOWN, MemoryServerError
from memoryserver.redis import REDIS_UNAVAILABLE
from memoryserver.validation import invalid_input

logger = logging.getLogger(__name__)


class ToolFailure(Exception):
    """Raised out of call_tool; the MCP SDK answers it with a tool result whose isError is true."""


def _domain_message(error: MemoryServerError) -> str:
    problems = error.problems
    if len(problems) <= 1:
        return error.detail
    lines = [f"- {p.field}: {p.message}" if p.field else f"- {p.message}" for p in problems]
    return "\n".join([error.detail, *lines])


def failure_message(error: Exception, tool: str) -> str:
    """The text of the tool error for a failed call of `tool`."""
    cause: BaseException = error
    if isinstance(error, ToolError) and error.__cause__ is not None:
        cause = error.__cause__  # FastMCP wraps what the tool raised
    if isinstance(cause, ValidationError):
        cause = invalid_input(cause)
    if isinstance(cause, MemoryServerError):
        return _domain_message(cause)
    if isinstance(cause, REDIS_UNAVAILABLE):
        logger.warning("Redis unavailable during tool %s: %s", tool, type(cause).__name__)
        return REDIS_DOWN
    if isinstance(cause, ToolError):  # FastMCP's own, such as an unknown tool name
        return str(cause)
    logger.error("Tool %s failed", tool, exc_info=cause)
    return f"The tool '{tool}' failed unexpectedly ({type(cause).__name__}); the server log has details."
