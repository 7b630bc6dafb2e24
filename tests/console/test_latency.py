"""Search and write latency from the request histogram: which requests count, and the percentiles."""

from __future__ import annotations

import math

import pytest

from console.latency import latencies, quantile
from memoryserver.observability.metrics import Metrics

INF = math.inf


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        (0.5, 0.0075),  # rank 5 of 10: halfway through the (0.005, 0.01] bucket, which holds ranks 3 to 7
        (0.3, 0.005),
        (0.95, 0.04375),  # rank 9.5: three quarters through (0.025, 0.05], which holds ranks 9 and 10
        (1.0, 0.05),
    ],
)
def test_quantiles_interpolate_within_the_bucket(q, expected):
    cumulative = [(0.001, 0), (0.005, 3), (0.01, 7), (0.025, 8), (0.05, 10), (INF, 10)]
    assert quantile(q, cumulative) == pytest.approx(expected)


def test_past_the_last_bound_the_quantile_is_that_bound():
    assert quantile(0.99, [(0.1, 1), (1.0, 1), (INF, 100)]) == 1.0


def test_searches_and_writes_are_grouped_by_route_and_only_successes_count():
    metrics = Metrics()
    for seconds in (0.004, 0.006, 0.008):
        metrics.observe_request("long-term-memory-search", "POST", 200, seconds)
    metrics.observe_request("v1-long-term-memory-search", "POST", 200, 0.009)
    metrics.observe_request("long-term-memory-search", "POST", 422, 20.0)  # refused: not a search
    metrics.observe_request("long-term-memory", "POST", 201, 0.02)
    metrics.observe_request("long-term-memory", "DELETE", 200, 0.02)  # not a write of memories
    metrics.observe_request("working-memory", "PUT", 200, 0.003)
    metrics.observe_request("working-memory", "GET", 200, 0.001)
    metrics.observe_request("health", "GET", 200, 0.001)

    search, memory_writes, session_writes = latencies(metrics)
    assert (search.operation.name, search.count) == ("Search", 4)
    assert 0.005 <= search.quantiles[0.5] <= 0.01
    assert search.quantiles[0.99] <= 0.01  # the slow refusal is not among them
    assert (memory_writes.operation.name, memory_writes.count) == ("Memory writes", 1)
    assert (session_writes.operation.name, session_writes.count) == ("Working-memory writes", 1)
    assert set(search.quantiles) == {0.5, 0.95, 0.99}


def test_nothing_served_has_no_percentiles():
    assert [(latency.count, latency.quantiles) for latency in latencies(Metrics())] == [(0, {})] * 3
