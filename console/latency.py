"""Search and write latency, from this process's request histogram (the one /metrics serves).

The histogram is kept per process since it started: with one web process (`scripts/serve`)
that is every REST request; with several, the figures of the process that drew the page.
MCP tool calls are not in it. Percentiles are estimated from the buckets as Prometheus'
`histogram_quantile` does.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from memoryserver.observability.metrics import Metrics, get_metrics

QUANTILES = (0.5, 0.95, 0.99)


@dataclass(frozen=True)
class Operation:
    name: str
    noun: str  # plural, for "no searches yet"
    routes: frozenset[tuple[str, str]]  # (URL pattern name, method)


OPERATIONS = (
    Operation(
        "Search",
        "searches",
        frozenset(
            {
                ("long-term-memory-search", "POST"),
                ("v1-long-term-memory-search", "POST"),
                ("memory-search", "POST"),
            }
        ),
    ),
    Operation(
        "Memory writes",
        "long-term memory writes",
        frozenset(
            {
                ("long-term-memory", "POST"),
                ("v1-long-term-memory", "POST"),
                ("v1-long-term-memory-create", "POST"),
                ("long-term-memory-detail", "PATCH"),
                ("v1-long-term-memory-detail", "PATCH"),
            }
        ),
    ),
    Operation(
        "Working-memory writes",
        "working-memory writes",
        frozenset(
            {
                ("working-memory", "PUT"),
                ("v1-working-memory", "PUT"),
                ("session-messages", "POST"),
                ("v1-session-messages", "POST"),
            }
        ),
    ),
)


@dataclass(frozen=True)
class Latency:
    operation: Operation
    count: int  # successful (2xx) requests observed
    quantiles: dict[float, float]  # quantile: seconds; empty when count is 0


def latencies(metrics: Metrics | None = None) -> list[Latency]:
    """Each operation's successful requests and their latency percentiles, in OPERATIONS' order."""
    buckets: dict[str, dict[float, float]] = {operation.name: defaultdict(float) for operation in OPERATIONS}
    for family in (metrics or get_metrics()).request_seconds.collect():
        for sample in family.samples:
            if not sample.name.endswith("_bucket") or not sample.labels["status"].startswith("2"):
                continue
            key = (sample.labels["route"], sample.labels["method"])
            for operation in OPERATIONS:
                if key in operation.routes:
                    buckets[operation.name][float(sample.labels["le"])] += sample.value
    result = []
    for operation in OPERATIONS:
        cumulative = sorted(buckets[operation.name].items())
        count = int(cumulative[-1][1]) if cumulative else 0
        quantiles = {q: quantile(q, cumulative) for q in QUANTILES} if count else {}
        result.append(Latency(operation, count, quantiles))
    return result


def quantile(q: float, cumulative: Sequence[tuple[float, float]]) -> float:
    """The q-quantile of a histogram given as (upper bound, cumulative count) pairs, sorted, the
    last one +Inf: linear within the bucket where the rank falls; past the last finite bound,
    that bound (the histogram knows no more)."""
    total = cumulative[-1][1]
    rank = q * total
    lower, below = 0.0, 0.0
    for upper, count in cumulative:
        if count >= rank and count > below:
            if math.isinf(upper):
                return lower
            return lower + (upper - lower) * (rank - below) / (count - below)
        lower, below = upper, count
    return lower
