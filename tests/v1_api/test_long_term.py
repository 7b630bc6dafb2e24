"""/v1/long-term-memory: create, search, get, edit, delete, forget, compact in the upstream shapes."""

from __future__ import annotations

import time

import pytest

from tests.v1_api.contract import assert_complete, checked, component, validate

SEARCH = "/v1/long-term-memory/search"
DETAIL = "/v1/long-term-memory/{memory_id}"
DAY = 86_400


def create(api, *memories, path="/v1/long-term-memory/"):
    response = api.post(path, json={"memories": list(memories)})
    return checked(response, "post", "/v1/long-term-memory/")


def search(api, **body):
    return checked(api.post(SEARCH, json=body), "post", SEARCH)


def ids(result) -> set[str]:
    return {memory["id"] for memory in result["memories"]}


@pytest.fixture
def pets(api):
    create(
        api,
        {"id": "cat", "text": "Alice has a grey cat named Smokey", "topics": ["pets"], "user_id": "alice",
         "session_id": "chat-1", "created_at": "2025-01-01T00:00:00Z"},
        {"id": "dog", "text": "Bob walks his dog Rex every morning", "topics": ["pets", "exercise"],
         "user_id": "bob", "session_id": "chat-2", "created_at": "2025-02-01T00:00:00Z"},
        {"id": "tax", "text": "The quarterly tax report is due in April", "topics": ["finance"],
         "user_id": "alice", "session_id": "work-1", "memory_type": "episodic",
         "created_at": "2025-03-01T00:00:00Z"},
    )  # fmt: skip


@pytest.mark.parametrize("path", ["/v1/long-term-memory/", "/v1/long-term-memory"])
def test_create_with_or_without_the_slash_then_get_by_id(api, path):
    assert create(api, {"id": "m1", "text": "User likes green tea"}, path=path) == {"status": "ok"}
    got = checked(api.get("/v1/long-term-memory/m1"), "get", DETAIL)
    assert_complete(got, "MemoryRecord")
    assert got["memory_type"] == "semantic" and got["discrete_memory_extracted"] == "t"  # upstream defaults
    assert got["pinned"] is False and got["persisted_at"] is not None and got["namespace"] == "default"


def test_get_finds_a_memory_in_any_namespace_and_can_name_one(api):
    create(api, {"id": "w1", "text": "Project Falcon ships in May", "namespace": "work"})
    assert checked(api.get("/v1/long-term-memory/w1"), "get", DETAIL)["namespace"] == "work"
    assert api.get("/v1/long-term-memory/w1", params={"namespace": "work"}).status_code == 200
    assert api.get("/v1/long-term-memory/w1", params={"namespace": "home"}).status_code == 404
    missing = api.get("/v1/long-term-memory/nothing-here")
    assert missing.status_code == 404 and "nothing-here" in missing.json()["detail"]


def test_an_id_used_in_two_namespaces_needs_the_namespace(api):
    create(
        api,
        {"id": "twin", "text": "In work", "namespace": "work"},
        {"id": "twin", "text": "At home", "namespace": "home"},
    )
    assert api.get("/v1/long-term-memory/twin").status_code == 409
    assert api.get("/v1/long-term-memory/twin", params={"namespace": "home"}).json()["text"] == "At home"


def test_search_results_carry_dist_between_0_and_1_and_every_field(api, pets):
    result = search(api, text="a cat called Smokey", limit=3)
    assert result["total"] == 3 and result["next_offset"] is None
    best = result["memories"][0]
    assert best["id"] == "cat"
    assert_complete(best, "MemoryRecordResult")
    assert all(0.0 <= m["dist"] <= 1.0 for m in result["memories"])
    assert best["dist"] < result["memories"][-1]["dist"]
    assert best["score_type"] == "semantic" and 0 <= best["score"] <= 1


