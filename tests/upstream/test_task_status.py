"""Background jobs as upstream's Task, from real RQ jobs on the test Redis.

`sync_jobs` runs a job inside the call that queues it; without it a job stays queued
(no worker runs in these tests).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from rq.job import Job

from memoryserver.auth.principal import ANONYMOUS_DEVELOPER, Principal
from memoryserver.errors import NotFound
from memoryserver.job_status import fetch_job
from memoryserver.queues import enqueue, get_queue
from tests.upstream import jobs
from upstream.schemas import TaskV1
from upstream.task_status import task_state_v1, task_v1

JOBS = "tests.upstream.jobs"


def task_of(job_id: str) -> TaskV1:
    return task_v1(fetch_job(job_id))


def queued_job() -> Job:
    return fetch_job(enqueue("default", f"{JOBS}.finish"))


def test_a_finished_job_is_a_success_with_its_times_in_utc(redis_client, sync_jobs):
    before = datetime.now(UTC) - timedelta(seconds=1)
    task = task_of(enqueue("default", f"{JOBS}.finish"))
    assert (task.status, task.error_message) == ("success", None)
    assert task.started_at is not None and task.completed_at is not None
    moments = [task.created_at, task.started_at, task.completed_at]
    assert all(moment.utcoffset() == timedelta(0) for moment in moments)
    assert before <= task.created_at <= task.started_at <= task.completed_at <= datetime.now(UTC)


def test_a_jobs_type_is_its_functions_name_without_the_module(redis_client, sync_jobs):
    assert task_of(enqueue("default", f"{JOBS}.finish")).type == "finish"


def test_a_jobs_type_and_view_come_from_its_meta_when_set(redis_client, sync_jobs):
    meta = {"task_type": "summary_view_full_run", "view_id": "v-1"}
    task = task_of(enqueue("default", f"{JOBS}.finish", meta=meta))
    assert (task.type, task.view_id) == ("summary_view_full_run", "v-1")


def test_a_job_that_raised_is_failed_with_its_exceptions_last_line(redis_client, sync_jobs):
    task = task_of(enqueue("default", f"{JOBS}.explode", "disk full"))
    assert (task.status, task.error_message) == ("failed", "RuntimeError: boom: disk full")


@pytest.mark.parametrize(
    ("result", "message"),
    [
        (
            {"status": "disabled", "reason": "summaries are switched off"},
            "Skipped: summaries are switched off",
        ),
        ({"status": "skipped"}, "Skipped: the feature is off"),
    ],
)
def test_a_job_that_skipped_its_work_is_failed_with_the_reason(redis_client, sync_jobs, result, message):
    task = task_of(enqueue("default", f"{JOBS}.report", result))
    assert (task.status, task.error_message) == ("failed", message)


def test_a_job_whose_result_reports_another_status_is_a_success(redis_client, sync_jobs):
    task = task_of(enqueue("default", f"{JOBS}.report", {"status": "ok", "reason": "nothing to say"}))
    assert (task.status, task.error_message) == ("success", None)


def test_a_running_job_is_running_with_its_start_and_no_end(redis_client, sync_jobs):
    seen = fetch_job(enqueue("default", jobs.describe_itself)).return_value()
    assert isinstance(seen, dict)
    assert seen["status"] == "running"
    assert seen["started_at"] is not None and seen["completed_at"] is None


def test_a_queued_job_is_pending_without_start_or_end(redis_client):
    task = task_v1(queued_job())
    assert (task.status, task.started_at, task.completed_at, task.error_message) == (
        "pending",
        None,
        None,
        None,
    )


def test_a_job_scheduled_for_later_is_pending(redis_client):
    job = get_queue("default").enqueue_in(timedelta(hours=1), jobs.finish)
    assert job.get_status() == "scheduled"
    assert task_v1(fetch_job(job.id)).status == "pending"


def test_a_job_waiting_for_another_is_pending(redis_client):
    job = get_queue("default").enqueue(jobs.finish, depends_on=queued_job())
    assert job.get_status() == "deferred"
    assert task_v1(fetch_job(job.id)).status == "pending"


def test_a_canceled_job_is_failed_without_an_error_message(redis_client):
    job = queued_job()
    job.cancel()
    task = task_of(job.id)
    assert (task.status, task.error_message) == ("failed", None)


def test_a_task_is_shown_to_callers_who_may_see_its_tenant(redis_client):
    job_id = enqueue("default", f"{JOBS}.finish", tenants=[("team-a", "alice")])
    alice = Principal(subject="alice", method="token", namespaces=frozenset({"team-a"}), user_id="alice")
    assert task_state_v1(job_id, alice).id == job_id
    assert task_state_v1(job_id, ANONYMOUS_DEVELOPER).id == job_id


@pytest.mark.parametrize(
    "caller",
    [
        Principal(subject="b", method="token", namespaces=frozenset({"team-b"})),
        Principal(subject="bob", method="token", namespaces=frozenset({"team-a"}), user_id="bob"),
    ],
)
def test_another_tenants_task_is_not_found_like_a_missing_one(redis_client, caller):
    job_id = enqueue("default", f"{JOBS}.finish", tenants=[("team-a", "alice")])
    with pytest.raises(NotFound) as hidden:
        task_state_v1(job_id, caller)
    with pytest.raises(NotFound) as missing:
        task_state_v1("no-such-task", caller)
    assert hidden.value.detail == missing.value.detail.replace("no-such-task", job_id)
