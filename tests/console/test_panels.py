"""The dashboard's figures: what each chart shows, and what it says when there is nothing to draw."""

from __future__ import annotations

from console.latency import OPERATIONS, Latency
from console.panels import MOST_NAMESPACES, job_figures, latency_figure, namespace_figures
from memoryserver.observability.jobs import JobHistory


def history(queued: list[int | None], failures: list[int]) -> JobHistory:
    return JobHistory(minutes=list(range(len(queued))), queued=queued, failures=failures)


def test_namespaces_are_drawn_largest_first_and_escaped():
    memories, sessions = namespace_figures({"b": 1, "<script>": 5, "a": 1, "empty": 0}, {})
    assert memories.svg is not None
    assert "&lt;script&gt;: memories 5; a: memories 1; b: memories 1" in memories.svg
    assert "<script>" not in memories.svg
    assert (sessions.svg, sessions.empty) == (None, "No sessions yet.")


def test_only_the_largest_namespaces_are_drawn_and_the_rest_are_counted():
    (memories, _) = namespace_figures({f"ns{n:02d}": n + 1 for n in range(20)}, {"x": 1})
    assert memories.svg is not None and memories.svg.count('class="bar"') == MOST_NAMESPACES
    assert "ns19: memories 20" in memories.svg and "ns07:" not in memories.svg
    assert memories.note == f"The {MOST_NAMESPACES} largest of 20 namespaces."


def test_a_quiet_hour_is_said_not_drawn():
    queued, failed = job_figures(history([None] * 30 + [0] * 30, [0] * 60))
    assert (queued.svg, queued.empty) == (None, "No job waited in the last hour.")
    assert (failed.svg, failed.empty) == (None, "No job failed in the last hour.")


def test_a_busy_hour_is_drawn():
    queued, failed = job_figures(history([None] * 30 + [3] * 30, [0] * 59 + [2]))
    assert queued.svg is not None and "highest 3, last 3." in queued.svg
    assert failed.svg is not None and "highest 2, last 2." in failed.svg


def test_latency_names_what_has_not_been_served_yet():
    search, memory_writes, session_writes = OPERATIONS
    figure = latency_figure(
        [
            Latency(search, 4, {0.5: 0.004, 0.95: 0.009, 0.99: 0.0098}),
            Latency(memory_writes, 0, {}),
            Latency(session_writes, 0, {}),
        ]
    )
    assert figure.svg is not None
    assert "Search (4): p50 4 ms, p95 9 ms, p99 9.8 ms" in figure.svg
    assert figure.note.endswith("No long-term memory writes yet. No working-memory writes yet.")
    nothing = latency_figure([Latency(operation, 0, {}) for operation in OPERATIONS])
    assert nothing.svg is None and nothing.empty.startswith("No searches yet.")
