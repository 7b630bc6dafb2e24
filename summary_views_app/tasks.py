"""Background jobs of summary views, run by django-rq workers.

- `summarize_partition`: one partition of a view, on demand (the request waits for it).
- `refresh_view`: every partition of a view (a full run, tracked as a task).
- `refresh_continuous_views`: refreshes every continuous view, then schedules itself again
  after SUMMARY_VIEW_REFRESH_MINUTES while continuous views exist.

Jobs read memories as the system (views span tenants) and call the chat model named by the
view, or FAST_MODEL; without a configured chat model they fail with the reason.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import timedelta
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from rq.job import Job
from rq.results import Result

from longterm_app.records import MemoryRecord
from longterm_app.repository import MemoryStore
from longterm_app.services import list_memories
from memoryserver.auth.principal import SYSTEM
from memoryserver.errors import BackendUnavailable, Conflict, NotFound
from memoryserver.fields import now
from memoryserver.job_status import fetch_job, job_error, job_status
from memoryserver.queues import RESULT_TTL_SECONDS, enqueue, get_queue
from memoryserver.redis import fresh_async_redis, get_redis
from providers.llm import ChatModel, ModelNotConfigured, get_chat_model
from summary_views_app.repository import SummaryViewStore
from summary_views_app.schemas import PartitionResult, SummaryView
from summary_views_app.services import BackgroundWork
from summary_views_app.summarize import partitions, summarize, view_filters

logger = logging.getLogger(__name__)

QUEUE = "summarization"
TASK_TYPE = "summary_view_full_run"
# Newest memories summarised per partition, and scanned per full run.
MAX_PARTITION_MEMORIES = 1_000
MAX_VIEW_MEMORIES = 10_000
# How long a request for one partition waits for a worker before answering 503.
PARTITION_WAIT_SECONDS = 120.0
# The periodic refresh's "scheduled" marker outlives its interval by this much, so a lost
# schedule (Redis flushed) is replaced by the next continuous view created.
REFRESH_GRACE_SECONDS = 600


def _model(view: SummaryView) -> ChatModel:
    return get_chat_model("fast", model=view.model_name)


async def _view(store: SummaryViewStore, view_id: str) -> SummaryView:
    view = await store.get(view_id)
    if view is None:
        raise NotFound(f"No summary view '{view_id}'.")
    return view


async def _summarized(
    store: SummaryViewStore, view: SummaryView, group: dict[str, str], records: list[MemoryRecord]
) -> PartitionResult:
    members = records[:MAX_PARTITION_MEMORIES]
    result = PartitionResult(
        view_id=view.id,
        group=group,
        summary=summarize(_model(view), view, group, members),
        memory_count=len(members),
        computed_at=now(),
    )
    await store.save_result(result)
    return result


def summarize_partition(view_id: str, group: dict[str, str]) -> dict[str, Any]:
    """Summarise one partition of a view and store the result."""
    return asyncio.run(_summarize_partition(view_id, group))


async def _summarize_partition(view_id: str, group: dict[str, str]) -> dict[str, Any]:
    async with fresh_async_redis("long_term") as client:
        store = SummaryViewStore(client)
        view = await _view(store, view_id)
        filters = view_filters(view, group, now())
        records = await list_memories(MemoryStore(client), SYSTEM, filters, MAX_PARTITION_MEMORIES)
        result = await _summarized(store, view, group, records)
    return result.model_dump()


def refresh_view(view_id: str) -> dict[str, Any]:
    """Summarise every partition of a view (those its memories fall into) and store the results."""
    return asyncio.run(_refresh(view_id))


async def _refresh(view_id: str) -> dict[str, Any]:
    async with fresh_async_redis("long_term") as client:
        store = SummaryViewStore(client)
        view = await _view(store, view_id)
        _model(view)  # fails before any work when no chat model is configured
        filters = view_filters(view, None, now())
        records = await list_memories(MemoryStore(client), SYSTEM, filters, MAX_VIEW_MEMORIES)
        groups = partitions(view, records)
        for group, members in groups.values():
            await _summarized(store, view, group, members)
    return {"view_id": view_id, "partitions": len(groups), "memories": len(records)}


def refresh_continuous_views() -> dict[str, Any]:
    """Refresh every continuous view; schedule the next run while any exist."""
    report = asyncio.run(_refresh_continuous())
    if report["views"]:
        get_queue("default").enqueue_in(
            timedelta(minutes=settings.SUMMARY_VIEW_REFRESH_MINUTES),
            refresh_continuous_views,
            result_ttl=RESULT_TTL_SECONDS,
        )
    return report


async def _refresh_continuous() -> dict[str, Any]:
    refreshed: list[str] = []
    skipped: dict[str, str] = {}
    async with fresh_async_redis("long_term") as client:
        store = SummaryViewStore(client)
        views = [view for view in await store.all() if view.continuous]
        for view in views:
            try:
                await _refresh(view.id)
                refreshed.append(view.id)
            except (ModelNotConfigured, NotFound) as error:
                logger.warning("Summary view %s not refreshed: %s", view.id, error.detail)
                skipped[view.id] = error.detail
            except Exception as error:  # one view failing must not stop the others
                logger.exception("Summary view %s failed to refresh", view.id)
                skipped[view.id] = f"{type(error).__name__}: {error}"
        if views:
            await store.hold_refresh(_refresh_hold_seconds())
        else:
            await store.release_refresh()
    return {"views": len(views), "refreshed": refreshed, "skipped": skipped}


def _refresh_hold_seconds() -> int:
    return int(settings.SUMMARY_VIEW_REFRESH_MINUTES) * 60 + REFRESH_GRACE_SECONDS


async def schedule_refresh(store: SummaryViewStore) -> None:
    """Start the periodic refresh of continuous views unless it is already scheduled."""
    if await store.claim_refresh(_refresh_hold_seconds()):
        await sync_to_async(enqueue, thread_sensitive=False)("default", refresh_continuous_views)


async def queue_full_run(view_id: str, task_id: str | None) -> str:
    """Queue a full run as a task whose id the client may choose; returns the task id."""

    def queue() -> str:
        if task_id is not None and Job.exists(task_id, connection=get_redis("queue")):
            raise Conflict(f"A task '{task_id}' exists already; choose another task_id or omit it.")
        meta = {"task_type": TASK_TYPE, "view_id": view_id}
        return enqueue(QUEUE, refresh_view, view_id, job_id=task_id, meta=meta)

    return await sync_to_async(queue, thread_sensitive=False)()


def _failed_attempt(job: Job) -> str | None:
    """The error of the job's last attempt if it failed (RQ may be about to retry it)."""
    if job_status(job) == "failed":
        return job_error(job) or "the job failed"
    latest = job.latest_result()
    if latest is not None and latest.type == Result.Type.FAILED and latest.exc_string:
        return latest.exc_string.strip().splitlines()[-1]
    return None


async def run_partition(view_id: str, group: dict[str, str]) -> PartitionResult:
    """Queue one partition's summary and wait for a worker to finish it."""
    job_id = await sync_to_async(enqueue, thread_sensitive=False)(QUEUE, summarize_partition, view_id, group)
    deadline = time.monotonic() + PARTITION_WAIT_SECONDS
    delay = 0.02
    while True:
        job = await sync_to_async(fetch_job, thread_sensitive=False)(job_id)
        if job_status(job) == "finished":
            return PartitionResult.model_validate(job.return_value(refresh=False))
        failure = await sync_to_async(_failed_attempt, thread_sensitive=False)(job)
        if failure is not None:
            raise BackendUnavailable(f"The summary of this partition failed (task {job_id}): {failure}")
        if time.monotonic() > deadline:
            raise BackendUnavailable(
                f"No worker finished the summary within {PARTITION_WAIT_SECONDS:.0f} s; it goes on as "
                f"task {job_id} and its result will be listed with the view's partitions."
            )
        await asyncio.sleep(delay)
        delay = min(delay * 2, 0.5)


BACKGROUND = BackgroundWork(partition=run_partition, full_run=queue_full_run, periodic=schedule_refresh)
