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
