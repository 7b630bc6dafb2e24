"""The authenticated caller: its scopes and the tenants (namespaces, user) it is bound to."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

from django.conf import settings

from memoryserver.errors import Forbidden, InvalidInput

Scope = Literal["memory:read", "memory:write", "memory:admin"]
READ: Scope = "memory:read"
WRITE: Scope = "memory:write"
ADMIN: Scope = "memory:admin"
# A scope grants the ones below it: admin can write, write can read.
_IMPLIED: dict[str, frozenset[str]] = {
    READ: frozenset({READ, WRITE, ADMIN}),
    WRITE: frozenset({WRITE, ADMIN}),
    ADMIN: frozenset({ADMIN}),
}


@dataclass(frozen=True)
class Principal:
    subject: str
    method: Literal["jwt", "token", "disabled", "console"]
    scopes: frozenset[str] = field(default_factory=frozenset)
    namespaces: frozenset[str] | None = None  # None: every namespace
    user_id: str | None = None  # set: only this user's data
    is_authenticated: bool = True  # what DRF and Django expect of request.user

    def require(self, scope: Scope) -> None:
        if self.method == "disabled" or not settings.AUTH_ENFORCE_SCOPES:
            return
        if not (_IMPLIED[scope] & self.scopes):
            raise Forbidden(f"This operation needs the '{scope}' scope.")

    def check_namespace(self, namespace: str) -> str:
        if self.namespaces is not None and namespace not in self.namespaces:
            raise Forbidden(f"Namespace '{namespace}' is outside this caller's namespaces.")
        return namespace

    def check_namespaces(self, namespaces: Iterable[str]) -> None:
        for namespace in namespaces:
            self.check_namespace(namespace)

    def default_namespace(self) -> str:
        """The namespace used when a request names none: the caller's only one, else the
        default one when the caller may use it; a caller of several others must name one."""
        if self.namespaces is not None and len(self.namespaces) == 1:
            return next(iter(self.namespaces))
        if self.namespaces is not None and not self.namespaces:
            raise Forbidden("This caller may use no namespace.")
        if self.namespaces is not None and settings.DEFAULT_NAMESPACE not in self.namespaces:
            names = ", ".join(sorted(self.namespaces))
            raise InvalidInput("namespace", f"this caller may use several namespaces ({names}): name one")
        return settings.DEFAULT_NAMESPACE

    def may_see(self, namespace: str, user_id: str | None) -> bool:
        """Whether this caller may see the data of `user_id` (None: every user) in `namespace`."""
        in_namespace = self.namespaces is None or namespace in self.namespaces
        return in_namespace and (self.user_id is None or self.user_id == user_id)

    @property
    def unbound(self) -> bool:
        """Bound to no namespace and no user: it may see every tenant."""
        return self.namespaces is None and self.user_id is None

    def check_user(self, user_id: str | None) -> str | None:
        """The user a request may act for: the bound user, whatever it names (or names none)."""
        if self.user_id is None:
            return user_id
        if user_id is not None and user_id != self.user_id:
            raise Forbidden(f"User '{user_id}' is not this caller's user.")
        return self.user_id


ANONYMOUS_DEVELOPER = Principal(subject="anonymous", method="disabled", scopes=frozenset({ADMIN}))
# Background jobs act for the tenants recorded in the data they process, never for a caller.
SYSTEM = Principal(subject="system", method="disabled", scopes=frozenset({ADMIN}))
