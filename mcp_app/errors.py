"""Tool failures as MCP tool errors: the result has isError true and the domain message.

The one place where the MCP transport translates failures (the REST API's counterpart is
memoryserver/api/exceptions.py). A failure never crashes the server or the session:
domain errors keep their message, bad arguments name each field and rule, Redis being
down says so, and anything unexpected is logged with its traceback.
"""

from __future__ import annotations

import logging
from typing import Any, TypeVar

from mcp.server.fastmcp.exceptions import ToolError
from pydantic import BaseModel, ValidationError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from memoryserver.api.exceptions import REDIS_DOWN
from memoryserver.errors import FieldProblem, InvalidInput, MemoryServerError

logger = logging.getLogger(__name__)

Model = TypeVar("Model", bound=BaseModel)


class ToolFailure(Exception):
    """Raised out of call_tool; the MCP SDK answers it with a tool result whose isError is true."""


def invalid_arguments(error: ValidationError, prefix: str = "") -> InvalidInput:
    """A pydantic error as InvalidInput naming each argument path, such as `memories.0.text`."""
    problems = []
    for item in error.errors(include_url=False):
        path = ".".join(str(part) for part in (prefix, *item["loc"]) if part != "")
        problems.append(FieldProblem(path, item["msg"].removeprefix("Value error, ")))
    return InvalidInput.from_problems(problems)


def parse(model: type[Model], data: Any, prefix: str = "") -> Model:
    """Validate arguments into a service contract, failing with InvalidInput."""
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise invalid_arguments(error, prefix) from None


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
        cause = invalid_arguments(cause)
    if isinstance(cause, MemoryServerError):
        return _domain_message(cause)
    if isinstance(cause, (RedisConnectionError, RedisTimeoutError)):
        logger.warning("Redis unavailable during tool %s: %s", tool, type(cause).__name__)
        return REDIS_DOWN
    if isinstance(cause, ToolError):  # FastMCP's own, such as an unknown tool name
        return str(cause)
    logger.error("Tool %s failed", tool, exc_info=cause)
    return f"The tool '{tool}' failed unexpectedly ({type(cause).__name__}); the server log has details."
