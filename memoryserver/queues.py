"""Enqueue background jobs on the django-rq queues named in settings.TASK_QUEUES."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

import django_rq
from django.conf import settings
from rq import Queue, Retry

from memoryserver.fields import new_id
from memoryserver.redis import REDIS_FAILED, get_redis
from memoryserver.repositories import pending_jobs
from memoryserver.repositories.jobs import record_queue_depth

log = logging.getLogger(__name__)

DEFAULT_RETRY = Retry(max=3, interval=[5, 30, 120])
# Results stay readable through GET /tasks/{id} for a day.
RESULT_TTL_SECONDS = 86_400


def get_queue(queue_name: str) -> Queue:
    """A queue of settings.RQ_QUEUES; its "ASYNC": False (RQ's own switch) runs jobs at once, for tests."""
    is_async = bool(settings.RQ_QUEUES[queue_name].get("ASYNC", True))
    # "auto": enqueue at once, even inside a database transaction (jobs never wait for one).
    return django_rq.get_queue(
        queue_name, connection=get_redis("queue"), is_async=is_async, commit_mode="auto"
    )


def note_queue_depth(queue: Queue, change: int) -> None:
    """Record the queue's depth after `change` (+1: a job was queued, -1: one was taken), for
    the console's chart of the last hour; never fails the enqueue or the job that called it."""
    try:
        record_queue_depth(queue.connection, queue.name, queue.count, change)
    except REDIS_FAILED as error:
        log.warning("Queue depth of '%s' not recorded: %s", queue.name, type(error).__name__)


def queue_depths() -> dict[str, tuple[int, int]]:
    """{queue name: (jobs waiting, jobs in its failed registry)} for every task queue."""
    depths = {}
    for name in settings.TASK_QUEUES:
        queue = get_queue(name)
        depths[name] = (queue.count, queue.failed_job_registry.count)
    return depths


# Job meta naming the tenants whose data a job touches: [[namespace, user_id or None], ...].
# GET /tasks/{id} shows a job only to callers who may see every one of them (memoryserver.job_status);
# a job without it (an operator's, or one spanning every tenant) only to callers bound to none.
TENANTS_META = "tenants"
Tenant = tuple[str, str | None]


def enqueue(
    queue_name: str,
    func: Callable[..., Any] | str,
    *args: Any,
    job_id: str | None = None,
    meta: dict[str, Any] | None = None,
    tenants: Iterable[Tenant] = (),
    retry: Retry | None = DEFAULT_RETRY,
    description: str | None = None,
    **kwargs: Any,
) -> str:
    """Queue `func(*args, **kwargs)` (with retries unless `retry` is None) and return the job id;
    `meta` is kept on the job, with the `tenants` whose data it touches."""
    owners = sorted({(namespace, user_id) for namespace, user_id in tenants}, key=str)
    if owners:
        meta = {**(meta or {}), TENANTS_META: [list(owner) for owner in owners]}
    queue = get_queue(queue_name)
    job = queue.enqueue(
        func,  # type: ignore[type-var]  # RQ takes a dotted path as well as a function
        args=args,
        kwargs=kwargs,
        retry=retry,
        result_ttl=RESULT_TTL_SECONDS,
        job_id=job_id or new_id(),
        meta=meta,
        description=description,
    )
    note_queue_depth(queue, +1)  # for the console's chart of the last hour
    return str(job.id)


def enqueue_once(
    pending_key: str,
    queue_name: str,
    func: Callable[..., Any],
    *args: Any,
    tenants: Iterable[Tenant] = (),
    **kwargs: Any,
) -> str:
    """Queue the job unless one for `pending_key` is already waiting; return the job id either way.

    Coalesces bursts (a PUT per message) into one job. The job calls `release(pending_key)`
    when it starts, so writes that arrive while it runs queue the next one.
    """
    job_id = new_id()
    client = get_redis("queue")
    if not pending_jobs.claim(client, pending_key, job_id):
        waiting = pending_jobs.pending_job(client, pending_key)
        if waiting is not None:
            return waiting
        if not pending_jobs.claim(client, pending_key, job_id):  # taken again meanwhile
            return enqueue_once(pending_key, queue_name, func, *args, tenants=tenants, **kwargs)
    try:
        return enqueue(queue_name, func, *args, job_id=job_id, tenants=tenants, **kwargs)
    except BaseException:
        pending_jobs.release(client, pending_key)
        raise


def release(pending_key: str) -> None:
    """Called by a coalesced job as it starts: later writes may queue another job."""
    pending_jobs.release(get_redis("queue"), pending_key)
