"""How busy the rest of the machine is: background work yields to requests by it.

Linux only (/proc/stat); elsewhere the machine reads as idle to this process.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

_STAT = Path("/proc/stat")


def _machine_busy_seconds() -> float | None:
    """CPU seconds every core of the machine has spent busy since boot."""
    try:
        fields = [int(value) for value in _STAT.read_text().split("\n", 1)[0].split()[1:9]]
    except (OSError, ValueError):
        return None
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


class OtherLoad:
    """The cores other processes kept busy between two readings."""

    def __init__(self) -> None:
        self._mark = self._now()

    @staticmethod
    def _now() -> tuple[float, float | None, float]:
        return time.monotonic(), _machine_busy_seconds(), time.process_time()

    def cores(self) -> float:
        """Cores the rest of the machine used since the last call (or creation), on average."""
        (wall, busy, own), self._mark = self._mark, self._now()
        elapsed = self._mark[0] - wall
        if busy is None or self._mark[1] is None or elapsed <= 0:
            return 0.0
        return max(0.0, (self._mark[1] - busy) - (self._mark[2] - own)) / elapsed
