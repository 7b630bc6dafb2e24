"""Query building and the vector search policy: pure functions."""

from __future__ import annotations

import pytest

from longterm_app.queries import filter_query, knn_query, within_namespace
from longterm_app.schemas import SearchRequest
from longterm_app.search import hybrid_policy


def request(**filters: object) -> SearchRequest:
    return SearchRequest.model_validate({"text": "dog", **filters})


@pytest.mark.parametrize(
    "namespace",
    [{"eq": "mine"}, {"any": ["mine"]}, {"eq": "mine", "ne": "other"}, {"eq": "mine", "startswith": "mi"}],
)
def test_a_namespace_condition_its_own_index_implies_is_dropped(namespace):
    filters = within_namespace(request(namespace=namespace, topics={"any": ["pets"]}), "mine")
    assert filter_query(filters) == "(@topics:{pets})"


@pytest.mark.parametrize(
    "namespace",
    [{"eq": "mine", "ne": "mine"}, {"eq": "mine", "none": ["mine"]}, {"eq": "mine", "startswith": "xy"}],
)
def test_a_namespace_condition_that_excludes_the_namespace_stays(namespace):
    filters = within_namespace(request(namespace=namespace), "mine")
    assert "@namespace" in filter_query(filters)


@pytest.mark.parametrize(
    ("matches", "indexed", "k", "policy"),
    [
        (181, 10_000, 50, "ADHOC_BF"),  # one user's memories
        # Measured with the query embedded just before, as in a search (median, ms):
        (520, 10_000, 50, "ADHOC_BF"),  # 1.53 brute force, 2.49 graph
        (2_009, 10_000, 50, "BATCHES"),  # 2.38 brute force, 1.38 graph
        (2_009, 10_000, 10, "BATCHES"),  # 2.24 brute force, 0.73 graph
        (997, 10_000, 150, "ADHOC_BF"),  # 3.27 brute force, 4.21 graph
        (2_009, 10_000, 150, "BATCHES"),  # 4.09 brute force, 3.51 graph
        (2_009, 10_000, 1_000, "ADHOC_BF"),  # 14.0 brute force, 16.3 graph
        (6_199, 10_000, 1_000, "BATCHES"),  # 18.1 brute force, 15.6 graph
        (10_000, 10_000, 50, "BATCHES"),  # no filter at all
        (2_000, 100_000, 50, "ADHOC_BF"),  # 2% of a large index
        (20_000, 100_000, 50, "BATCHES"),
    ],
)
def test_the_vector_search_policy_is_the_cheaper_one(matches, indexed, k, policy):
    assert hybrid_policy(matches, indexed, k) == policy


def test_a_brute_force_search_without_filters_gets_one_every_memory_passes():
    assert knn_query(request(), 50, "ADHOC_BF") == (
        "(@created_at:[-inf +inf])=>[KNN 50 @embedding $vector HYBRID_POLICY ADHOC_BF AS dist]"
    )
    assert knn_query(request(), 50, "BATCHES") == "(*)=>[KNN 50 @embedding $vector EF_RUNTIME 128 AS dist]"
