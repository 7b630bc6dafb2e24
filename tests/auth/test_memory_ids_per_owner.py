"""Memory ids are per owner: another user's id looks exactly like a free one, on every route."""

from __future__ import annotations

import json

import pytest

from tests.auth.test_tenant_isolation import add_token

NS = {"namespace": "team"}


@pytest.fixture
def shared(api, settings):
    """u1 and u2 both hold id 'pref' in namespace team; u2 alone holds 'only-u2'; then token mode."""
    memories = [
        {"id": "pref", "text": "u1 prefers tea", "namespace": "team", "user_id": "u1"},
        {"id": "pref", "text": "u2 prefers coffee", "namespace": "team", "user_id": "u2"},
        {"id": "only-u2", "text": "u2 runs marathons", "namespace": "team", "user_id": "u2"},
    ]
    for memory in memories:
        response = api.post("/long-term-memory", json={"memories": [memory]})
        assert response.status_code == 200 and response.json()["stored"] == [memory["id"]], response.text
    settings.AUTH_MODE = "token"


def test_two_users_hold_the_same_id_and_each_reads_its_own(api, shared):
    for user, text in (("u1", "u1 prefers tea"), ("u2", "u2 prefers coffee")):
        headers = add_token("--namespace", "team", "--user-id", user)
        assert api.get("/long-term-memory/pref", headers=headers).json()["text"] == text
        assert api.get("/v1/long-term-memory/pref", headers=headers).json()["text"] == text
    unbound = add_token()
    for user, text in (("u1", "u1 prefers tea"), ("u2", "u2 prefers coffee")):
        owned = {**NS, "user_id": user}
        assert api.get("/long-term-memory/pref", params=owned, headers=unbound).json()["text"] == text
        assert api.get("/v1/long-term-memory/pref", params=owned, headers=unbound).json()["text"] == text


def _answers(api, headers, memory_id: str) -> list[tuple[int, str]]:
    """What a caller learns from every by-id route, with the id replaced by a placeholder."""
    text = "u1 writes this"
    calls = [
        api.get(f"/long-term-memory/{memory_id}", params=NS, headers=headers),
        api.patch(f"/long-term-memory/{memory_id}", params=NS, json={"topics": ["x"]}, headers=headers),
        api.get(f"/v1/long-term-memory/{memory_id}", headers=headers),
        api.get(f"/v1/long-term-memory/{memory_id}", params=NS, headers=headers),
        api.patch(f"/v1/long-term-memory/{memory_id}", json={"topics": ["x"]}, headers=headers),
        api.delete("/long-term-memory", params={**NS, "memory_ids": memory_id}, headers=headers),
        api.delete("/v1/long-term-memory", params={**NS, "memory_ids": memory_id}, headers=headers),
        api.delete("/v1/long-term-memory", params={"memory_ids": memory_id}, headers=headers),
        api.post(
            "/long-term-memory",
            json={"memories": [{"id": memory_id, "text": f"{text} {memory_id}", **NS}]},
            headers=headers,
        ),
    ]
    return [(r.status_code, r.text.replace(memory_id, "<id>")) for r in calls]


def test_another_users_id_answers_exactly_as_a_free_one(api, shared):
    u1 = add_token("--namespace", "team", "--user-id", "u1")
    taken, free = _answers(api, u1, "only-u2"), _answers(api, u1, "nobody-has-it")
    assert taken == free
    assert [status for status, _ in taken] == [404, 404, 404, 404, 404, 200, 200, 200, 200]
    # u1 now holds its own 'only-u2'; u2's memory is untouched
    assert api.get("/long-term-memory/only-u2", headers=u1).json()["user_id"] == "u1"
    u2 = add_token("--namespace", "team", "--user-id", "u2")
    assert api.get("/long-term-memory/only-u2", headers=u2).json()["text"] == "u2 runs marathons"


def test_an_unbound_caller_names_the_user_when_several_hold_the_id(api, shared):
    unbound = add_token()
    ambiguous = [
        api.get("/long-term-memory/pref", params=NS, headers=unbound),
        api.patch("/long-term-memory/pref", params=NS, json={"topics": ["x"]}, headers=unbound),
        api.delete("/long-term-memory", params={**NS, "memory_ids": "pref"}, headers=unbound),
        api.get("/v1/long-term-memory/pref", headers=unbound),
    ]
    assert [r.status_code for r in ambiguous] == [409] * 4, [r.text for r in ambiguous]
    assert "name the user_id" in ambiguous[0].json()["detail"]
    single = api.get("/long-term-memory/only-u2", params=NS, headers=unbound)
    assert single.json()["user_id"] == "u2"  # one holder: found without naming it
    owned = {**NS, "user_id": "u1"}
    edited = api.patch(
        "/long-term-memory/pref", params=owned, json={"text": "u1 prefers green tea"}, headers=unbound
    )
    assert edited.status_code == 200 and edited.json()["user_id"] == "u1"
    deleted = api.delete("/long-term-memory", params={**owned, "memory_ids": "pref"}, headers=unbound)
    assert deleted.json()["deleted"] == 1 and deleted.json()["missing"] == []
    assert api.get("/long-term-memory/pref", params=NS, headers=unbound).json()["text"] == "u2 prefers coffee"


def test_giving_a_memory_to_a_user_who_uses_its_id_is_refused(api, shared):
    unbound = add_token()
    moved = api.patch("/long-term-memory/only-u2", params=NS, json={"user_id": "u3"}, headers=unbound)
    assert moved.status_code == 200
    assert (
        api.get("/long-term-memory/only-u2", params={**NS, "user_id": "u3"}, headers=unbound).status_code
        == 200
    )
    assert (
        api.get("/long-term-memory/only-u2", params={**NS, "user_id": "u2"}, headers=unbound).status_code
        == 404
    )
    refused = api.patch(
        "/long-term-memory/pref", params={**NS, "user_id": "u1"}, json={"user_id": "u2"}, headers=unbound
    )
    assert refused.status_code == 409 and "already has a memory 'pref'" in refused.json()["detail"]
    owned = {**NS, "user_id": "u2"}
    assert (
        api.get("/long-term-memory/pref", params=owned, headers=unbound).json()["text"] == "u2 prefers coffee"
    )


def test_searches_show_both_users_memories_of_one_id(api, shared):
    unbound = add_token()
    found = api.post(
        "/long-term-memory/search", json={"text": "", "namespace": {"eq": "team"}}, headers=unbound
    )
    pairs = sorted((m["id"], m["user_id"]) for m in found.json()["memories"])
    assert pairs == [("only-u2", "u2"), ("pref", "u1"), ("pref", "u2")], json.dumps(found.json())
