"""Background jobs as upstream's Task: pending, running, success or failed."""

from __future__ import annotations

from datetime import UTC, datetime

from rq.job import Job

from memoryserver.auth.principal import Principal
from memoryserver.job_status import fetch_visible_job, job_error, job_status, skipped_reason
from upstream.schemas import TaskStatus, TaskV1

_STATUS: dict[str, TaskStatus] = {
    "queued": "pending",
    "deferred": "pending",
    "scheduled": "pending",
    "started": "running",
    "finished": "success",
    "failed": "failed",
    "stopped": "failed",
    "canceled": "failed",
}


def _utc(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def task_v1(job: Job) -> TaskV1:
    """The job as a Task; `type` is the job's task type, else the name of its function."""
    meta = job.meta or {}
    skipped = skipped_reason(job)
    # Upstream's four statuses have no "skipped": a job that did nothing is not a success.
    error = f"Skipped: {skipped}" if skipped else job_error(job)
    return TaskV1(
        id=job.id,
        type=str(meta.get("task_type") or (job.func_name or "job").rsplit(".", 1)[-1]),
        status="failed" if skipped else _STATUS.get(job_status(job), "pending"),
        view_id=meta.get("view_id"),
        created_at=_utc(job.created_at) or datetime.now(UTC),
        started_at=_utc(job.started_at),
        completed_at=_utc(job.ended_at),
        error_message=error,
    )


def task_state_v1(task_id: str, principal: Principal) -> TaskV1:
    return task_v1(fetch_visible_job(task_id, principal))
