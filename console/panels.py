"""The dashboard's charts: figures from the namespace counts, the job history and the latency.

Memories and sessions per namespace are today's counts, as bars, not a history: a history
drawn from the memories' `created_at` would leave out every memory deleted or forgotten
since (and every expired session), so it would draw a growth that never happened. The
counts are exact. The queues do get a history (the last hour per minute, recorded as jobs
are queued, taken and fail), and latency covers this process's lifetime.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.safestring import SafeString

from memoryserver.observability.jobs import JobHistory

from .charts import ALERT, PALETTE, Series, bar_chart, time_chart
from .latency import Latency

MOST_NAMESPACES = 12
LAST_HOUR = ("60 min ago", "30 min ago", "now")


@dataclass(frozen=True)
class Figure:
    key: str  # names the chart in the page (data-chart), for tests and styling
    title: str
    svg: SafeString | None  # None: nothing to draw, `empty` says why
    empty: str = ""
    note: str = ""


def namespace_figures(memories: dict[str, int], sessions: dict[str, int]) -> list[Figure]:
    """Long-term memories and sessions per namespace, the largest first."""
    return [
        _count_figure("memories", "Long-term memories per namespace", memories, "memories", PALETTE[0]),
        _count_figure("sessions", "Sessions per namespace", sessions, "sessions", PALETTE[1]),
    ]


def _count_figure(key: str, title: str, counts: dict[str, int], noun: str, colour: str) -> Figure:
    counted = sorted(((name, count) for name, count in counts.items() if count), key=lambda n: (-n[1], n[0]))
    if not counted:
        return Figure(key, title, None, empty=f"No {noun} yet.")
    shown = counted[:MOST_NAMESPACES]
    names = [name for name, _ in shown]
    svg = bar_chart(f"chart-{key}", title, names, [Series(noun, [count for _, count in shown], colour)])
    note = f"The {len(shown)} largest of {len(counted)} namespaces." if len(counted) > len(shown) else ""
    return Figure(key, title, svg, note=note)


def job_figures(history: JobHistory) -> list[Figure]:
    """Jobs waiting and job failures over the last hour, all queues together."""
    queued_title, failed_title = "Jobs waiting, last hour", "Job failures per minute, last hour"
    if any(history.queued):
        queued = Figure(
            "queued",
            queued_title,
            time_chart("chart-queued", queued_title, Series("jobs waiting", history.queued), LAST_HOUR),
            note="At the end of each minute, all queues.",
        )
    else:
        queued = Figure("queued", queued_title, None, empty="No job waited in the last hour.")
    if any(history.failures):
        series = Series("job failures", history.failures, ALERT)
        failed = Figure(
            "failed",
            failed_title,
            time_chart("chart-failed", failed_title, series, LAST_HOUR, style="columns"),
            note="Every failure, retried ones too.",
        )
    else:
        failed = Figure("failed", failed_title, None, empty="No job failed in the last hour.")
    return [queued, failed]


def latency_figure(latencies: list[Latency]) -> Figure:
    """p50, p95 and p99 of each operation that this process has served."""
    title = "Latency of successful requests (ms)"
    served = [latency for latency in latencies if latency.count]
    not_yet = " ".join(f"No {latency.operation.noun} yet." for latency in latencies if not latency.count)
    if not served:
        return Figure("latency", title, None, empty=not_yet)
    quantiles = sorted(served[0].quantiles)
    svg = bar_chart(
        "chart-latency",
        title,
        [f"{latency.operation.name} ({latency.count})" for latency in served],
        [
            Series(f"p{q * 100:g}", [latency.quantiles[q] * 1000 for latency in served], colour)
            for q, colour in zip(quantiles, PALETTE, strict=False)
        ],
        unit="ms",
    )
    return Figure("latency", title, svg, note=f"Requests served by this process since it started. {not_yet}")