@pytest.mark.parametrize("mode", ["keyword", "hybrid"])
def test_other_search_modes(api, pets, mode):
    result = search(api, text="quarterly tax", search_mode=mode)
    assert result["memories"][0]["id"] == "tax"
    assert result["memories"][0]["score_type"] == mode and 0 <= result["memories"][0]["dist"] <= 1


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"user_id": {"eq": "alice"}}, {"cat", "tax"}),
        ({"user_id": {"ne": "alice"}}, {"dog"}),
        ({"user_id": {"not_eq": "alice"}}, {"dog"}),
        ({"user_id": {"in_": ["bob", "carol"]}}, {"dog"}),
        ({"user_id": {"not_in": ["bob", "carol"]}}, {"cat", "tax"}),
        ({"user_id": "bob"}, {"dog"}),
        ({"topics": {"any": ["finance", "exercise"]}}, {"tax", "dog"}),
        ({"topics": {"all": ["pets", "exercise"]}}, {"dog"}),
        ({"topics": {"none": ["finance"]}}, {"cat", "dog"}),
        ({"topics": {"field": "topics", "any": ["pets"], "startswith": None}}, {"cat", "dog"}),
        ({"session_id": {"startswith": "chat-"}}, {"cat", "dog"}),
        ({"memory_type": {"eq": "episodic", "enum_class": None}}, {"tax"}),
        ({"memory_type": {"in_": ["semantic"]}}, {"cat", "dog"}),
        ({"namespace": {"eq": "default"}, "entities": {"none": ["nobody"]}}, {"cat", "dog", "tax"}),
        ({"created_at": {"gte": "2025-02-01T00:00:00Z"}}, {"dog", "tax"}),
        ({"created_at": {"lte": "2025-02-01T00:00:00+00:00", "gte": "2025-01-15T00:00:00Z"}}, {"dog"}),
        (
            {
                "created_at": {
                    "between": ["2025-01-01T00:00:00Z", "2025-02-01T00:00:00Z"],
                    "inclusive": "left",
                }
            },
            {"cat"},
        ),
        ({"event_date": {"eq": "2025-01-01T00:00:00Z"}}, set()),
    ],
)
def test_filters_in_both_vocabularies(api, pets, filters, expected):
    assert ids(search(api, text="pets and work", **filters)) == expected
    assert ids(search(api, text="", **filters)) == expected


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"topics": {"like": "x"}}, "topics.like"),
        ({"topics": {"startswith": "x"}}, "topics.startswith"),
        ({"user_id": {"eq": "a", "field": "session_id"}}, "user_id.field"),
        ({"text_scorer": "TFIDF"}, "text_scorer"),
        ({"limit": 101}, "limit"),
        ({"created_at": {"gt": "yesterday"}}, "created_at.gt"),
    ],
)
def test_bad_searches_are_validation_errors(api, body, field):
    response = api.post(SEARCH, json={"text": "x", **body})
    detail = checked(response, "post", SEARCH, status=422)["detail"]
    assert ".".join(str(part) for part in detail[0]["loc"]).startswith(field)


def test_without_a_chat_model_optimize_query_searches_the_text_as_given(api, pets):
    response = api.post(SEARCH, json={"text": "grey cat"}, params={"optimize_query": "true"})
    assert response.status_code == 200
    assert response.headers["warning"].startswith('299 - "optimize_query ignored: ')
    assert response.json()["memories"][0]["id"] == "cat"
    assert "warning" not in api.post(SEARCH, json={"text": "x"}, params={"optimize_query": "false"}).headers


def test_the_fast_model_rewrites_the_query(api, pets, chat_model):
    from tests.fake_openai import Reply

    chat_model.push(Reply.text("grey cat Smokey"))
    response = api.post(
        SEARCH, json={"text": "hmm what was the name of my pet again?"}, params={"optimize_query": "true"}
    )
    assert response.status_code == 200 and "warning" not in response.headers
    assert response.json()["memories"][0]["id"] == "cat"
    (call,) = chat_model.bodies("/v1/chat/completions")
    assert call["messages"][-1]["content"] == "hmm what was the name of my pet again?"


