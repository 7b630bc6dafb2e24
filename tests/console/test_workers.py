"""Workers page: queued, running and failed jobs per queue; retry and delete failed jobs; compaction."""

from __future__ import annotations

import django_rq
import pytest
from django.contrib.messages import get_messages
from django.test import Client, override_settings
from rq import SimpleWorker
from rq.job import Job
from rq.registry import FailedJobRegistry

from console.audit import AuditLog
from console.jobs import COMPACTION_TASK
from memoryserver.redis import get_redis
from tests.console.conftest import html
from tests.console.jobs import explode, report_running, succeed


def queue(name: str = "default"):
    return django_rq.get_queue(name, connection=get_redis(), commit_mode="auto")


def run_worker(name: str = "default") -> None:
    SimpleWorker([queue(name)], connection=get_redis()).work(burst=True)


@pytest.fixture
def failed_job(console) -> str:
    job = queue().enqueue(explode, "<script>alert(1)</script>")
    run_worker()
    assert job.id in FailedJobRegistry(queue=queue())
    return job.id


def test_failed_jobs_show_their_error_and_traceback_escaped(console: Client, failed_job):
    response = console.get("/console/workers/")
    assert response.status_code == 200
    page = html(response)
    assert failed_job in page
    assert "tests.console.jobs.explode" in page
    assert "RuntimeError: boom: &lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "Traceback (most recent call last)" in page
    assert "<script>alert(1)" not in page
    assert f"/console/workers/default/failed/{failed_job}/retry/" in page


def test_queued_jobs_are_listed_with_counts(console: Client):
    job = queue("summarization").enqueue(succeed)
    page = html(console.get("/console/workers/"))
    assert "Queue summarization" in page and job.id in page
    assert "Queued <strong>1</strong>" in page


def test_retry_puts_a_failed_job_back_on_its_queue_and_audits(console: Client, failed_job):
    response = console.post(f"/console/workers/default/failed/{failed_job}/retry/")
    assert response.status_code == 302
    assert failed_job not in FailedJobRegistry(queue=queue())
    assert queue().get_job_ids() == [failed_job]
    (entry,) = AuditLog(get_redis()).page()
    assert (entry.action, entry.details) == ("job.retry", {"queue": "default", "job_id": failed_job})
    run_worker()  # it fails again, and is listed again
    assert failed_job in FailedJobRegistry(queue=queue())


def test_delete_forgets_a_failed_job_and_audits(console: Client, failed_job):
    response = console.post(f"/console/workers/default/failed/{failed_job}/delete/")
    assert response.status_code == 302
    assert FailedJobRegistry(queue=queue()).count == 0
    assert not Job.exists(failed_job, connection=get_redis())
    (entry,) = AuditLog(get_redis()).page()
    assert (entry.action, entry.target) == ("job.delete", f"job '{failed_job}' in queue 'default'")


@pytest.mark.parametrize("action", ["retry", "delete"])
@pytest.mark.parametrize(("queue_name", "job_id"), [("default", "nope"), ("other", "x")])
def test_unknown_jobs_and_queues_show_an_error(console: Client, action, queue_name, job_id):
    response = console.post(f"/console/workers/{queue_name}/failed/{job_id}/{action}/")
    assert response.status_code == 302
    (message,) = get_messages(response.wsgi_request)
    assert message.level_tag == "error"
    assert f"'{queue_name if queue_name == 'other' else job_id}'" in message.message
    assert AuditLog(get_redis()).total() == 0


def test_compaction_is_queued_by_its_dotted_path_and_audited(console: Client):
    page = html(console.get("/console/workers/"))
    form = page.split('action="/console/workers/compact/"', 1)[1].split(">", 1)[0]
    assert 'data-confirm="Compact every namespace now?' in form  # the browser asks first
    response = console.post("/console/workers/compact/")
    assert response.status_code == 302
    (job_id,) = queue().get_job_ids()
    assert Job.fetch(job_id, connection=get_redis()).func_name == COMPACTION_TASK
    (entry,) = AuditLog(get_redis()).page()
    assert (entry.action, entry.details) == ("job.enqueue", {"task": COMPACTION_TASK, "job_id": job_id})
    assert "Queued longterm_app.tasks.compact_memories" in html(console.get("/console/workers/"))


def test_a_failing_enqueue_shows_the_error_instead_of_crashing(console: Client):
    with override_settings(REDIS_URL="redis://127.0.0.1:1/0"):
        response = console.post("/console/workers/compact/")
    assert response.status_code == 302
    (message,) = get_messages(response.wsgi_request)
    assert message.level_tag == "error"
    assert "Could not queue longterm_app.tasks.compact_memories: ConnectionError" in message.message
    assert AuditLog(get_redis()).total() == 0


def test_an_unreachable_redis_is_a_503_page(console: Client):
    with override_settings(REDIS_URL="redis://127.0.0.1:1/0"):
        response = console.get("/console/workers/")
    assert response.status_code == 503
    assert "Redis is unavailable" in html(response)


def test_a_running_job_is_listed_as_running(console: Client):
    job = queue().enqueue(report_running)
    run_worker()
    job.refresh()
    assert job.return_value() == [job.id]
