"""The stored API tokens (memoryserver.auth.api_tokens decides what they mean).

Layout
- `auth_token:<sha256>`  hash: `description`, `scopes` (JSON), `namespaces` (JSON), `user_id`,
                         `created_at`, `expires_at` (empty: never) of the token with that SHA-256
- `auth_tokens`          set of the SHA-256 of every token, for listings

The two keys may live in different hash slots of a Redis Cluster (the working-memory
Redis), so they change one after the other, in an order where a crash in between leaves
at worst a listed entry without a token, which listings skip.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import redis
import redis.asyncio as aioredis

from memoryserver.redis import text

TOKEN_PREFIX = "auth_token:"
TOKEN_INDEX = "auth_tokens"


def add_token(client: redis.Redis, token_hash: str, fields: Mapping[Any, Any]) -> None:
    """Store a token's fields under its hash."""
    # Listed first: a token is never valid without being listed (so it can be removed).
    client.sadd(TOKEN_INDEX, token_hash)
    client.hset(TOKEN_PREFIX + token_hash, mapping=dict(fields))


def token_hashes(client: redis.Redis) -> list[str]:
    """The hash of every listed token, sorted."""
    return sorted(text(token_hash) for token_hash in client.smembers(TOKEN_INDEX))


def token_fields(client: redis.Redis, hashes: Sequence[str]) -> list[dict[bytes, bytes]]:
    """The stored fields of each token, in the order of `hashes` (empty: listed, not stored)."""
    with client.pipeline(transaction=False) as pipe:
        for token_hash in hashes:
            pipe.hgetall(TOKEN_PREFIX + token_hash)
        return list(pipe.execute())


def delete_token(client: redis.Redis, token_hash: str) -> None:
    client.delete(TOKEN_PREFIX + token_hash)  # invalid from here on
    client.srem(TOKEN_INDEX, token_hash)


async def stored_token(client: aioredis.Redis, token_hash: str) -> dict[Any, Any]:
    """The fields of the token with this hash (bytes); empty if it is unknown or revoked."""
    return dict(await client.hgetall(TOKEN_PREFIX + token_hash))
