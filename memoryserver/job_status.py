"""What became of a background job, as callers may see it: GET /tasks/{id}, /v1 tasks and
summary-view runs all answer from here."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel
from rq.exceptions import NoSuchJobError
from rq.job import Job

from memoryserver.auth.principal import Principal
from memoryserver.errors import NotFound
from memoryserver.queues import TENANTS_META
from memoryserver.redis import get_redis

# RQ's statuses, and "skipped": finished without doing anything because a feature is off.
TaskStatus = Literal[
    "queued", "started", "deferred", "scheduled", "finished", "failed", "stopped", "canceled", "skipped"
]


class TaskState(BaseModel):
    id: str
    status: TaskStatus | str
    result: Any = None
    error: str | None = None
    enqueued_at: float | None = None
    ended_at: float | None = None


# RQ's own rule for job ids; anything else cannot name a task.
TASK_ID = re.compile(r"[A-Za-z0-9_-]{1,200}")


def fetch_job(task_id: str) -> Job:
    """The background job with this id; NotFound once RQ has forgotten it (or never could have known it)."""
    if not TASK_ID.fullmatch(task_id):
        raise NotFound(f"No task '{task_id}': task ids are letters, digits, '_' and '-'.")
    try:
        return Job.fetch(task_id, connection=get_redis("queue"))
    except NoSuchJobError:
        raise NotFound(f"No task '{task_id}' (finished tasks are kept for a limited time).") from None


def fetch_visible_job(task_id: str, principal: Principal) -> Job:
    """The job, if this caller may see every tenant it touches; otherwise the same NotFound as a
    missing task, so another tenant's task ids cannot be confirmed."""
    job = fetch_job(task_id)
    tenants = (job.meta or {}).get(TENANTS_META)
    visible = (
        all(principal.may_see(namespace, user_id) for namespace, user_id in tenants)
        if tenants
        else principal.unbound
    )
    if not visible:
        raise NotFound(f"No task '{task_id}' (finished tasks are kept for a limited time).")
    return job


def job_status(job: Job) -> str:
    status = job.get_status(refresh=False)
    return str(status.value if hasattr(status, "value") else status)


def job_error(job: Job) -> str | None:
    """Why a failed job failed: its exception's last line (type and message), without the traceback."""
    if job_status(job) != "failed":
        return None
    latest = job.latest_result()
    if latest is None or not latest.exc_string:
        return None
    return latest.exc_string.strip().splitlines()[-1]


# Results by which a finished job says it did nothing, because a feature is off.
SKIPPED_RESULTS = frozenset({"disabled", "skipped"})


def skipped_reason(job: Job) -> str | None:
    """Why a finished job did nothing (its result says "disabled"); None if it did its work."""
    if job_status(job) != "finished":
        return None
    result = job.return_value(refresh=False)
    if isinstance(result, dict) and result.get("status") in SKIPPED_RESULTS:
        return str(result.get("reason") or "the feature is off")
    return None


def task_state(task_id: str, principal: Principal) -> TaskState:
    job = fetch_visible_job(task_id, principal)
    status = job_status(job)
    skipped = skipped_reason(job)
    return TaskState(
        id=job.id,
        status="skipped" if skipped else status,
        result=job.return_value(refresh=False) if status == "finished" else None,
        error=skipped or job_error(job),
        enqueued_at=job.enqueued_at.timestamp() if job.enqueued_at else None,
        ended_at=job.ended_at.timestamp() if job.ended_at else None,
    )
