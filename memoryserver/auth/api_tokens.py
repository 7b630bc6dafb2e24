"""API tokens for service-to-service calls without an OAuth provider.

Only a token's SHA-256 is stored (`auth_token:<sha256>`, a hash with its description,
scopes, namespaces, user and expiry; `auth_tokens` indexes them). The token itself is
shown once, when created.

The two keys may live in different hash slots of a Redis Cluster (the working-memory
Redis), so they change one after the other, in an order where a crash in between leaves
at worst a listed entry without a token, which listings skip.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass
from typing import Any

import orjson
import redis
import redis.asyncio as aioredis

from memoryserver.auth.principal import Principal
from memoryserver.errors import NotFound, Unauthenticated

TOKEN_PREFIX = "auth_token:"
TOKEN_INDEX = "auth_tokens"
ID_LENGTH = 12


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


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
    client: redis.Redis,
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
    # Listed first: a token is never valid without being listed (so it can be removed).
    client.sadd(TOKEN_INDEX, token_hash)
    client.hset(TOKEN_PREFIX + token_hash, mapping=fields)
    return token, info


def list_tokens(client: redis.Redis) -> list[TokenInfo]:
    hashes = sorted(_text(h) for h in client.smembers(TOKEN_INDEX))
    with client.pipeline(transaction=False) as pipe:
        for token_hash in hashes:
            pipe.hgetall(TOKEN_PREFIX + token_hash)
        replies = pipe.execute()
    return [TokenInfo.from_hash(h, fields) for h, fields in zip(hashes, replies, strict=True) if fields]


def remove_token(client: redis.Redis, token_id: str) -> TokenInfo:
    """Remove the token whose id (the start of its hash) is `token_id`."""
    matches = [info for info in list_tokens(client) if info.id.startswith(token_id)] if token_id else []
    if len(matches) != 1:
        raise NotFound(f"No single token has the id '{token_id}' ({len(matches)} match).")
    (info,) = matches
    token_hash = next(_text(h) for h in client.smembers(TOKEN_INDEX) if _text(h).startswith(info.id))
    client.delete(TOKEN_PREFIX + token_hash)  # invalid from here on
    client.srem(TOKEN_INDEX, token_hash)
    return info


async def authenticate_api_token(client: aioredis.Redis, token: str) -> Principal:
    fields = await client.hgetall(TOKEN_PREFIX + digest(token))
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
