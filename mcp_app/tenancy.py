"""Who an MCP tool call acts for: the caller, narrowed to the tenant the process is bound to.

An MCP server process can be bound to one namespace and/or one user (`manage.py mcp
--namespace/--user-id`, or the MCP_NAMESPACE / MCP_USER_ID settings), so an IDE's tools
cannot read another tenant's memories. The binding narrows whoever calls: the local
developer over stdio, or the authenticated bearer of an HTTP request. A caller whose own
grants exclude the bound tenant is refused outright.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from django.conf import settings

from memoryserver.auth.principal import ANONYMOUS_DEVELOPER, Principal
from memoryserver.errors import InvalidInput
from memoryserver.fields import check_identifier


@dataclass(frozen=True)
class Binding:
    namespace: str | None = None
    user_id: str | None = None

    def __post_init__(self) -> None:
        for field in ("namespace", "user_id"):
            value = getattr(self, field)
            if value is not None:
                try:
                    check_identifier(value)
                except ValueError as error:
                    raise InvalidInput(field, f"'{value}' {error}") from None

    @classmethod
    def from_options(cls, namespace: str | None, user_id: str | None) -> Binding:
        """Command-line options, else the MCP_NAMESPACE / MCP_USER_ID settings."""
        return cls(
            namespace=namespace or getattr(settings, "MCP_NAMESPACE", None) or None,
            user_id=user_id or getattr(settings, "MCP_USER_ID", None) or None,
        )

    def bind(self, principal: Principal) -> Principal:
        """The principal confined to this binding; Forbidden if it may not use the bound tenant."""
        bound = principal
        if self.namespace is not None:
            principal.check_namespace(self.namespace)
            bound = dataclasses.replace(bound, namespaces=frozenset({self.namespace}))
        if self.user_id is not None:
            principal.check_user(self.user_id)
            bound = dataclasses.replace(bound, user_id=self.user_id)
        return bound

    def local_developer(self) -> Principal:
        """The principal of a stdio server: the developer who started it, within the binding."""
        return self.bind(ANONYMOUS_DEVELOPER)

    def describe(self) -> str:
        parts = [
            f"namespace '{self.namespace}'" if self.namespace else "",
            f"user '{self.user_id}'" if self.user_id else "",
        ]
        return " and ".join(part for part in parts if part) or "no tenant binding"
