"""Where each namespace's topic model lives in Redis.

- `topic_model:{ns}`   the namespace's `FittedTopics` as one JSON document (`to_bytes`), written
                       whole by each fit, so a reader sees the old model or the new one, never a mix

The namespace is percent-encoded as in the memory keys (longterm_app/index.py), so no
namespace can reach another's key. A model is a few tens of KB (12 topics of 384 floats
with their keywords) and is read once per batch of memories to tag.
"""

from __future__ import annotations

from urllib.parse import quote

import redis.asyncio as aioredis

from longterm_app.topic_model import FittedTopics

KEY_PREFIX = "topic_model:"


def topic_model_key(namespace: str) -> str:
    return KEY_PREFIX + quote(namespace, safe="")


class TopicModelStore:
    """Async access to the namespaces' topic models."""

    def __init__(self, client: aioredis.Redis) -> None:
        self.client = client

    async def save(self, namespace: str, fitted: FittedTopics) -> None:
        """Store the namespace's model in place of the one before."""
        await self.client.set(topic_model_key(namespace), fitted.to_bytes())

    async def load(self, namespace: str, dims: int | None = None) -> FittedTopics | None:
        """The namespace's model, None if it has none; TopicModelMismatch if the stored one is
        unreadable or (with `dims`) was fitted on vectors of other dimensions."""
        data = await self.client.get(topic_model_key(namespace))
        return None if data is None else FittedTopics.from_bytes(data, dims)

    async def delete(self, namespace: str) -> bool:
        """Forget the namespace's model; True if it had one."""
        return bool(await self.client.delete(topic_model_key(namespace)))
