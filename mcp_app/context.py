"""Who a running tool call acts for.

The principal is set by the server around each call (mcp_app.server.MemoryMCP.call_tool),
from the HTTP request that carried the call or, over stdio, the process's own principal.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from memoryserver.auth.principal import Principal, Scope
from memoryserver.errors import Unauthenticated

_principal: ContextVar[Principal | None] = ContextVar("mcp_principal", default=None)


@contextmanager
def acting_as(principal: Principal) -> Iterator[None]:
    token = _principal.set(principal)
    try:
        yield
    finally:
        _principal.reset(token)


def caller(scope: Scope) -> Principal:
    """The principal of the current tool call, once it is known to hold `scope`."""
    principal = _principal.get()
    if principal is None:
        raise Unauthenticated("This tool call has no authenticated caller.")
    principal.require(scope)
    return principal
