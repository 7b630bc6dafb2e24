"""The queues' last hour, per minute: depth recorded as jobs are queued and taken, failures as they happen."""

from __future__ import annotations

import time

import redis
from rq import Queue

from memoryserver.observability.jobs import job_history
from memoryserver.queues import enqueue, note_queue_depth
from memoryserver.repositories.jobs import KEEP_SECONDS, count_job_failure, record_queue_depth
from server.worker import MemoryWorker

NOW = 1_700_000_000.0  # an instant some minutes into an hour
MINUTE = 60


def test_a_minute_without_records_has_the_depth_of_the_last_one_with_one(redis_client):
    record_queue_depth(redis_client, "default", 3, +1, now=NOW - 50 * MINUTE)
    record_queue_depth(redis_client, "default", 5, +1, now=NOW - 50 * MINUTE + 30)  # the minute's last wins
    record_queue_depth(redis_client, "default", 1, -1, now=NOW - 10 * MINUTE)

    history = job_history(redis_client, {"default": 0}, now=NOW)
    assert len(history.minutes) == len(history.queued) == len(history.failures) == 60
    assert history.minutes[-1] == int(NOW // 60)
    assert history.queued[:9] == [2] * 9  # before the first record: the depth it started from
    assert history.queued[9:49] == [5] * 40
    assert history.queued[49:59] == [1] * 10
    assert history.queued[59] == 0  # now: the depth the caller counted


def test_a_record_before_the_window_is_carried_into_it(redis_client):
    record_queue_depth(redis_client, "default", 4, +1, now=NOW - 100 * MINUTE)  # another hour
    history = job_history(redis_client, {"default": 4}, now=NOW)
    assert history.queued == [4] * 60


def test_a_queue_without_records_kept_its_depth_all_along(redis_client):
    history = job_history(redis_client, {"default": 2, "summarization": 0}, now=NOW)
    assert history.queued == [2] * 60


def test_an_idle_queue_that_gets_a_job_was_empty_before(redis_client):
    record_queue_depth(redis_client, "summarization", 1, +1, now=NOW - 2 * MINUTE)
    history = job_history(redis_client, {"summarization": 1, "default": 0}, now=NOW)
    assert history.queued[:-3] == [0] * 57
    assert history.queued[-3:] == [1, 1, 1]


def test_queues_and_failures_are_summed_over_the_queues(redis_client):
    record_queue_depth(redis_client, "default", 2, +1, now=NOW - 5 * MINUTE)
    record_queue_depth(redis_client, "summarization", 7, +1, now=NOW - 3 * MINUTE)
    for queue_name, minutes_ago in (("default", 5), ("default", 5), ("summarization", 5), ("default", 0)):
        count_job_failure(redis_client, queue_name, now=NOW - minutes_ago * MINUTE)
    count_job_failure(redis_client, "default", now=NOW - 61 * MINUTE)  # before the window

    history = job_history(redis_client, {"default": 2, "summarization": 7}, now=NOW)
    assert history.queued[0] == 1 + 6  # what each queue started from
    assert history.queued[-6:] == [8, 8, 9, 9, 9, 9]
    assert history.failures[-6] == 3 and history.failures[-1] == 1
    assert sum(history.failures) == 4


def test_the_keys_expire_and_hold_one_hour_each(redis_client):
    for minute in range(90):
        record_queue_depth(redis_client, "default", minute, +1, now=NOW + minute * MINUTE)
        count_job_failure(redis_client, "default", now=NOW + minute * MINUTE)
    keys = [key.decode() for key in redis_client.scan_iter("metrics:*:default:*")]
    assert len(keys) == 4  # two hours touched, for each of the two figures
    for key in keys:
        assert 0 < redis_client.ttl(key) <= KEEP_SECONDS
        assert redis_client.hlen(key) <= 120  # a minute's depth after and before, or its failures


def test_enqueueing_and_taking_a_job_record_the_depth(redis_client):
    enqueue("default", "tests.console.jobs.succeed")
    enqueue("default", "tests.console.jobs.succeed")
    history = job_history(redis_client, {"default": 2}, now=time.time() + MINUTE)  # a minute on
    assert history.queued[0] == 0 and history.queued[-2:] == [2, 2]
    queue = Queue("default", connection=redis_client)
    MemoryWorker([queue], connection=redis_client).work(burst=True)
    previous_minute = job_history(redis_client, {"default": 0}, now=time.time() + MINUTE).queued[-2]
    assert previous_minute == 0  # taken: the minute ended with the queue empty


def test_a_failing_job_is_counted_in_its_minute(redis_client):
    queue = Queue("default", connection=redis_client)
    queue.enqueue("tests.console.jobs.explode", "x")
    MemoryWorker([queue], connection=redis_client).work(burst=True)
    assert sum(job_history(redis_client, {"default": 0}).failures) == 1


def test_a_failing_record_does_not_fail_the_enqueue(redis_client, caplog):
    class Broken(Queue):
        @property
        def count(self) -> int:
            raise redis.ConnectionError("gone")

    note_queue_depth(Broken("default", connection=redis_client), +1)
    assert "Queue depth of 'default' not recorded: ConnectionError" in caplog.text
