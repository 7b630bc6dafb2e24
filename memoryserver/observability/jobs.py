"""Job figures the workers and the web processes keep in Redis, so any process can report them.

- `metrics:job_failures`: a hash with a field per queue counting every job failure, retried or
  not (RQ's failed registry only holds the jobs that gave up); served by /metrics.
- The last hours, per minute, for the console's charts: one hash per queue and hour (epoch
  hours), with fields per epoch minute. `metrics:queue_depth:{queue}:{hour}` holds the jobs
  waiting after the last enqueue or take of each minute (field `<minute>`) and before the
  first (`<minute>:before`); `metrics:job_failures_per_minute:{queue}:{hour}` the failures of
  each minute. A key holds at most 120 fields and expires `KEEP_SECONDS` after its last
  write, so nothing needs trimming. Depth changes only when a job is queued or taken, and
  both record it, so a minute without a record has the depth of the last minute that has
  one, and before the first record, the depth that record started from. (Jobs RQ queues
  itself, retries and scheduled jobs, are recorded when a worker takes them; jobs removed
  by hand with RQ's tools are not.)
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import redis
from rq import Queue

log = logging.getLogger(__name__)

FAILURES_KEY = "metrics:job_failures"
DEPTH_KEY = "metrics:queue_depth:{queue}:{hour}"
FAILURES_PER_MINUTE_KEY = "metrics:job_failures_per_minute:{queue}:{hour}"
# The window's hour, the one before, and one more to find the depth before the window began.
KEEP_HOURS = 3
KEEP_SECONDS = KEEP_HOURS * 3600
HISTORY_MINUTES = 60
BEFORE = ":before"


def count_job_failure(client: redis.Redis, queue_name: str, now: float | None = None) -> None:
    """One more failure of a job of this queue, in total and in this minute."""
    minute = _minute(now)
    key = FAILURES_PER_MINUTE_KEY.format(queue=queue_name, hour=minute // 60)
    with client.pipeline(transaction=False) as pipe:
        pipe.hincrby(FAILURES_KEY, queue_name, 1)
        pipe.hincrby(key, str(minute), 1)
        pipe.expire(key, KEEP_SECONDS)
        pipe.execute()


def job_failure_counts(client: redis.Redis) -> dict[str, int]:
    raw = client.hgetall(FAILURES_KEY)
    return {_text(name): int(value) for name, value in raw.items()}


def record_queue_depth(
    client: redis.Redis, queue_name: str, depth: int, change: int, now: float | None = None
) -> None:
    """`depth` jobs wait in a queue after `change` (+1: one was queued, -1: one was taken)."""
    minute = _minute(now)
    key = DEPTH_KEY.format(queue=queue_name, hour=minute // 60)
    with client.pipeline(transaction=False) as pipe:
        pipe.hsetnx(key, f"{minute}{BEFORE}", max(depth - change, 0))
        pipe.hset(key, str(minute), depth)
        pipe.expire(key, KEEP_SECONDS)
        pipe.execute()


def note_queue_depth(queue: Queue, change: int) -> None:
    """Record the queue's depth after `change`; never fails the enqueue or the job that called it."""
    try:
        record_queue_depth(queue.connection, queue.name, queue.count, change)
    except redis.RedisError as error:
        log.warning("Queue depth of '%s' not recorded: %s", queue.name, type(error).__name__)


@dataclass(frozen=True)
class JobHistory:
    """The last minutes, oldest first, summed over the queues: jobs waiting at the end of each
    minute (the last one: now) and job failures in each minute (retried ones too)."""

    minutes: list[int]  # epoch minutes
    queued: list[int | None]  # None: not known (a record without the depth it started from)
    failures: list[int]


def job_history(
    client: redis.Redis, depths_now: dict[str, int], now: float | None = None, minutes: int = HISTORY_MINUTES
) -> JobHistory:
    """The queues' depth and failures per minute over the last `minutes` minutes.

    `depths_now` is each queue's depth as the caller just counted it. A queue with no record
    in the last KEEP_HOURS had no job queued or taken meanwhile: its depth is that all along.
    """
    last = _minute(now)
    window = list(range(last - minutes + 1, last + 1))
    hours = range(last // 60 - KEEP_HOURS + 1, last // 60 + 1)
    with client.pipeline(transaction=False) as pipe:
        for name in depths_now:
            for template in (DEPTH_KEY, FAILURES_PER_MINUTE_KEY):
                for hour in hours:
                    pipe.hgetall(template.format(queue=name, hour=hour))
        replies = iter(pipe.execute())
    queued: list[int | None] = [0] * minutes
    failures = [0] * minutes
    for depth_now in depths_now.values():
        after, before = _split(_merged([next(replies) for _ in hours]))
        depths = _depths(after, before, window, depth_now)
        queued = [_add(total, depth) for total, depth in zip(queued, depths, strict=True)]
        failed = _merged([next(replies) for _ in hours])
        failures = [
            total + failed.get(str(minute), 0) for total, minute in zip(failures, window, strict=True)
        ]
    return JobHistory(minutes=window, queued=queued, failures=failures)


def _depths(
    after: dict[int, int], before: dict[int, int], window: Sequence[int], depth_now: int
) -> list[int | None]:
    """One queue's depth per minute: the last record's value carried forward (before the first
    record, the depth it started from); now, `depth_now`."""
    if not after:
        return [depth_now] * len(window)
    earlier = [minute for minute in after if minute < window[0]]
    value = after[max(earlier)] if earlier else before.get(min(after))
    values: list[int | None] = []
    for minute in window:
        value = after.get(minute, value)
        values.append(value)
    values[-1] = depth_now
    return values


def _add(total: int | None, value: int | None) -> int | None:
    return None if total is None or value is None else total + value


def _merged(hashes: Iterable[dict[Any, Any]]) -> dict[str, int]:
    """The fields of a queue's hourly hashes, as text, with their values."""
    return {_text(field): int(_text(value)) for fields in hashes for field, value in fields.items()}


def _split(fields: dict[str, int]) -> tuple[dict[int, int], dict[int, int]]:
    """({minute: depth after its last record}, {minute: depth before its first})."""
    after = {int(field): value for field, value in fields.items() if not field.endswith(BEFORE)}
    before = {
        int(field.removesuffix(BEFORE)): value for field, value in fields.items() if field.endswith(BEFORE)
    }
    return after, before


def _minute(now: float | None) -> int:
    return int((time.time() if now is None else now) // 60)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
