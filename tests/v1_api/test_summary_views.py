"""/v1/summary-views: definitions in Redis, partitions summarised by RQ jobs with the chat model."""

from __future__ import annotations

import pytest
from rq.registry import ScheduledJobRegistry

from memoryserver.queues import get_queue
from summary_views_app.repository import REFRESH_PENDING
from summary_views_app.tasks import refresh_view
from tests.fake_openai import Reply
from tests.v1_api.contract import assert_complete, checked

VIEWS = "/v1/summary-views"
VIEW = "/v1/summary-views/{view_id}"
RUN_PARTITION = "/v1/summary-views/{view_id}/partitions/run"
PARTITIONS = "/v1/summary-views/{view_id}/partitions"
RUN = "/v1/summary-views/{view_id}/run"


def create_view(api, **spec):
    body = {"source": "long_term", "group_by": ["user_id"], **spec}
    return checked(api.post(VIEWS, json=body), "post", VIEWS)


@pytest.fixture
def memories(api):
    memories = [
        {"id": "a1", "text": "Alice runs marathons", "user_id": "alice", "memory_type": "semantic"},
        {"id": "a2", "text": "Alice moved to Lisbon in 2025", "user_id": "alice", "memory_type": "episodic"},
        {"id": "b1", "text": "Bob collects vinyl records", "user_id": "bob"},
        {"id": "n1", "text": "Nobody's memory"},
    ]
    assert api.post("/v1/long-term-memory", json={"memories": memories}).status_code == 200


def test_views_are_created_listed_read_and_deleted(api):
    view = create_view(api, name="per user", filters={"namespace": "default"}, time_window_days=30)
    assert_complete(view, "SummaryView")
    assert view["filters"] == {"namespace": "default"} and view["continuous"] is False
    listed = checked(api.get(VIEWS), "get", VIEWS)
    assert [v["id"] for v in listed] == [view["id"]]
    assert api.get(f"{VIEWS}/").json() == listed  # with a trailing slash too
    assert checked(api.get(f"{VIEWS}/{view['id']}"), "get", VIEW) == view
    assert checked(api.delete(f"{VIEWS}/{view['id']}"), "delete", VIEW) == {"status": "ok"}
    assert api.get(f"{VIEWS}/{view['id']}").status_code == 404
    assert api.get(VIEWS).json() == []


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        ({"source": "working_memory"}, "source"),
        ({"group_by": ["topics"]}, "group_by"),
        ({"group_by": ["user_id", "user_id"]}, "group_by"),
        ({"filters": {"colour": "red"}}, "filters"),
        ({"filters": {"memory_type": "dream"}}, "filters"),
        ({"time_window_days": 0}, "time_window_days"),
    ],
)
def test_invalid_views_are_validation_errors(api, spec, field):
    response = api.post(VIEWS, json={"source": "long_term", "group_by": ["user_id"], **spec})
    detail = checked(response, "post", VIEWS, status=422)["detail"]
    assert detail[0]["loc"][0] == field


def test_running_without_a_chat_model_says_what_to_configure(api, memories, caplog):
    view = create_view(api)
    for response in (
        api.post(f"{VIEWS}/{view['id']}/partitions/run", json={"group": {"user_id": "alice"}}),
        api.post(f"{VIEWS}/{view['id']}/run", json={}),
    ):
        assert response.status_code == 501
        assert "OPENAI_API_KEY" in response.json()["detail"]
    assert api.get(f"{VIEWS}/{view['id']}/partitions").json() == []
    # An answer by design, not a server fault: logged as the feature being off, not an ERROR.
    assert [r.levelname for r in caplog.records if r.name == "django.request"] == []
    assert sum("Feature off:" in r.getMessage() for r in caplog.records) == 2


