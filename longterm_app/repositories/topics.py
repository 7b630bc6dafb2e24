"""Where each namespace's topic model lives in Redis (longterm_app.topic_store reads and
writes it as a `FittedTopics`).

Layout
- `topic_model:<ns>`  the namespace's model as one document (`FittedTopics.to_bytes`), written
                      whole by each fit, so a reader sees the old model or the new one, never a mix

The namespace is percent-encoded as in the memory keys, so no namespace can reach another's key.
"""

from __future__ import annotations

from urllib.parse import quote

import redis.asyncio as aioredis

KEY_PREFIX = "topic_model:"


def topic_model_key(namespace: str) -> str:
    return KEY_PREFIX + quote(namespace, safe="")


async def save_model(client: aioredis.Redis, namespace: str, data: bytes) -> None:
    """Store the namespace's model in place of the one before."""
    await client.set(topic_model_key(namespace), data)


async def load_model(client: aioredis.Redis, namespace: str) -> bytes | str | None:
    return await client.get(topic_model_key(namespace))


async def delete_model(client: aioredis.Redis, namespace: str) -> bool:
    """Forget the namespace's model; True if it had one."""
    return bool(await client.delete(topic_model_key(namespace)))
