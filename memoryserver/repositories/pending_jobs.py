"""The markers that coalesce a burst of writes into one queued job (memoryserver.queues).

Layout (on the queue Redis)
- `job_pending:<pending key>`  id of the job queued for that key and not started yet;
                               expires after PENDING_TTL_SECONDS
"""

from __future__ import annotations

import redis

from memoryserver.redis import text

PENDING_PREFIX = "job_pending:"
# A job's "already queued" marker outlives any sane queue wait, so a lost job never blocks for long.
PENDING_TTL_SECONDS = 600


def claim(client: redis.Redis, pending_key: str, job_id: str) -> bool:
    """Mark `job_id` as the job pending for the key, unless one is already; True if marked."""
    return bool(client.set(PENDING_PREFIX + pending_key, job_id, nx=True, ex=PENDING_TTL_SECONDS))


def pending_job(client: redis.Redis, pending_key: str) -> str | None:
    """The id of the job pending for the key; None if there is none (any more)."""
    waiting = client.get(PENDING_PREFIX + pending_key)
    return None if waiting is None else text(waiting)


def release(client: redis.Redis, pending_key: str) -> None:
    client.delete(PENDING_PREFIX + pending_key)
