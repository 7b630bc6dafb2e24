"""What a server process checks and prepares before it serves (server.warm_up runs it for
the web and MCP servers; the workers run `check_redis`).

The apps register their own steps in `AppConfig.ready` (core never imports an app): the
move of their stored keys to the current key layout, and what must exist before the first
request (the search index).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the apps register at set-up; Redis is reached only when run
    from memoryserver.redis import Store

logger = logging.getLogger(__name__)

# Keyed by what they move or prepare, so registering twice (apps set up again) changes nothing.
_layout_upgrades: dict[str, tuple[Store, Callable[[Any], int]]] = {}
_warm_ups: dict[str, Callable[[], None]] = {}


def register_layout_upgrade(what: str, store: Store, upgrade: Callable[[Any], int]) -> None:
    """`upgrade(client)` moves the `what` keys of the `store` Redis to the current layout and
    returns how many it moved; run before the process serves."""
    _layout_upgrades[what] = (store, upgrade)


def register_warm_up(what: str, step: Callable[[], None]) -> None:
    """`step()` prepares what the first request needs; it raises to refuse to start."""
    _warm_ups[what] = step


def check_redis() -> None:
    """Each Redis role offers what it needs (else ConfigError), and the stored keys are in
    this server's hash-tagged layout (moved once). Run by the web server and the workers
    before they serve."""
    from memoryserver.redis import get_redis
    from memoryserver.redis_roles import check_roles

    check_roles()
    for what, (store, upgrade) in _layout_upgrades.items():
        if moved := upgrade(get_redis(store)):
            logger.info("Moved %d %s keys to the hash-tagged key layout.", moved, what)


def run_warm_ups() -> None:
    """The apps' registered steps, in registration order (the order of INSTALLED_APPS)."""
    for step in _warm_ups.values():
        step()
