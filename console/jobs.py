"""The django-rq queues as the console shows them: counts, jobs, failed-job actions.

Only this module reaches RQ's keys, always through RQ's own API.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import partial

from django.conf import settings
from rq import Queue
from rq.exceptions import InvalidJobOperation, NoSuchJobError
from rq.job import Job
from rq.registry import (
    BaseRegistry,
    DeferredJobRegistry,
    FailedJobRegistry,
    ScheduledJobRegistry,
    StartedJobRegistry,
)
from rq.results import Result

from longterm_app.services import queue_compaction_everywhere
from longterm_app.tasks import compact_memories, queue_manual_compaction
from memoryserver.errors import NotFound
from memoryserver.observability.jobs import JobHistory, job_history
from memoryserver.queues import get_queue, note_queue_depth
from memoryserver.redis import get_redis

COMPACTION_TASK = f"{compact_memories.__module__}.{compact_memories.__qualname__}"
SHOWN_PER_LIST = 50


@dataclass(frozen=True)
class JobInfo:
    id: str
    func_name: str
    status: str
    enqueued_at: datetime | None
    started_at: datetime | None
    ended_at: datetime | None
    error: str | None  # last line of the traceback
    traceback: str | None


@dataclass(frozen=True)
class QueueCounts:
    name: str
    queued: int
    started: int
    failed: int
    scheduled: int
    deferred: int


@dataclass(frozen=True)
class QueueJobs:
    counts: QueueCounts
    queued: list[JobInfo]
    started: list[JobInfo]
    failed: list[JobInfo]


def _queue(name: str) -> Queue:
    if name not in settings.TASK_QUEUES:
        raise NotFound(f"No queue '{name}'; the queues are {', '.join(settings.TASK_QUEUES)}.")
    return get_queue(name)


def _traceback(job: Job) -> str | None:
    result = job.latest_result()
    if result is not None and result.type == Result.Type.FAILED:
        return result.exc_string
    return None


def _info(job: Job) -> JobInfo:
    traceback = _traceback(job)
    lines = traceback.strip().splitlines() if traceback else []
    status = job.get_status(refresh=False)
    return JobInfo(
        id=job.id,
        func_name=job.func_name or "?",
        status=str(getattr(status, "value", status)),
        enqueued_at=job.enqueued_at,
        started_at=job.started_at,
        ended_at=job.ended_at,
        error=lines[-1] if lines else None,
        traceback=traceback,
    )


def _jobs(queue: Queue, ids: list[str]) -> list[JobInfo]:
    return [_info(job) for job in Job.fetch_many(ids, connection=queue.connection) if job is not None]


def _registry_ids(registry: BaseRegistry) -> list[str]:
    return registry.get_job_ids(0, SHOWN_PER_LIST - 1, desc=True)


def counts(name: str) -> QueueCounts:
    queue = _queue(name)
    return QueueCounts(
        name=name,
        queued=queue.count,
        started=StartedJobRegistry(queue=queue).count,
        failed=FailedJobRegistry(queue=queue).count,
        scheduled=ScheduledJobRegistry(queue=queue).count,
        deferred=DeferredJobRegistry(queue=queue).count,
    )


def all_counts() -> list[QueueCounts]:
    return [counts(name) for name in settings.TASK_QUEUES]


def history(queues: list[QueueCounts]) -> JobHistory:
    """The last hour of these queues: jobs waiting per minute (ending with these counts), failures."""
    return job_history(get_redis("queue"), {queue.name: queue.queued for queue in queues})


def queue_jobs(name: str) -> QueueJobs:
    """A queue's counts, and its newest queued, running and failed jobs."""
    queue = _queue(name)
    return QueueJobs(
        counts=counts(name),
        queued=_jobs(queue, queue.get_job_ids(0, SHOWN_PER_LIST)),
        started=_jobs(queue, _registry_ids(StartedJobRegistry(queue=queue))),
        failed=_jobs(queue, _registry_ids(FailedJobRegistry(queue=queue))),
    )


def retry_failed(queue_name: str, job_id: str) -> None:
    """Put a failed job back on its queue."""
    queue = _queue(queue_name)
    try:
        FailedJobRegistry(queue=queue).requeue(job_id)
    except (NoSuchJobError, InvalidJobOperation):
        raise NotFound(f"No failed job '{job_id}' in queue '{queue_name}'.") from None
    note_queue_depth(queue, +1)


def delete_failed(queue_name: str, job_id: str) -> None:
    """Forget a failed job: remove it from the failed registry and delete its data."""
    registry = FailedJobRegistry(queue=_queue(queue_name))
    if job_id not in registry:
        raise NotFound(f"No failed job '{job_id}' in queue '{queue_name}'.")
    try:
        registry.remove(job_id, delete_job=True)
    except NoSuchJobError:  # its data expired already; the registry entry is all that is left
        registry.remove(job_id)


def enqueue_compaction() -> str:
    """Queue a compaction run over every namespace; returns the job id."""
    schedule = partial(queue_manual_compaction, description="compaction from console")
    return queue_compaction_everywhere(schedule).task_id
