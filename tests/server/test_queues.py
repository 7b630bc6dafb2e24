"""memoryserver.queues: jobs are queued with the tenants whose data they touch; a burst
of writes coalesces into one job; the queue-depth chart never fails the caller."""

from __future__ import annotations

import time

import pytest
from rq.job import Job

from memoryserver.queues import (
    TENANTS_META,
    enqueue,
    enqueue_once,
    get_queue,
    queue_depths,
)
from memoryserver.redis import get_redis
from memoryserver.repositories import pending_jobs
from memoryserver.repositories.jobs import DEPTH_KEY, epoch_minute
from tests.console.jobs import explode, succeed


def job(job_id: str) -> Job:
    return Job.fetch(job_id, connection=get_redis("queue"))


def test_a_jobs_tenants_are_kept_once_each_in_order_beside_its_other_meta(redis_client):
    tenants = [("team-b", "bob"), ("team-a", None), ("team-b", "bob")]
    queued = job(enqueue("default", succeed, meta={"task_type": "compaction"}, tenants=tenants))
    assert queued.meta == {"task_type": "compaction", TENANTS_META: [["team-a", None], ["team-b", "bob"]]}
    assert TENANTS_META not in job(enqueue("default", succeed)).meta


def test_a_burst_for_one_key_is_one_job_carrying_its_tenants(redis_client):
    first = enqueue_once("session-1", "default", succeed, tenants=[("team-a", "alice")])
    assert enqueue_once("session-1", "default", succeed, tenants=[("team-a", "alice")]) == first
    assert job(first).meta[TENANTS_META] == [["team-a", "alice"]]
    assert get_queue("default").count == 1


def test_a_claim_whose_enqueue_fails_is_released_so_the_next_write_queues_a_job(redis_client):
    with pytest.raises(KeyError):
        enqueue_once("session-1", "no-such-queue", succeed)
    assert pending_jobs.pending_job(redis_client, "session-1") is None
    queued = enqueue_once("session-1", "default", succeed)
    assert pending_jobs.pending_job(redis_client, "session-1") == queued


def test_a_redis_that_refuses_the_depth_record_fails_neither_the_enqueue_nor_the_caller(redis_client, caplog):
    minute = epoch_minute(time.time())
    for hour in (minute // 60, minute // 60 + 1):  # this hour's chart, or the next's should it turn
        redis_client.set(DEPTH_KEY.format(queue="default", hour=hour), "not a hash")
    assert job(enqueue("default", succeed)).get_status() == "queued"
    assert "Queue depth of 'default' not recorded: ResponseError" in caplog.text


def test_queue_depths_count_waiting_and_failed_jobs_of_every_task_queue(redis_client, settings):
    enqueue("default", succeed)
    enqueue("default", succeed)
    summarization = {**settings.RQ_QUEUES["summarization"], "ASYNC": False}  # runs as it is queued
    settings.RQ_QUEUES = {**settings.RQ_QUEUES, "summarization": summarization}
    enqueue("summarization", explode, "on purpose")
    depths = queue_depths()
    assert set(depths) == set(settings.TASK_QUEUES)
    assert (depths["default"], depths["summarization"]) == ((2, 0), (0, 1))
