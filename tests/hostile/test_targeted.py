"""Hostile input aimed at each weak spot: every answer is a clear 4xx (or a correct 2xx), never a 5xx."""

from __future__ import annotations

import pytest

INJECTIONS = [
    "*",
    "@text:(x)",
    "foo) | (@namespace:{*}",
    "}{|@-:\\",
    "-@user_id:{alice}",
    "=>[KNN 1000 @embedding $vector]",
    "%%fuzzy%%",
    '"unterminated',
    "a\x1fb",
]


def assert_clear(response, *allowed: int) -> dict:
    assert response.status_code in allowed, (response.status_code, response.text[:500])
    if response.status_code >= 400:
        body = response.json()
        assert body["status_code"] == response.status_code and body["detail"]
    return response.json()


def test_huge_bodies_are_413(api):
    big = {"messages": [{"role": "user", "content": "x" * (9 * 1024 * 1024)}]}
    assert_clear(api.put("/sessions/s/memory", json=big), 413)


def test_deeply_nested_json_is_refused(api):
    body = '{"messages": [], "data": {"deep": ' + "[" * 5000 + '"leaf"' + "]" * 5000 + "}}"
    response = api.put("/sessions/s/memory", content=body, headers={"content-type": "application/json"})
    assert_clear(response, 400, 422)
    assert api.get("/sessions/s/memory").status_code == 404  # nothing half-written


def test_invalid_utf8_and_nul_bytes(api):
    invalid = b'{"messages": [{"role": "user", "content": "\xff\xfe"}]}'
    assert_clear(
        api.put("/sessions/s/memory", content=invalid, headers={"content-type": "application/json"}), 400
    )
    nul = {"messages": [{"role": "user", "content": "before\u0000after"}]}
    stored = assert_clear(api.put("/sessions/s/memory", json=nul), 200)
    assert stored["messages"][0]["content"] == "before\u0000after"  # text is data, kept as sent
    assert_clear(
        api.post("/long-term-memory", json={"memories": [{"text": "x", "topics": ["a\u0000b"]}]}), 422
    )
    assert_clear(api.get("/sessions/a%00b/memory"), 422)


def test_ten_thousand_tags_are_refused_not_stored(api):
    response = api.post(
        "/long-term-memory", json={"memories": [{"text": "t", "topics": [f"t{i}" for i in range(10_000)]}]}
    )
    body = assert_clear(response, 422)
    assert body["errors"][0]["field"].startswith("memories.0.topics")
    filters = api.post("/long-term-memory/search", json={"topics": {"any": [f"t{i}" for i in range(10_000)]}})
    assert_clear(filters, 422)
    assert api.post("/long-term-memory/search", json={}).json()["total"] == 0


@pytest.mark.parametrize("value", INJECTIONS)
def test_query_syntax_in_every_string_field_is_data(api, value):
    create = api.post(
        "/long-term-memory",
        json={
            "memories": [
                {"id": "victim", "text": "a private note", "topics": ["private"], "user_id": "alice"}
            ]
        },
    )
    assert create.status_code == 200
    for mode in ("semantic", "keyword", "hybrid"):
        found = assert_clear(
            api.post("/long-term-memory/search", json={"text": value, "search_mode": mode}), 200
        )
        assert found["total"] <= 1
    for field in ("topics", "entities"):
        for operator in ("eq", "ne", "any", "all"):
            condition = {operator: [value] if operator in ("any", "all") else value}
            found = assert_clear(api.post("/long-term-memory/search", json={field: condition}), 200, 422)
            if operator in ("eq", "any", "all") and found.get("total") is not None:
                assert found["total"] == 0  # never matches the victim by injection
    stored = assert_clear(
        api.post("/long-term-memory", json={"memories": [{"text": value, "topics": [value]}]}), 200, 422
    )
    if stored.get("stored"):
        (memory_id,) = stored["stored"]
        hits = api.post("/long-term-memory/search", json={"topics": {"eq": value}}).json()
        assert [m["id"] for m in hits["memories"]] == [memory_id]  # found as itself, exactly


@pytest.mark.parametrize("path", ["../etc/passwd", "..%2F..%2Fetc", "a/b", "%2e%2e", "a b", "é"])
def test_path_traversal_and_odd_ids_are_refused(api, path):
    for url in (f"/sessions/{path}/memory", f"/long-term-memory/{path}", f"/tasks/{path}"):
        response = api.get(url)
        assert response.status_code in (404, 422), (url, response.status_code)
        assert response.json()["status_code"] == response.status_code


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": -1}, "limit"),
        ({"limit": 10**12}, "limit"),
        ({"offset": -5}, "offset"),
        ({"offset": 10**30}, "offset"),
        ({"limit": "ten"}, "limit"),
    ],
)
def test_negative_and_huge_limits_and_offsets(api, params, field):
    listing = api.get("/sessions/", params=params)
    assert_clear(listing, 422)
    assert listing.json()["errors"][0]["field"] == field
    search = api.post("/long-term-memory/search", json=params)
    assert_clear(search, 422)
    assert search.json()["errors"][0]["field"] == field


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity", "1e999"])
def test_nan_and_infinity_in_numeric_filters(api, number):
    body = '{"created_at": {"gt": ' + number + "}}"
    response = api.post(
        "/long-term-memory/search", content=body, headers={"content-type": "application/json"}
    )
    assert_clear(response, 400, 422)
    threshold = '{"text": "x", "distance_threshold": ' + number + "}"
    response = api.post(
        "/long-term-memory/search", content=threshold, headers={"content-type": "application/json"}
    )
    assert_clear(response, 400, 422)