def test_a_partition_is_summarised_now_and_stored(api, memories, chat_model):
    chat_model.push(Reply.text("Alice is a marathon runner who moved to Lisbon in 2025."))
    view = create_view(api, prompt="Summarise the user's life.", model_name="gpt-4.1-mini")
    response = api.post(f"{VIEWS}/{view['id']}/partitions/run", json={"group": {"user_id": "alice"}})
    result = checked(response, "post", RUN_PARTITION)
    assert result["summary"] == "Alice is a marathon runner who moved to Lisbon in 2025."
    assert result["memory_count"] == 2 and result["group"] == {"user_id": "alice"}
    (call,) = chat_model.bodies("/v1/chat/completions")
    assert call["model"] == "gpt-4.1-mini" and "Summarise the user's life." in call["messages"][0]["content"]
    assert "Alice runs marathons" in call["messages"][1]["content"]
    assert "Bob" not in call["messages"][1]["content"]
    stored = checked(api.get(f"{VIEWS}/{view['id']}/partitions"), "get", PARTITIONS)
    assert stored == [result]


def test_partition_groups_must_match_the_view(api, chat_model):
    view = create_view(api)
    for group in ({}, {"namespace": "default"}, {"user_id": "alice", "namespace": "default"}):
        response = api.post(f"{VIEWS}/{view['id']}/partitions/run", json={"group": group})
        assert checked(response, "post", RUN_PARTITION, status=422)["detail"][0]["loc"] == ["group"]
    missing = api.post(f"{VIEWS}/nope/partitions/run", json={"group": {"user_id": "a"}})
    assert missing.status_code == 404


def test_an_empty_partition_needs_no_model_call(api, chat_model):
    view = create_view(api)
    result = api.post(f"{VIEWS}/{view['id']}/partitions/run", json={"group": {"user_id": "nobody"}}).json()
    assert result["memory_count"] == 0 and result["summary"] == "No memories match this partition."
    assert chat_model.bodies("/v1/chat/completions") == []


def test_a_full_run_is_a_task_that_summarises_every_partition(api, memories, chat_model):
    chat_model.push(Reply.text("summary one"), Reply.text("summary two"))
    view = create_view(api)
    task = checked(api.post(f"{VIEWS}/{view['id']}/run", json={"task_id": "refresh-1"}), "post", RUN)
    assert task["id"] == "refresh-1" and task["type"] == "summary_view_full_run"
    assert task["view_id"] == view["id"] and task["status"] == "success"  # RQ runs it at once in tests
    polled = checked(api.get("/v1/tasks/refresh-1"), "get", "/v1/tasks/{task_id}")
    assert polled["status"] == "success" and polled["completed_at"] is not None
    results = api.get(f"{VIEWS}/{view['id']}/partitions").json()
    assert sorted(r["group"]["user_id"] for r in results) == ["alice", "bob"]  # no user: no partition
    alice = api.get(f"{VIEWS}/{view['id']}/partitions", params={"user_id": "alice"}).json()
    assert [r["memory_count"] for r in alice] == [2]
    again = api.post(f"{VIEWS}/{view['id']}/run", json={"task_id": "refresh-1"})
    assert again.status_code == 409


def test_filters_and_several_group_fields(api, memories, chat_model):
    view = create_view(api, group_by=["user_id", "memory_type"], filters={"memory_type": "episodic"})
    api.post(f"{VIEWS}/{view['id']}/run", json={})
    (result,) = api.get(f"{VIEWS}/{view['id']}/partitions").json()
    assert result["group"] == {"user_id": "alice", "memory_type": "episodic"} and result["memory_count"] == 1


def test_a_failed_full_run_reports_its_error(api, memories, chat_model):
    view = create_view(api)
    api.delete(f"{VIEWS}/{view['id']}")  # gone before the worker starts
    job = get_queue("summarization").enqueue(refresh_view, view["id"], job_id="doomed")
    task = api.get(f"/v1/tasks/{job.id}").json()
    assert task["status"] == "failed" and "No summary view" in task["error_message"]


def test_continuous_views_are_refreshed_now_and_periodically(api, memories, chat_model, redis_client):
    view = create_view(api, continuous=True)
    assert len(api.get(f"{VIEWS}/{view['id']}/partitions").json()) == 2
    assert redis_client.exists(REFRESH_PENDING)
    scheduled = ScheduledJobRegistry(queue=get_queue("default"))
    (job_id,) = scheduled.get_job_ids()
    assert get_queue("default").fetch_job(job_id).func_name.endswith("refresh_continuous_views")
    create_view(api, continuous=True)  # already scheduled: nothing more is queued
    assert len(scheduled.get_job_ids()) == 1
