"""The core's Redis keys (memoryserver.repositories) and the one decode rule every Redis
reply goes through (memoryserver.redis.text), on the test Redis."""

from __future__ import annotations

import pytest

from memoryserver.auth.api_tokens import create_token, list_tokens
from memoryserver.queues import enqueue_once, release
from memoryserver.redis import text
from memoryserver.repositories import pending_jobs
from memoryserver.repositories.api_tokens import TOKEN_INDEX, TOKEN_PREFIX
from memoryserver.repositories.llm_usage import usage_key
from memoryserver.repositories.server import Unreachable, server_facts
from providers.llm.usage import usage_totals
from server.localredis import free_port
from tests.console.jobs import succeed


def test_text_decodes_bytes_as_utf8_and_keeps_text_as_it_is():
    assert text("é:ns".encode()) == "é:ns"
    assert text("already text") == "already text"


def test_text_refuses_bytes_that_are_not_utf8():
    with pytest.raises(UnicodeDecodeError):
        text(b"\xff\xfe")


def test_a_second_claim_of_a_pending_key_is_refused_until_released(redis_client):
    assert pending_jobs.claim(redis_client, "session-1", "job-a")
    assert not pending_jobs.claim(redis_client, "session-1", "job-b")
    assert pending_jobs.pending_job(redis_client, "session-1") == "job-a"
    pending_jobs.release(redis_client, "session-1")
    assert pending_jobs.pending_job(redis_client, "session-1") is None
    assert pending_jobs.claim(redis_client, "session-1", "job-b")


def test_a_pending_marker_expires_so_a_lost_job_never_blocks_for_good(redis_client):
    pending_jobs.claim(redis_client, "session-1", "job-a")
    ttl = redis_client.ttl(pending_jobs.PENDING_PREFIX + "session-1")
    assert 0 < ttl <= pending_jobs.PENDING_TTL_SECONDS


def test_writes_while_a_job_waits_join_it_and_after_its_start_queue_another(redis_client):
    first = enqueue_once("session-1", "default", succeed)
    assert enqueue_once("session-1", "default", succeed) == first
    assert enqueue_once("session-2", "default", succeed) != first
    release("session-1")  # the job started
    assert enqueue_once("session-1", "default", succeed) != first


def test_a_listed_token_whose_hash_is_missing_is_left_out_of_listings(redis_client):
    """A crash between the two writes of a new token leaves it listed but not stored."""
    _, info = create_token(redis_client, "kept", ["read"])
    redis_client.sadd(TOKEN_INDEX, "f" * 64)
    assert [listed.id for listed in list_tokens(redis_client)] == [info.id]
    assert redis_client.exists(TOKEN_PREFIX + "f" * 64) == 0


def test_usage_totals_give_every_counter_of_a_task_even_one_never_written(redis_client):
    redis_client.hset(usage_key("tagging"), mapping={"calls": 2, "input_tokens": 40})
    assert usage_totals() == {"tagging": {"calls": 2, "input_tokens": 40, "output_tokens": 0}}


def test_a_server_nobody_listens_on_is_unreachable_by_the_name_of_the_error():
    with pytest.raises(Unreachable, match=r"^ConnectionError$"):
        server_facts(f"redis://127.0.0.1:{free_port()}/0", ask_json=True, ask_search=True)


def test_server_facts_say_what_the_test_redis_offers(redis_client, use_test_redis):
    facts = server_facts(use_test_redis, ask_json=True, ask_search=True)
    assert (facts.cluster, facts.json, facts.search) == (False, True, True)
