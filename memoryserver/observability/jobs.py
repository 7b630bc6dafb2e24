"""Job failures counted in Redis by the workers, so /metrics on any process can report them.

One hash, `metrics:job_failures`, with a field per queue. RQ's failed registry only holds
the jobs that gave up; this counts every failure, retried or not.
"""

from __future__ import annotations

import redis

FAILURES_KEY = "metrics:job_failures"


def count_job_failure(client: redis.Redis, queue_name: str) -> None:
    client.hincrby(FAILURES_KEY, queue_name, 1)


def job_failure_counts(client: redis.Redis) -> dict[str, int]:
    raw = client.hgetall(FAILURES_KEY)
    return {_text(name): int(value) for name, value in raw.items()}


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
