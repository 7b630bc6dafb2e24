"""API tokens for service-to-service calls without an OAuth provider.

Only a token's SHA-256 is stored (memoryserver.repositories.api_tokens); the token itself
is shown once, when created. Its id is the start of that hash.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass
from typing import Any

import orjson

from memoryserver.auth.principal import Principal
from memoryserver.errors import NotFound, Unauthenticated
from memoryserver.redis import AsyncRedisClient, RedisClient
from memoryserver.repositories.api_tokens import (
    add_token,
    delete_token,
    stored_token,
    token_fields,
    token_hashes,
)

ID_LENGTH = 12


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class TokenInfo:
    id: str
    description: str
    scopes: list[str]
    namespaces: list[str] | None
    user_id: str | None
    created_at: float
    expires_at: float | None

    @classmethod
    def from_hash(cls, token_hash: str, fields: dict[Any, Any]) -> TokenInfo:
        """From the stored hash (bytes keys and values, as redis returns them)."""
        expires = fields.get(b"expires_at", b"")
        return cls(
            id=token_hash[:ID_LENGTH],
            description=fields.get(b"description", b"").decode(),
            scopes=orjson.loads(fields.get(b"scopes", b"[]")),
            namespaces=orjson.loads(fields.get(b"namespaces", b"null")),
            user_id=(fields.get(b"user_id") or b"").decode() or None,
            created_at=float(fields.get(b"created_at", b"0")),
            expires_at=float(expires) if expires else None,
        )


def create_token(
    client: RedisClient,
    description: str,
    scopes: list[str],
    namespaces: list[str] | None = None,
    user_id: str | None = None,
    expires_in_days: float | None = None,
) -> tuple[str, TokenInfo]:
    """Store a new token's hash; return the token (shown once) and its description."""
    token = "ams_" + secrets.token_urlsafe(32)
    token_hash = digest(token)
    now = time.time()
    info = TokenInfo(
        id=token_hash[:ID_LENGTH],
        description=description,
        scopes=scopes,
        namespaces=namespaces,
        user_id=user_id,
        created_at=now,
        expires_at=now + expires_in_days * 86400 if expires_in_days else None,
    )
    fields: dict[Any, Any] = {
        "description": description,
        "scopes": orjson.dumps(scopes),
        "namespaces": orjson.dumps(namespaces),
        "user_id": user_id or "",
        "created_at": repr(info.created_at),
        "expires_at": repr(info.expires_at) if info.expires_at else "",
    }
    add_token(client, token_hash, fields)
    return token, info


def list_tokens(client: RedisClient) -> list[TokenInfo]:
    hashes = token_hashes(client)
    replies = token_fields(client, hashes)
    return [TokenInfo.from_hash(h, fields) for h, fields in zip(hashes, replies, strict=True) if fields]


def remove_token(client: RedisClient, token_id: str) -> TokenInfo:
    """Remove the token whose id (the start of its hash) is `token_id`."""
    matches = [info for info in list_tokens(client) if info.id.startswith(token_id)] if token_id else []
    if len(matches) != 1:
        raise NotFound(f"No single token has the id '{token_id}' ({len(matches)} match).")
    (info,) = matches
    delete_token(client, next(h for h in token_hashes(client) if h.startswith(info.id)))
    return info


async def authenticate_api_token(client: AsyncRedisClient, token: str) -> Principal:
    fields = await stored_token(client, digest(token))
    if not fields:
        raise Unauthenticated("Invalid token: unknown or revoked API token")
    info = TokenInfo.from_hash(digest(token), fields)
    if info.expires_at is not None and info.expires_at < time.time():
        raise Unauthenticated("Invalid token: Token has expired")
    return Principal(
        subject=f"token:{info.id}",
        method="token",
        scopes=frozenset(info.scopes),
        namespaces=frozenset(info.namespaces) if info.namespaces is not None else None,
        user_id=info.user_id,
    )