def test_a_failing_model_leaves_the_query_as_given(api, pets, chat_model, settings):
    from tests.fake_openai import Reply

    settings.LLM_MAX_RETRIES = 0
    chat_model.push(Reply.error(500))
    response = api.post(SEARCH, json={"text": "grey cat"}, params={"optimize_query": "true"})
    assert response.status_code == 200 and "the chat model failed" in response.headers["warning"]


def test_patch_edits_fields_and_keeps_null_ones(api, pets):
    edited = checked(
        api.patch(
            "/v1/long-term-memory/cat", json={"text": "Alice has a black cat named Smokey", "topics": None}
        ),
        "patch",
        DETAIL,
    )
    assert edited["text"] == "Alice has a black cat named Smokey" and edited["topics"] == ["pets"]
    assert search(api, text="black cat", limit=1)["memories"][0]["id"] == "cat"
    dated = api.patch("/v1/long-term-memory/tax", json={"event_date": "2025-04-15T00:00:00Z"}).json()
    assert dated["event_date"].startswith("2025-04-15T00:00:00")


def test_a_policy_key_of_many_digits_is_named_not_a_500(api):
    response = api.post("/v1/long-term-memory/forget", json={"policy": {"9" * 30: []}})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["policy", "9" * 30]


def test_dates_before_1970_are_kept_and_filtered(api):
    create(
        api,
        {"id": "born", "text": "Grandpa was born in Lisbon", "memory_type": "episodic",
         "event_date": "1931-06-01T00:00:00Z"},
        {"id": "moon", "text": "Grandpa watched the moon landing on TV", "memory_type": "episodic",
         "event_date": -14_182_940},
        {"id": "job", "text": "Grandpa retired from the railway", "memory_type": "episodic",
         "event_date": "1996-01-01T00:00:00Z"},
    )  # fmt: skip
    assert checked(api.get(DETAIL.format(memory_id="born")), "get", DETAIL)["event_date"].startswith(
        "1931-06-01T00:00:00"
    )
    assert checked(api.get(DETAIL.format(memory_id="moon")), "get", DETAIL)["event_date"].startswith(
        "1969-07-20T20:17:40"
    )
    before_1970 = {"event_date": {"lt": "1970-01-01T00:00:00Z"}}
    assert ids(search(api, text="Grandpa", **before_1970)) == {"born", "moon"}
    assert ids(search(api, text="", event_date={"gt": "1931-06-01T00:00:00Z"})) == {"moon", "job"}


@pytest.mark.parametrize(
    ("when", "words"),
    [
        ("0000-12-31T00:00:00Z", "ISO-8601"),
        ("0001-01-01T00:00:00+01:00", "year 1 to 9999"),
        (-62_135_596_801, "year 1 to 9999"),
    ],
)
def test_a_date_before_year_1_is_refused_by_name(api, when, words):
    response = api.post("/v1/long-term-memory/", json={"memories": [{"text": "too old", "event_date": when}]})
    assert response.status_code == 422
    [error] = response.json()["errors"]
    assert error["field"] == "memories.0.event_date" and words in error["message"]


@pytest.mark.parametrize(
    ("body", "field"),
    [({"namespace": "elsewhere"}, "namespace"), ({"pinned": True}, "pinned"), ({}, "body")],
)
def test_patch_refusals(api, pets, body, field):
    response = api.patch("/v1/long-term-memory/cat", json=body)
    assert checked(response, "patch", DETAIL, status=422)["detail"][0]["loc"] == [field]


def test_patch_reports_a_missing_memory_then_a_move_before_bad_fields(api, pets):
    assert api.patch("/v1/long-term-memory/nope", json={"text": ""}).status_code == 404
    moved = api.patch("/v1/long-term-memory/cat", json={"namespace": "elsewhere", "topics": ["a\x01"]})
    assert moved.status_code == 422 and moved.json()["detail"][0]["loc"] == ["namespace"]


