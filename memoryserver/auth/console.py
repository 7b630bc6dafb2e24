"""Console login through OIDC: people in OIDC_STAFF_EMAILS become staff; others get no console."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from mozilla_django_oidc.auth import OIDCAuthenticationBackend


class ConsoleOIDCBackend(OIDCAuthenticationBackend):
    def _staff(self, claims: dict[str, Any]) -> bool:
        email = str(claims.get("email", "")).lower()
        return (
            bool(email)
            and claims.get("email_verified", True) is not False
            and email in settings.OIDC_STAFF_EMAILS
        )

    def create_user(self, claims: dict[str, Any]) -> Any:
        user = super().create_user(claims)
        user.is_staff = self._staff(claims)
        user.save(update_fields=["is_staff"])
        return user

    def update_user(self, user: Any, claims: dict[str, Any]) -> Any:
        user.is_staff = self._staff(claims)
        user.save(update_fields=["is_staff"])
        return user
