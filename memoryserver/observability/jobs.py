"""The queues' last hour, per minute, for the console's charts, from the job figures the
workers and web processes record (memoryserver.repositories.jobs).

Depth changes only when a job is queued or taken, and both record it, so a minute without a
record has the depth of the last minute that has one, and before the first record, the depth
that record started from. (Jobs RQ queues itself, retries and scheduled jobs, are recorded
when a worker takes them; jobs removed by hand with RQ's tools are not.)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from memoryserver.redis import RedisClient
from memoryserver.repositories.jobs import BEFORE, KEEP_HOURS, epoch_minute, minute_records

HISTORY_MINUTES = 60


@dataclass(frozen=True)
class JobHistory:
    """The last minutes, oldest first, summed over the queues: jobs waiting at the end of each
    minute (the last one: now) and job failures in each minute (retried ones too)."""

    minutes: list[int]  # epoch minutes
    queued: list[int | None]  # None: not known (a record without the depth it started from)
    failures: list[int]


def job_history(
    client: RedisClient, depths_now: dict[str, int], now: float | None = None, minutes: int = HISTORY_MINUTES
) -> JobHistory:
    """The queues' depth and failures per minute over the last `minutes` minutes.

    `depths_now` is each queue's depth as the caller just counted it. A queue with no record
    in the last KEEP_HOURS had no job queued or taken meanwhile: its depth is that all along.
    """
    last = epoch_minute(now)
    window = list(range(last - minutes + 1, last + 1))
    hours = range(last // 60 - KEEP_HOURS + 1, last // 60 + 1)
    records = minute_records(client, list(depths_now), hours)
    queued: list[int | None] = [0] * minutes
    failures = [0] * minutes
    for depth_now, (depth_fields, failed) in zip(depths_now.values(), records, strict=True):
        after, before = _split(depth_fields)
        depths = _depths(after, before, window, depth_now)
        queued = [_add(total, depth) for total, depth in zip(queued, depths, strict=True)]
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


def _split(fields: dict[str, int]) -> tuple[dict[int, int], dict[int, int]]:
    """({minute: depth after its last record}, {minute: depth before its first})."""
    after = {int(field): value for field, value in fields.items() if not field.endswith(BEFORE)}
    before = {
        int(field.removesuffix(BEFORE)): value for field, value in fields.items() if field.endswith(BEFORE)
    }
    return after, before
