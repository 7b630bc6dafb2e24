"""GET /tasks/{id}: what became of a background job."""

from __future__ import annotations

from asgiref.sync import sync_to_async
from django.http import HttpResponse
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request

from memoryserver.job_status import TaskState, task_state
from rest.plumbing import ApiView, json_response, principal_of


class TaskView(ApiView):
    """Status and result of a background task, such as indexing a large batch of memories."""

    @extend_schema(
        summary="Get a background task's status",
        description="Only for callers who may see every tenant the task touches (an unbound token "
        "sees every task); to anyone else the task does not exist.",
        responses=TaskState,
    )
    async def get(self, request: Request, task_id: str) -> HttpResponse:
        state = await sync_to_async(task_state, thread_sensitive=False)(task_id, principal_of(request))
        return json_response(state)
