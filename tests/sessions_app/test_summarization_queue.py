"""A session that outgrows its window gets a summary job on the django-rq queue, which runs."""

from __future__ import annotations

import django_rq
import pytest
from rq import SimpleWorker
from rq.job import Job

from tests.helpers import conversation


def run_queued_jobs(redis_client) -> None:
    queue = django_rq.get_queue("summarization", connection=redis_client)
    SimpleWorker([queue], connection=redis_client).work(burst=True)


def test_within_the_window_nothing_is_queued(api, redis_client):
    response = api.put("/sessions/s/memory", json={"messages": conversation(3)}, params={"window_size": 3})
    assert response.json()["summarization"] is None
    assert django_rq.get_queue("summarization", connection=redis_client).count == 0


@pytest.fixture
def model_configured(fake_openai, settings):
    """A chat model is configured (the scripted server); jobs stay queued until a worker runs."""
    from providers.llm import reset_chat_models

    settings.OPENAI_API_BASE = fake_openai.openai_base_url
    reset_chat_models()
    yield fake_openai
    reset_chat_models()


def test_more_messages_than_the_window_queues_a_summary_job(api, redis_client, model_configured):
    response = api.put("/sessions/s/memory", json={"messages": conversation(4)}, params={"window_size": 3})
    summarization = response.json()["summarization"]
    assert summarization["status"] == "queued"
    assert summarization["reason"] == "4 messages exceed the window of 3"
    job = Job.fetch(summarization["job_id"], connection=redis_client)
    assert job.func_name == "sessions_app.tasks.summarize_session"
    assert job.args == ("default", None, "s")


def test_without_a_model_no_job_is_queued_and_the_answer_says_why(api, redis_client):
    response = api.put("/sessions/s/memory", json={"messages": conversation(4)}, params={"window_size": 3})
    summarization = response.json()["summarization"]
    assert summarization["status"] == "disabled" and summarization["job_id"] is None
    assert summarization["reason"] == "4 messages exceed the window of 3"
    assert "No chat model is configured" in summarization["detail"]
    assert django_rq.get_queue("summarization", connection=redis_client).count == 0
    appended = api.post("/sessions/s/messages", json={"messages": conversation(1)}, params={"window_size": 3})
    assert appended.json()["summarization"]["status"] == "disabled"


def test_a_job_that_finds_no_model_is_skipped_not_successful(api, redis_client):
    api.put("/sessions/s/memory", json={"messages": conversation(4)}, params={"window_size": 3})
    queue = django_rq.get_queue("summarization", connection=redis_client)
    job = queue.enqueue("sessions_app.tasks.summarize_session", "default", None, "s", window_size=3)
    run_queued_jobs(redis_client)
    task = api.get(f"/tasks/{job.id}").json()
    assert task["status"] == "skipped" and "No chat model is configured" in task["error"]
    v1 = api.get(f"/v1/tasks/{job.id}").json()
    assert v1["status"] == "failed" and v1["error_message"].startswith("Skipped: No chat model")
    # The job changed nothing: all messages are still there.
    assert len(api.get("/sessions/s/memory", params={"window_size": 10}).json()["messages"]) == 4


def test_token_budget_of_the_client_model_queues_a_summary(api, redis_client, settings):
    settings.SUMMARIZATION_THRESHOLD = 0.5
    response = api.put(
        "/sessions/s/memory",
        json={"messages": conversation(4, words=60)},
        params={"context_window_max": 200, "window_size": 100},
    )
    reason = response.json()["summarization"]["reason"]
    assert reason.endswith("tokens exceed 100 (50% of 200)")


def test_job_for_a_deleted_session_reports_it_is_gone(api, redis_client, model_configured):
    response = api.put("/sessions/s/memory", json={"messages": conversation(4)}, params={"window_size": 3})
    job_id = response.json()["summarization"]["job_id"]
    api.delete("/sessions/s/memory")
    run_queued_jobs(redis_client)
    assert Job.fetch(job_id, connection=redis_client).return_value() == {"status": "gone", "session_id": "s"}
