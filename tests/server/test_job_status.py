"""memoryserver.job_status: what GET /tasks/{id} tells a caller about a background job, from real
RQ jobs on the test Redis (`sync_jobs` runs a job as it is queued; without it, it waits)."""

from __future__ import annotations

import pytest

from memoryserver.auth.principal import ANONYMOUS_DEVELOPER, Principal
from memoryserver.errors import NotFound
from memoryserver.job_status import TaskState, fetch_job, fetch_visible_job, task_state
from memoryserver.queues import Tenant, enqueue

JOBS = "tests.upstream.jobs"
TEAM_A = Principal(subject="a", method="token", namespaces=frozenset({"team-a"}))
TEAMS_A_B = Principal(subject="ab", method="token", namespaces=frozenset({"team-a", "team-b"}))
ALICE = Principal(subject="alice", method="token", namespaces=frozenset({"team-a"}), user_id="alice")


def state_of(function: str, *args: object) -> TaskState:
    return task_state(enqueue("default", f"{JOBS}.{function}", *args), ANONYMOUS_DEVELOPER)


@pytest.mark.parametrize("task_id", ["has space", "../etc", "x" * 201, "", "é"])
def test_an_id_rq_could_never_have_given_is_not_found_by_its_rule(task_id, redis_client):
    with pytest.raises(NotFound, match="task ids are letters, digits, '_' and '-'"):
        fetch_job(task_id)


def test_a_queued_task_has_no_result_error_or_end_yet(redis_client):
    state = state_of("finish")
    assert (state.status, state.result, state.error, state.ended_at) == ("queued", None, None, None)
    assert state.enqueued_at is not None


def test_a_finished_task_shows_its_result_and_ended_after_it_was_queued(redis_client, sync_jobs):
    state = state_of("finish")
    assert (state.status, state.result, state.error) == ("finished", "done", None)
    assert state.enqueued_at is not None and state.ended_at is not None
    assert state.enqueued_at <= state.ended_at


def test_a_failed_task_shows_its_exceptions_last_line_and_no_result(redis_client, sync_jobs):
    state = state_of("explode", "disk full")
    assert (state.status, state.result, state.error) == ("failed", None, "RuntimeError: boom: disk full")


@pytest.mark.parametrize(
    ("result", "reason"),
    [
        ({"status": "disabled", "reason": "topics are off"}, "topics are off"),
        ({"status": "skipped"}, "the feature is off"),
    ],
)
def test_a_task_that_did_nothing_because_a_feature_is_off_is_skipped_with_why(
    redis_client, sync_jobs, result, reason
):
    state = state_of("report", result)
    assert (state.status, state.error, state.result) == ("skipped", reason, result)


@pytest.mark.parametrize(
    ("tenants", "shown_to", "hidden_from"),
    [
        ([("team-a", None), ("team-b", None)], [TEAMS_A_B, ANONYMOUS_DEVELOPER], [TEAM_A, ALICE]),
        ([("team-a", None)], [TEAM_A, TEAMS_A_B], [ALICE]),  # every user of team-a, not only alice
        ([("team-a", "alice")], [ALICE, TEAM_A], []),
        ([], [ANONYMOUS_DEVELOPER], [TEAM_A, ALICE]),  # an operator's job: for unbound callers only
    ],
)
def test_a_task_is_shown_only_to_callers_who_may_see_every_tenant_it_touches(
    redis_client, tenants: list[Tenant], shown_to, hidden_from
):
    job_id = enqueue("default", f"{JOBS}.finish", tenants=tenants)
    assert [fetch_visible_job(job_id, caller).id for caller in shown_to] == [job_id] * len(shown_to)
    for caller in hidden_from:
        with pytest.raises(NotFound) as hidden:
            fetch_visible_job(job_id, caller)
        assert hidden.value.detail == f"No task '{job_id}' (finished tasks are kept for a limited time)."
