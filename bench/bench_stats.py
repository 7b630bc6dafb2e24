"""Latency figures shared by the benchmark scripts."""

from __future__ import annotations

import statistics


def summarise(timings: list[float]) -> dict[str, float]:
    """Percentiles and mean of timings in milliseconds."""
    if len(timings) < 2:
        value = round(timings[0], 3) if timings else 0.0
        return {"p50": value, "p95": value, "p99": value, "mean": value}
    cuts = statistics.quantiles(timings, n=100, method="inclusive")
    return {
        "p50": round(cuts[49], 3),
        "p95": round(cuts[94], 3),
        "p99": round(cuts[98], 3),
        "mean": round(statistics.fmean(timings), 3),
    }
