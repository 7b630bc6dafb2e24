"""The MCP server: FastMCP with the memory tools, acting for the right caller on every call.

`build_server()` makes a server bound to a tenant (see mcp_app.tenancy). Each tool call runs
as the caller of the request that carried it: over HTTP the principal the auth middleware
put on that request (mcp_app.http), over stdio the process's local developer. Failures
become tool errors (isError true) with the domain message (mcp_app.errors).
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from typing import Any

from mcp.server.fastmcp import FastMCP
from mcp.types import ContentBlock

from mcp_app.context import acting_as
from mcp_app.errors import ToolFailure, failure_message
from mcp_app.tenancy import Binding
from mcp_app.tools import TOOLS
from memoryserver import __version__
from memoryserver.auth.principal import Principal
from memoryserver.errors import InvalidInput, Unauthenticated

SERVER_NAME = "Agent Memory Server"
INSTRUCTIONS = """\
Memory for this conversation and across conversations.
- Before answering questions about the user (preferences, history, facts they told you),
  search long-term memory (search_long_term_memory) or build the prompt with memory_prompt.
- When you learn something worth keeping, store it with create_long_term_memories: one
  self-contained fact per memory, names instead of pronouns, absolute dates (use
  get_current_datetime for "today" or "yesterday").
- Keep the current conversation's state with get_working_memory; add each new turn with
  append_working_memory_messages (other clients' turns are kept), or replace the whole
  state with set_working_memory.
"""
# Where the HTTP auth middleware leaves the authenticated principal in the ASGI scope.
PRINCIPAL_SCOPE_KEY = "memoryserver.principal"


class MemoryMCP(FastMCP):
    """FastMCP that runs each tool call as its caller and reports failures as tool errors."""

    def __init__(self, local_principal: Principal, **settings: Any) -> None:
        super().__init__(SERVER_NAME, instructions=INSTRUCTIONS, **settings)
        # The version `initialize` reports: this server's, not the MCP library's (FastMCP
        # takes no version of its own; its low-level server does).
        self._mcp_server.version = __version__
        self.local_principal = local_principal

    def _caller(self) -> Principal:
        try:
            request = self.get_context().request_context.request
        except ValueError:
            request = None
        if request is None:  # stdio: the process's own principal
            return self.local_principal
        principal = request.scope.get(PRINCIPAL_SCOPE_KEY)
        if not isinstance(principal, Principal):  # fail closed if the middleware is missing
            raise Unauthenticated("The request was not authenticated.")
        return principal

    async def call_tool(
        self, name: str, arguments: dict[str, Any]
    ) -> Sequence[ContentBlock] | dict[str, Any]:
        try:
            self._refuse_unknown(name, arguments)
            with acting_as(self._caller()):
                return await super().call_tool(name, arguments)
        except Exception as error:
            # The SDK answers an exception with a tool result whose isError is true.
            raise ToolFailure(failure_message(error, name)) from None

    def _refuse_unknown(self, name: str, arguments: dict[str, Any]) -> None:
        """An argument the tool does not take is an error, never silently dropped (a dropped
        `dry_run` would run the real thing)."""
        tool = self._tool_manager.get_tool(name)
        if tool is None:
            return  # FastMCP answers an unknown tool itself
        known = set(tool.parameters.get("properties", {}))
        unknown = sorted(set(arguments) - known)
        if unknown:
            raise InvalidInput(unknown[0], f"not an argument of {name}; it takes: {', '.join(sorted(known))}")


def build_server(binding: Binding, host: str = "127.0.0.1", port: int = 9000) -> MemoryMCP:
    """A server with every tool, for one transport; HTTP transports also need mcp_app.http."""
    server = MemoryMCP(binding.local_developer(), host=host, port=port)
    for spec in TOOLS:
        description = inspect.cleandoc(spec.fn.__doc__ or "")
        server.add_tool(spec.fn, description=description, annotations=spec.annotations)
    return server
