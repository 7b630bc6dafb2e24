"""Each namespace's topic model, kept in Redis (longterm_app.repositories.topics) as one
document. A model is a few tens of KB (12 topics of 384 floats with their keywords) and is
read once per batch of memories to tag.
"""

from __future__ import annotations

from longterm_app.repositories import topics
from longterm_app.topic_model import FittedTopics
from memoryserver.redis import AsyncRedisClient


class TopicModelStore:
    """Async access to the namespaces' topic models."""

    def __init__(self, client: AsyncRedisClient) -> None:
        self.client = client

    async def save(self, namespace: str, fitted: FittedTopics) -> None:
        """Store the namespace's model in place of the one before."""
        await topics.save_model(self.client, namespace, fitted.to_bytes())

    async def load(self, namespace: str, dims: int | None = None) -> FittedTopics | None:
        """The namespace's model, None if it has none; TopicModelMismatch if the stored one is
        unreadable or (with `dims`) was fitted on vectors of other dimensions."""
        data = await topics.load_model(self.client, namespace)
        return None if data is None else FittedTopics.from_bytes(data, dims)

    async def delete(self, namespace: str) -> bool:
        """Forget the namespace's model; True if it had one."""
        return await topics.delete_model(self.client, namespace)
