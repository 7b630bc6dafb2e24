"""Ranking rules test_ranking.py leaves out (pure): score scaling, recency re-ranking and the
strength of a keyword hit."""

from __future__ import annotations

import math

import pytest

from longterm_app.ranking import Ranked, convex_fuse, keyword_strength, normalised, recency_reranked
from longterm_app.records import MemoryRecord
from longterm_app.schemas import SearchRequest

DAY = 86_400.0
NOW = 1_000 * DAY


def hit(key: str, score: float, created_days: float = 0.0, accessed_days: float | None = None) -> Ranked:
    accessed = created_days if accessed_days is None else accessed_days
    record = MemoryRecord(
        id=key, text=key, created_at=NOW - created_days * DAY, last_accessed=NOW - accessed * DAY
    )
    return Ranked.of_record(key, record, score, None)


def scores(ranked: list[Ranked]) -> dict[str, float]:
    return {item.key: round(item.score, 6) for item in ranked}


def test_scores_are_scaled_so_the_best_is_one():
    assert scores(normalised([hit("a", 4.0), hit("b", 1.0)])) == {"a": 1.0, "b": 0.25}


def test_scores_without_a_positive_best_are_left_alone():
    ranked = [hit("a", 0.0), hit("b", -1.0)]
    assert normalised(ranked) == ranked
    assert normalised([]) == []


def test_recency_lifts_a_fresh_memory_over_a_slightly_more_relevant_stale_one():
    request = SearchRequest(text="x", recency_boost=True)
    ranked = recency_reranked([hit("stale", 1.0, created_days=365), hit("fresh", 0.9)], request, NOW)
    assert [item.key for item in ranked] == ["fresh", "stale"]


def test_with_no_recency_weight_relevance_alone_decides():
    request = SearchRequest(text="x", recency_semantic_weight=1.0, recency_recency_weight=0.0)
    ranked = recency_reranked([hit("stale", 1.0, created_days=365), hit("fresh", 0.9)], request, NOW)
    assert scores(ranked) == {"stale": 1.0, "fresh": 0.9}


def test_freshness_halves_with_each_half_life_of_the_last_access():
    request = SearchRequest(
        text="x",
        recency_semantic_weight=0.0,
        recency_recency_weight=1.0,
        recency_freshness_weight=1.0,
        recency_novelty_weight=0.0,
        recency_half_life_last_access_days=7.0,
    )
    ranked = [
        hit("now", 1.0, created_days=50, accessed_days=0),
        hit("week", 1.0, created_days=50, accessed_days=7),
    ]
    assert scores(recency_reranked(ranked, request, NOW)) == {"now": 1.0, "week": 0.5}


def test_a_future_timestamp_counts_as_now_not_as_fresher_than_now():
    request = SearchRequest(text="x", recency_semantic_weight=0.0, recency_recency_weight=1.0)
    future = hit("future", 1.0, created_days=-30, accessed_days=-30)
    assert scores(recency_reranked([future], request, NOW)) == {"future": 1.0}


def test_a_hit_on_a_rare_word_is_strong_and_on_a_common_word_weak():
    rare_ceiling = math.log(1 + (1000 - 1 + 0.5) / 1.5)
    assert keyword_strength(rare_ceiling, indexed=1000, frequencies=[1]) == 1.0
    assert keyword_strength(0.1, indexed=1000, frequencies=[500]) == pytest.approx(0.1 / math.log(2))


def test_a_keyword_strength_never_exceeds_one():
    assert keyword_strength(100.0, indexed=10, frequencies=[1, 2]) == 1.0


def test_words_no_memory_holds_give_no_ceiling_and_full_strength():
    assert keyword_strength(3.0, indexed=1000, frequencies=[0, 0]) == 1.0
    assert keyword_strength(3.0, indexed=0, frequencies=[]) == 1.0


def test_a_weak_keyword_side_weighs_less_in_hybrid_fusion():
    semantic = [Ranked.of_record("a", MemoryRecord(id="a", text="a"), 0.0, 0.2)]
    keyword = [hit("b", 5.0), hit("c", 1.0)]
    strong = scores(convex_fuse(semantic, keyword, alpha=0.5, strength=1.0))
    weak = scores(convex_fuse(semantic, keyword, alpha=0.5, strength=0.2))
    assert strong["b"] == 0.5 and weak["b"] == 0.1 and weak["a"] == strong["a"] == 0.5
