"""How a search is planned before it runs (pure): the vector search policy at its extremes,
the candidate pool each mode ranks, and the index a search runs on."""

from __future__ import annotations

from typing import Any

import pytest
import redis.asyncio as aioredis

from longterm_app.index import INDEX_NAME, namespace_index
from longterm_app.repository import MemoryStore
from longterm_app.schemas import SearchRequest
from longterm_app.search import HYBRID_POOL, MAX_POOL, RECENCY_POOL, Searcher, hybrid_policy
from providers.embeddings import get_embedder


def planned(**body: Any) -> Searcher:
    """The searcher of a request, not run: its constructor plans and does no I/O."""
    never_connected = MemoryStore(aioredis.Redis())
    return Searcher(never_connected, get_embedder(), SearchRequest.model_validate({"text": "tea", **body}))


# The vector search policy.


def test_no_matching_memory_is_compared_by_brute_force():
    assert hybrid_policy(0, 1_000_000, 50) == "ADHOC_BF"


@pytest.mark.parametrize("indexed", [900, 10_000, 10_000_000])
@pytest.mark.parametrize("k", [1, 50, 1_000])
def test_up_to_nine_hundred_matches_the_exact_brute_force_always_wins(indexed, k):
    # 900 x 0.55 us stays within the half millisecond an exact answer is worth.
    assert hybrid_policy(900, indexed, k) == "ADHOC_BF"


def test_past_the_exact_budget_the_cheaper_plan_wins():
    assert hybrid_policy(1_000, 1_000, 1) == "BATCHES"


def test_a_larger_k_needs_more_matches_before_the_graph_pays():
    # Measured at 10,000 memories: at k = 1000 brute force still wins with 20% matching,
    # where at k = 50 the graph already does.
    assert hybrid_policy(2_000, 10_000, 50) == "BATCHES"
    assert hybrid_policy(2_000, 10_000, 1_000) == "ADHOC_BF"
    assert hybrid_policy(10_000, 10_000, 1_000) == "BATCHES"


@pytest.mark.parametrize(("indexed", "k"), [(10_000, 10), (100_000, 50), (1_000_000, 150)])
def test_as_matches_grow_the_policy_switches_to_the_graph_once_and_for_good(indexed, k):
    policies = [hybrid_policy(matches, indexed, k) for matches in range(0, indexed + 1, indexed // 200)]
    switch = policies.index("BATCHES")
    assert set(policies[:switch]) == {"ADHOC_BF"} and set(policies[switch:]) == {"BATCHES"}


# The candidate pool.


def test_a_plain_semantic_search_ranks_just_the_requested_window():
    searcher = planned(search_mode="semantic", session_context=False, limit=7, offset=3)
    assert (searcher.window, searcher.pool) == (10, 10)


@pytest.mark.parametrize("reranking", [{"recency_boost": True}, {"session_context": True}])
def test_re_ranking_widens_the_pool_so_a_lower_candidate_can_rise(reranking):
    searcher = planned(search_mode="keyword", limit=5, **{"session_context": False, **reranking})
    assert searcher.pool == RECENCY_POOL


def test_hybrid_search_ranks_three_times_the_window_from_a_floor():
    assert planned(limit=5).pool == HYBRID_POOL
    assert planned(limit=40).pool == 120


def test_hybrid_candidates_are_capped_unless_the_page_itself_lies_deeper():
    assert planned(limit=100, offset=900).pool == MAX_POOL
    assert planned(limit=100, offset=5_000).pool == 5_100


# The index.


def test_a_search_across_namespaces_runs_on_the_global_index_with_every_filter():
    searcher = planned(namespace={"any": ["a", "b"]})
    assert searcher.index == INDEX_NAME and searcher.filters.namespace is not None


def test_a_search_of_one_namespace_runs_on_its_own_index_without_the_namespace_filter():
    searcher = planned(namespace={"eq": "team a"}, user_id={"eq": "u"})
    assert searcher.index == namespace_index("team a") == "memory_idx:ns:team%20a"
    assert searcher.filters.namespace is None and searcher.filters.user_id is not None


def test_a_namespace_filter_that_excludes_the_one_named_stays_and_finds_nothing():
    searcher = planned(namespace={"eq": "a", "none": ["a"]})
    assert searcher.index == namespace_index("a") and searcher.filters.namespace is not None
