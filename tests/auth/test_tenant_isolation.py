"""Tokens bound to namespaces or a user cannot reach other tenants, on any endpoint."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from tests.auth.conftest import SCOPES, bearer


def add_token(*args: str) -> dict[str, str]:
    out = io.StringIO()
    call_command("token", "add", "--scope", "memory:admin", *args, stdout=out, stderr=io.StringIO())
    return bearer(out.getvalue().strip())


@pytest.fixture
def seeded(api, settings, redis_client):
    """Sessions and memories in namespaces a and b, for users u1 and u2; then token mode."""
    for namespace in ("a", "b"):
        for user in ("u1", "u2"):
            api.put(
                f"/sessions/s-{user}/memory",
                params={"namespace": namespace, "user_id": user},
                json={"messages": [{"role": "user", "content": f"{namespace} {user}"}]},
            )
            api.post(
                "/long-term-memory",
                json={
                    "memories": [
                        {
                            "id": f"m-{user}",
                            "text": f"memory of {user} in {namespace}",
                            "namespace": namespace,
                            "user_id": user,
                        }
                    ]
                },
            )
    settings.AUTH_MODE = "token"


def test_namespace_bound_token_stays_in_its_namespace(api, seeded):
    headers = add_token("--namespace", "a")
    ok = [
        api.get("/sessions/s-u1/memory", params={"namespace": "a", "user_id": "u1"}, headers=headers),
        api.get("/sessions/s-u1/memory", params={"user_id": "u1"}, headers=headers),  # a is its default
        api.get("/long-term-memory/m-u1", params={"namespace": "a"}, headers=headers),
    ]
    assert [r.status_code for r in ok] == [200, 200, 200]
    refused = [
        api.get("/sessions/s-u1/memory", params={"namespace": "b", "user_id": "u1"}, headers=headers),
        api.put("/sessions/x/memory", params={"namespace": "b"}, json={}, headers=headers),
        api.put("/sessions/x/memory", json={"namespace": "b"}, headers=headers),
        api.delete("/sessions/s-u1/memory", params={"namespace": "b", "user_id": "u1"}, headers=headers),
        api.get("/sessions/", params={"namespace": "b"}, headers=headers),
        api.post("/long-term-memory", json={"memories": [{"text": "x", "namespace": "b"}]}, headers=headers),
        api.get("/long-term-memory/m-u1", params={"namespace": "b"}, headers=headers),
        api.patch("/long-term-memory/m-u1", params={"namespace": "b"}, json={"text": "y"}, headers=headers),
        api.delete("/long-term-memory", params={"namespace": "b", "memory_ids": "m-u1"}, headers=headers),
        api.post(
            "/long-term-memory/search", json={"text": "memory", "namespace": {"eq": "b"}}, headers=headers
        ),
        api.post(
            "/long-term-memory/search", json={"text": "", "namespace": {"any": ["a", "b"]}}, headers=headers
        ),
        api.post("/long-term-memory/forget", json={"namespace": "b", "dry_run": False}, headers=headers),
    ]
    assert [r.status_code for r in refused] == [403] * len(refused), [r.text for r in refused]
    assert "Namespace 'b' is outside" in refused[0].json()["detail"]


def test_searches_without_a_namespace_are_confined_not_widened(api, seeded):
    headers = add_token("--namespace", "a")
    for mode in ("semantic", "keyword", "hybrid"):
        result = api.post(
            "/long-term-memory/search", json={"text": "memory of u1", "search_mode": mode}, headers=headers
        ).json()
        assert {m["namespace"] for m in result["memories"]} == {"a"}
    listing = api.post(
        "/long-term-memory/search", json={"text": "", "namespace": {"ne": "x"}}, headers=headers
    ).json()
    assert listing["total"] == 2 and {m["namespace"] for m in listing["memories"]} == {"a"}
    sessions = api.get("/sessions/", headers=headers).json()
    assert sessions == {"sessions": ["s-u2", "s-u1"], "total": 2}
    forgot = api.post("/long-term-memory/forget", json={"user_id": "u1", "dry_run": False}, headers=headers)
    assert forgot.json()["deleted"] == 1
    assert api.post("/long-term-memory/search", json={"text": ""}).status_code == 401


def test_a_token_of_several_namespaces_is_asked_to_name_one_where_one_is_needed(api, seeded):
    headers = add_token("--namespace", "a", "--namespace", "b")
    for response in (
        api.get("/sessions/", headers=headers),
        api.put("/sessions/x/memory", json={}, headers=headers),
        api.post("/long-term-memory", json={"memories": [{"text": "x"}]}, headers=headers),
    ):
        assert response.status_code == 422
        [error] = response.json()["errors"]
        assert error == {
            "field": "namespace",
            "message": "this caller may use several namespaces (a, b): name one",
        }
    assert api.get("/sessions/", params={"namespace": "b"}, headers=headers).json()["total"] == 2
    both = api.post("/long-term-memory/search", json={"text": ""}, headers=headers).json()
    assert both["total"] == 4  # a search is confined to the caller's namespaces, all of them


def test_user_bound_token_sees_only_its_user(api, seeded, settings):
    headers = add_token("--namespace", "a", "--user-id", "u1")
    assert api.get("/sessions/s-u1/memory", headers=headers).status_code == 200  # user filled in
    assert api.get("/sessions/s-u2/memory", params={"user_id": "u2"}, headers=headers).status_code == 403
    assert api.get("/sessions/", headers=headers).json() == {"sessions": ["s-u1"], "total": 1}
    assert api.get("/long-term-memory/m-u1", headers=headers).status_code == 200
    result = api.post("/long-term-memory/search", json={"text": "memory"}, headers=headers).json()
    assert {m["user_id"] for m in result["memories"]} == {"u1"}
    refused = api.post(
        "/long-term-memory/search", json={"text": "x", "user_id": {"eq": "u2"}}, headers=headers
    )
    assert refused.status_code == 403
    created = api.post(
        "/long-term-memory", json={"memories": [{"id": "new", "text": "fresh fact"}]}, headers=headers
    )
    assert created.status_code == 200
    assert api.get("/long-term-memory/new", headers=headers).json()["user_id"] == "u1"
    patch = api.patch("/long-term-memory/m-u1", json={"user_id": "u2"}, headers=headers)
    assert patch.status_code == 403


def test_jwt_claims_bind_namespaces_and_user(api, seeded, settings, oauth2):
    settings.OAUTH2_USER_ID_CLAIM = "sub"
    token = oauth2.token(sub="u2", namespaces=["b"], scope=SCOPES)
    result = api.post("/long-term-memory/search", json={"text": ""}, headers=bearer(token)).json()
    assert [(m["namespace"], m["user_id"]) for m in result["memories"]] == [("b", "u2")]
    assert (
        api.get("/sessions/s-u1/memory", params={"namespace": "a"}, headers=bearer(token)).status_code == 403
    )


def test_a_task_is_visible_only_to_callers_who_may_see_its_tenants(
    api, seeded, fake_openai, settings, request
):
    """Compaction of namespace b, and a summary of a's session of u2: ids of other tenants' tasks
    answer exactly like ids of tasks that never existed."""
    from providers.llm import reset_chat_models

    settings.OPENAI_API_BASE = fake_openai.openai_base_url  # summaries are queued, not run
    reset_chat_models()
    request.addfinalizer(reset_chat_models)
    unbound = add_token()
    a_only, a_u1 = add_token("--namespace", "a"), add_token("--namespace", "a", "--user-id", "u1")
    compaction = api.post("/long-term-memory/compact", json={"namespace": "b"}, headers=unbound).json()
    summary = api.put(
        "/sessions/long/memory",
        params={"namespace": "a", "user_id": "u2", "window_size": 2},
        json={"messages": [{"role": "user", "content": f"m{i}"} for i in range(4)]},
        headers=unbound,
    ).json()["summarization"]
    operator_job = io.StringIO()
    call_command("schedule_task", "longterm_app.tasks.compact_memories", stdout=operator_job)
    operator_id = operator_job.getvalue().split()[-1]

    def status(task_id: str, headers: dict[str, str]) -> tuple[int, int]:
        seed = api.get(f"/tasks/{task_id}", headers=headers).status_code
        return seed, api.get(f"/v1/tasks/{task_id}", headers=headers).status_code

    for task_id in (compaction["task_id"], summary["job_id"], operator_id):
        assert status(task_id, unbound) == (200, 200)
    assert status(summary["job_id"], a_only) == (200, 200)
    hidden = [
        (compaction["task_id"], a_only),
        (summary["job_id"], a_u1),  # another user of the same namespace
        (operator_id, a_only),
        (compaction["task_id"], a_u1),
    ]
    for task_id, headers in hidden:
        assert status(task_id, headers) == (404, 404)
        never = "01NEVERQUEUEDTASK0000000000"
        answer = api.get(f"/tasks/{task_id}", headers=headers).json()["detail"]
        assert answer.replace(task_id, "ID") == api.get(f"/tasks/{never}", headers=headers).json()[
            "detail"
        ].replace(never, "ID")
