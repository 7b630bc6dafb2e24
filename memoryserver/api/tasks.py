"""GET /tasks/{id}: what became of a background job."""

from __future__ import annotations

import re
from typing import Any, Literal

from asgiref.sync import sync_to_async
from django.http import HttpResponse
from drf_spectacular.utils import extend_schema
from pydantic import BaseModel
from rest_framework.request import Request
from rq.exceptions import NoSuchJobError
from rq.job import Job

from memoryserver.api.views import ApiView, json_response
from memoryserver.errors import NotFound
from memoryserver.redis import get_redis

TaskStatus = Literal[
    "queued", "started", "deferred", "scheduled", "finished", "failed", "stopped", "canceled"
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


def task_state(task_id: str) -> TaskState:
    if not TASK_ID.fullmatch(task_id):
        raise NotFound(f"No task '{task_id}': task ids are letters, digits, '_' and '-'.")
    try:
        job = Job.fetch(task_id, connection=get_redis())
    except NoSuchJobError:
        raise NotFound(f"No task '{task_id}' (finished tasks are kept for a limited time).") from None
    status = job.get_status(refresh=False)
    error = None
    if status == "failed":
        latest = job.latest_result()
        if latest is not None and latest.exc_string:
            # The exception's last line: its type and message, without the traceback.
            error = latest.exc_string.strip().splitlines()[-1]
    return TaskState(
        id=job.id,
        status=str(status.value if hasattr(status, "value") else status),
        result=job.return_value(refresh=False) if status == "finished" else None,
        error=error,
        enqueued_at=job.enqueued_at.timestamp() if job.enqueued_at else None,
        ended_at=job.ended_at.timestamp() if job.ended_at else None,
    )


class TaskView(ApiView):
    """Status and result of a background task, such as indexing a large batch of memories."""

    @extend_schema(summary="Get a background task's status", responses=TaskState)
    async def get(self, request: Request, task_id: str) -> HttpResponse:
        return json_response(await sync_to_async(task_state, thread_sensitive=False)(task_id))
