"""server.lifespan: a failed warm-up refuses the start and says why in the lifespan protocol;
a shutdown is acknowledged."""

from __future__ import annotations

import asyncio
from typing import Any

from server.lifespan import Lifespan
from server.localredis import free_port


def run_lifespan(*events: str) -> list[dict[str, Any]]:
    """What a Lifespan sends back for the server's lifespan `events` (more would raise)."""
    messages = iter({"type": f"lifespan.{event}"} for event in events)
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return next(messages)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(Lifespan(None)({"type": "lifespan"}, receive, send))
    return sent


def test_a_redis_that_cannot_be_reached_fails_the_start_naming_the_setting(settings):
    settings.REDIS_URL = f"redis://app:hunter2@127.0.0.1:{free_port()}/0"
    (failed,) = run_lifespan("startup", "shutdown")  # no startup.complete; no wait for a shutdown
    assert failed["type"] == "lifespan.startup.failed"
    masked = settings.REDIS_URL.replace("hunter2", "***")
    assert f"REDIS_URL ({masked}) for working memory: cannot be reached" in failed["message"]
    assert "hunter2" not in failed["message"]


def test_a_shutdown_is_acknowledged_and_ends_the_lifespan():
    assert run_lifespan("shutdown") == [{"type": "lifespan.shutdown.complete"}]
