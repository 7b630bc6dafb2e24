"""Job figures the workers and the web processes keep in Redis, so any process can report
them (memoryserver.observability.jobs reads them as history).

Layout
- `metrics:job_failures`  hash with a field per queue counting every job failure, retried or
                          not (RQ's failed registry only holds the jobs that gave up); served
                          by /metrics
- `metrics:queue_depth:{queue}:{hour}`  per queue and epoch hour: the jobs waiting after the
                          last enqueue or take of each epoch minute (field `<minute>`) and
                          before the first (`<minute>:before`)
- `metrics:job_failures_per_minute:{queue}:{hour}`  the failures of each epoch minute
The hourly hashes hold at most 120 fields and expire `KEEP_SECONDS` after their last
write, so nothing needs trimming.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from typing import Any

import redis

from memoryserver.redis import text

FAILURES_KEY = "metrics:job_failures"
DEPTH_KEY = "metrics:queue_depth:{queue}:{hour}"
FAILURES_PER_MINUTE_KEY = "metrics:job_failures_per_minute:{queue}:{hour}"
# The window's hour, the one before, and one more to find the depth before the window began.
KEEP_HOURS = 3
KEEP_SECONDS = KEEP_HOURS * 3600
BEFORE = ":before"


def epoch_minute(now: float | None = None) -> int:
    return int((time.time() if now is None else now) // 60)


def count_job_failure(client: redis.Redis, queue_name: str, now: float | None = None) -> None:
    """One more failure of a job of this queue, in total and in this minute."""
    minute = epoch_minute(now)
    key = FAILURES_PER_MINUTE_KEY.format(queue=queue_name, hour=minute // 60)
    with client.pipeline(transaction=False) as pipe:
        pipe.hincrby(FAILURES_KEY, queue_name, 1)
        pipe.hincrby(key, str(minute), 1)
        pipe.expire(key, KEEP_SECONDS)
        pipe.execute()


def job_failure_counts(client: redis.Redis) -> dict[str, int]:
    raw = client.hgetall(FAILURES_KEY)
    return {text(name): int(value) for name, value in raw.items()}


def record_queue_depth(
    client: redis.Redis, queue_name: str, depth: int, change: int, now: float | None = None
) -> None:
    """`depth` jobs wait in a queue after `change` (+1: one was queued, -1: one was taken)."""
    minute = epoch_minute(now)
    key = DEPTH_KEY.format(queue=queue_name, hour=minute // 60)
    with client.pipeline(transaction=False) as pipe:
        pipe.hsetnx(key, f"{minute}{BEFORE}", max(depth - change, 0))
        pipe.hset(key, str(minute), depth)
        pipe.expire(key, KEEP_SECONDS)
        pipe.execute()


def minute_records(
    client: redis.Redis, queue_names: Sequence[str], hours: Sequence[int]
) -> list[tuple[dict[str, int], dict[str, int]]]:
    """Per queue, in order: its depth fields and its failures per minute over these epoch
    hours (one round trip), each as {field: value}."""
    with client.pipeline(transaction=False) as pipe:
        for name in queue_names:
            for template in (DEPTH_KEY, FAILURES_PER_MINUTE_KEY):
                for hour in hours:
                    pipe.hgetall(template.format(queue=name, hour=hour))
        replies = iter(pipe.execute())
    records = []
    for _ in queue_names:
        depths = _merged([next(replies) for _ in hours])
        failures = _merged([next(replies) for _ in hours])
        records.append((depths, failures))
    return records


def _merged(hashes: Iterable[dict[Any, Any]]) -> dict[str, int]:
    """The fields of a queue's hourly hashes, as text, with their values."""
    return {text(field): int(text(value)) for fields in hashes for field, value in fields.items()}
