"""What a search's `total` counts, said in `total_counts` for every mode."""

from __future__ import annotations

import pytest

MEMORIES = [
    {"text": "Alice drinks her coffee black every morning"},
    {"text": "Bob prefers green tea in the afternoon"},
    {"text": "The office moved to a new building in Berlin"},
]


@pytest.fixture
def stored(api):
    assert api.post("/long-term-memory", json={"memories": MEMORIES}).status_code == 200


def search(api, **body):
    response = api.post("/long-term-memory/search", json={"limit": 1, **body})
    assert response.status_code == 200, response.text
    return response.json()


def test_keyword_totals_count_the_matches(api, stored):
    result = search(api, text="coffee", search_mode="keyword")
    assert (result["total"], result["total_counts"]) == (1, "matching")


@pytest.mark.parametrize("mode", ["semantic", "hybrid"])
def test_nearest_neighbour_totals_count_the_memories_searched(api, stored, mode):
    result = search(api, text="coffee", search_mode=mode)
    assert (result["total"], result["total_counts"]) == (3, "searched")
    assert len(result["memories"]) == 1


@pytest.mark.parametrize("mode", ["semantic", "hybrid"])
def test_with_a_distance_threshold_totals_count_the_memories_within_it(api, stored, mode):
    result = search(api, text="Alice's morning coffee", search_mode=mode, distance_threshold=0.15)
    assert result["total_counts"] == "within_distance"
    assert 1 <= result["total"] < 3


def test_filter_only_totals_count_the_matches(api, stored):
    result = search(api, text="")
    assert (result["total"], result["total_counts"]) == (3, "matching")


@pytest.fixture
def one_session(api):
    turns = [
        {"id": "hike", "text": "Ana loves hiking in the Alps", "session_id": "trip"},
        {"id": "weather", "text": "The weather report for Tuesday", "session_id": "trip"},
    ]
    assert api.post("/long-term-memory", json={"memories": turns}).status_code == 200


@pytest.mark.parametrize("mode", ["semantic", "hybrid"])
def test_session_neighbours_join_only_from_within_the_distance_threshold(api, one_session, mode):
    # Without a threshold the weather turn joins as the hiking turn's neighbour.
    unbounded = search(api, text="hiking", search_mode=mode, limit=10)
    dist = {memory["id"]: memory["dist"] for memory in unbounded["memories"]}
    assert set(dist) == {"hike", "weather"} and dist["hike"] < dist["weather"]
    threshold = (dist["hike"] + dist["weather"]) / 2
    bounded = search(api, text="hiking", search_mode=mode, limit=10, distance_threshold=threshold)
    assert [memory["id"] for memory in bounded["memories"]] == ["hike"]
    assert (bounded["total"], bounded["total_counts"]) == (1, "within_distance")
    # The neighbour still joins when the threshold reaches it.
    wider = search(api, text="hiking", search_mode=mode, limit=10, distance_threshold=dist["weather"] + 0.01)
    assert {memory["id"] for memory in wider["memories"]} == {"hike", "weather"} and wider["total"] == 2


def test_a_total_counts_the_session_neighbours_that_joined(api, one_session):
    result = search(api, text="hiking", search_mode="keyword", limit=10)
    assert [memory["id"] for memory in result["memories"]] == ["hike", "weather"]
    assert (result["total"], result["total_counts"], result["next_offset"]) == (2, "matching", None)
    # A page that the neighbour could not reach still offers the next one, where it joins.
    first = search(api, text="hiking", search_mode="keyword", limit=1)
    assert [memory["id"] for memory in first["memories"]] == ["hike"] and first["next_offset"] == 1
    second = search(api, text="hiking", search_mode="keyword", limit=1, offset=1)
    assert [memory["id"] for memory in second["memories"]] == ["weather"] and second["total"] == 2
    alone = search(api, text="hiking", search_mode="keyword", limit=10, session_context=False)
    assert [memory["id"] for memory in alone["memories"]] == ["hike"] and alone["total"] == 1
