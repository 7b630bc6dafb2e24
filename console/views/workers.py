"""Workers: each queue's queued, running and failed jobs; retry or delete failed ones; run compaction."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from longterm_app.tasks import COMPACTION_QUEUE
from memoryserver.errors import NotFound

from .. import jobs
from ..access import staff_view
from .common import record


@staff_view
@require_GET
def workers(request: HttpRequest) -> HttpResponse:
    queues = [jobs.queue_jobs(name) for name in settings.TASK_QUEUES]
    context = {
        "queues": queues,
        "compaction_task": jobs.COMPACTION_TASK,
        "compaction_queue": COMPACTION_QUEUE,
    }
    return render(request, "console/workers.html", context)


@staff_view
@require_POST
def retry_job(request: HttpRequest, queue: str, job_id: str) -> HttpResponse:
    try:
        jobs.retry_failed(queue, job_id)
    except NotFound as error:
        messages.error(request, error.detail)
    else:
        record(request, "job.retry", f"job '{job_id}' in queue '{queue}'", queue=queue, job_id=job_id)
        messages.success(request, f"Job '{job_id}' is queued again on '{queue}'.")
    return redirect("console:workers")


@staff_view
@require_POST
def delete_job(request: HttpRequest, queue: str, job_id: str) -> HttpResponse:
    try:
        jobs.delete_failed(queue, job_id)
    except NotFound as error:
        messages.error(request, error.detail)
    else:
        record(request, "job.delete", f"job '{job_id}' in queue '{queue}'", queue=queue, job_id=job_id)
        messages.success(request, f"Deleted failed job '{job_id}' of queue '{queue}'.")
    return redirect("console:workers")


@staff_view
@require_POST
def enqueue_compaction(request: HttpRequest) -> HttpResponse:
    try:
        job_id = jobs.enqueue_compaction()
    except Exception as error:  # whatever stops the enqueue is shown to the operator, never a 500
        messages.error(request, f"Could not queue {jobs.COMPACTION_TASK}: {type(error).__name__}: {error}")
        return redirect("console:workers")
    record(
        request,
        "job.enqueue",
        f"job '{job_id}' in queue '{COMPACTION_QUEUE}'",
        task=jobs.COMPACTION_TASK,
        job_id=job_id,
    )
    messages.success(request, f"Queued {jobs.COMPACTION_TASK} as job '{job_id}'.")
    return redirect("console:workers")
