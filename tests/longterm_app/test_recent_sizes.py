"""longterm_app.search.RecentSizes: an index's size is reused for a few seconds, then counted again."""

from __future__ import annotations

from longterm_app.search import RecentSizes


def test_a_size_is_reused_until_it_is_older_than_max_age():
    clock = [1000.0]
    sizes = RecentSizes(max_age=5.0, clock=lambda: clock[0])
    assert sizes.get("idx") is None
    sizes.put("idx", 10_000)
    clock[0] += 5.0
    assert sizes.get("idx") == 10_000
    clock[0] += 0.1
    assert sizes.get("idx") is None  # counted again by the next search


def test_only_the_most_recently_counted_indexes_are_kept():
    sizes = RecentSizes(capacity=2)
    sizes.put("a", 1)
    sizes.put("b", 2)
    sizes.put("a", 3)  # counted again: now the newest
    sizes.put("c", 4)
    assert (sizes.get("a"), sizes.get("b"), sizes.get("c")) == (3, None, 4)


def search_calls(redis_client) -> int:
    return int(redis_client.info("commandstats").get("cmdstat_FT.SEARCH", {}).get("calls", 0))


def test_a_second_filtered_search_does_not_count_the_index_again(api, redis_client):
    memories = [
        {"id": f"m-{i}", "text": f"note {i} about trains", "namespace": "sizes", "topics": ["travel"]}
        for i in range(3)
    ]
    assert api.post("/long-term-memory", json={"memories": memories}).status_code == 200
    search = {"text": "trains", "namespace": {"eq": "sizes"}, "topics": {"any": ["travel"]}, "limit": 2}
    calls = []
    for _ in range(2):
        before = search_calls(redis_client)
        answer = api.post("/long-term-memory/search", json=search).json()
        assert answer["total"] == 3 and len(answer["memories"]) == 2
        calls.append(search_calls(redis_client) - before)
    assert calls[1] == calls[0] - 1  # the same answer without counting every memory again
