"""Authenticate a request by AUTH_MODE: a bearer JWT (oauth2), an API token, or nobody (disabled)."""

from __future__ import annotations

from django.conf import settings

from memoryserver.auth.api_tokens import authenticate_api_token
from memoryserver.auth.bearer_jwt import authenticate_jwt
from memoryserver.auth.principal import ANONYMOUS_DEVELOPER, Principal
from memoryserver.errors import Unauthenticated
from memoryserver.redis import get_async_redis


def bearer_token(header: str | None) -> str:
    """The token of an `Authorization: Bearer <token>` header."""
    prefix = "Invalid JWT: " if settings.AUTH_MODE == "oauth2" else "Invalid token: "
    if header is None:
        raise Unauthenticated(prefix + "Missing authorization header")
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated(prefix + "Missing bearer token")
    return token.strip()


async def authenticate(authorization: str | None) -> Principal:
    """The caller named by the request's Authorization header (None when it has none)."""
    mode = settings.AUTH_MODE
    if mode == "disabled":
        return ANONYMOUS_DEVELOPER
    token = bearer_token(authorization)
    if mode == "oauth2":
        return await authenticate_jwt(token)
    return await authenticate_api_token(get_async_redis("working"), token)
