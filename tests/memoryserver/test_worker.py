"""The worker: a fixed job timeout (the seed's redelivery timeout), counted failures, job ids in logs."""

from __future__ import annotations

import logging

from rq import Queue
from rq.job import Job

from memoryserver.repositories.jobs import job_failure_counts
from server.worker import MemoryWorker


def test_a_job_running_past_the_redelivery_timeout_is_stopped_and_counted(redis_client):
    queue = Queue("default", connection=redis_client)
    job = queue.enqueue("time.sleep", 5, job_timeout=600)
    worker = MemoryWorker([queue], connection=redis_client, job_timeout=1)
    worker.work(burst=True)
    job = Job.fetch(job.id, connection=redis_client)
    assert job.get_status() == "failed"
    assert "JobTimeoutException" in (job.latest_result().exc_string or "")
    assert job_failure_counts(redis_client) == {"default": 1}


def test_job_logs_carry_the_job_id(redis_client, caplog):
    queue = Queue("default", connection=redis_client)
    job = queue.enqueue("logging.warning", "inside the job")
    with caplog.at_level(logging.WARNING):
        MemoryWorker([queue], connection=redis_client).work(burst=True)
    (record,) = [r for r in caplog.records if r.getMessage() == "inside the job"]
    assert record.request_id == f"job:{job.id}"