def test_delete_by_ids_across_namespaces(api, pets):
    create(api, {"id": "far", "text": "Stored elsewhere", "namespace": "elsewhere"})
    response = api.delete(
        "/v1/long-term-memory", params=[("memory_ids", "cat"), ("memory_ids", "far"), ("memory_ids", "nope")]
    )
    assert checked(response, "delete", "/v1/long-term-memory") == {"status": "ok, deleted 2 memories"}
    assert api.get("/v1/long-term-memory/far").status_code == 404
    assert api.delete("/v1/long-term-memory").json() == {"status": "ok, deleted 0 memories"}
    scoped = api.delete("/v1/long-term-memory", params={"memory_ids": "dog", "namespace": "elsewhere"})
    assert scoped.json() == {"status": "ok, deleted 0 memories"}


def _aged(api):
    now = time.time()
    create(
        api,
        {
            "id": "ancient",
            "text": "An ancient fact",
            "created_at": now - 400 * DAY,
            "last_accessed": now - 400 * DAY,
        },
        {
            "id": "stale",
            "text": "A stale fact",
            "created_at": now - 40 * DAY,
            "last_accessed": now - 40 * DAY,
        },
        {"id": "fresh", "text": "A fresh fact", "user_id": "u1"},
        {
            "id": "pinned",
            "text": "A pinned old fact",
            "created_at": now - 400 * DAY,
            "last_accessed": now - 400 * DAY,
        },
    )


def test_forget_by_policy_deletes_unless_dry_run(api):
    _aged(api)
    body = {"policy": {"max_age_days": 30}, "pinned_ids": ["pinned"]}
    forget = "/v1/long-term-memory/forget"
    preview = checked(api.post(forget, json=body, params={"dry_run": "true"}), "post", forget)
    assert preview["dry_run"] is True and sorted(preview["deleted_ids"]) == ["ancient", "stale"]
    assert preview["scanned"] == 4 and preview["deleted"] == 2
    assert api.get("/v1/long-term-memory/stale").status_code == 200
    done = checked(api.post(forget, json=body), "post", forget)  # dry_run defaults to false
    assert done["dry_run"] is False and sorted(done["deleted_ids"]) == ["ancient", "stale"]
    assert api.get("/v1/long-term-memory/stale").status_code == 404
    assert api.get("/v1/long-term-memory/pinned").status_code == 200


def test_forget_is_scoped_and_bounded(api):
    _aged(api)
    scoped = api.post(
        "/v1/long-term-memory/forget", json={"policy": {"budget": 0}}, params={"user_id": "u1"}
    ).json()
    assert scoped["deleted_ids"] == ["fresh"] and scoped["scanned"] == 1
    limited = api.post(
        "/v1/long-term-memory/forget", json={"policy": {"max_age_days": 1}}, params={"limit": 1}
    )
    assert limited.json()["scanned"] == 1
    bad = api.post("/v1/long-term-memory/forget", json={"policy": {"max_age": 1}})
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["policy", "max_age"]
    assert api.post("/v1/long-term-memory/forget", json={}).status_code == 422  # policy is required


def test_compact_queues_a_task(api, sync_jobs):
    create(api, {"id": "a", "text": "User likes tea"}, {"id": "b", "text": "User likes coffee"})
    ack = checked(
        api.post("/v1/long-term-memory/compact", params={"namespace": "default"}),
        "post",
        "/v1/long-term-memory/compact",
    )
    assert ack["status"].startswith("ok") and ack["task_id"] in ack["status"]
    task = api.get(f"/v1/tasks/{ack['task_id']}").json()
    assert task["status"] == "success" and task["type"] == "compact_memories"
    assert task["completed_at"] is not None


def test_the_record_schemas_validate(api, pets):
    validate(api.get("/v1/long-term-memory/tax").json(), component("MemoryRecord"))
    validate(search(api, text="tax", search_mode="hybrid"), component("MemoryRecordResultsResponse"))
