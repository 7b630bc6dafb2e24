"""Workers run at a lower CPU priority than the web processes (WORKER_NICENESS)."""

from __future__ import annotations

import os

from tests.reliability.processes import base_env, kill, start_worker, wait_for


def _niceness(pid: int) -> int | None:
    try:
        return os.getpriority(os.PRIO_PROCESS, pid)
    except ProcessLookupError:
        return None


def test_a_worker_lowers_its_priority_by_the_configured_niceness(use_test_redis, tmp_path):
    ours = os.getpriority(os.PRIO_PROCESS, 0)
    worker = start_worker(base_env(use_test_redis, tmp_path, WORKER_NICENESS="7"), tmp_path / "worker.log")
    try:
        wait_for(lambda: _niceness(worker.pid) == min(ours + 7, 19), 60, "the worker's lowered priority")
    finally:
        kill(worker)
