"""Real services for the tests: a throw-away Redis with the Query Engine and the ASGI server.

The Redis runs on a free port for the whole test session and is always stopped. The API
is served by uvicorn in a thread, so tests go through the same stack as production.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import httpx
import pytest
import redis
import uvicorn
from django.conf import settings
from django.test import override_settings

from server.localredis import LocalRedis, free_port
from tests.fake_openai import fake_openai  # noqa: F401  (fixture)


@pytest.fixture(scope="session")
def redis_server() -> Iterator[LocalRedis]:
    with LocalRedis() as server:
        yield server


@pytest.fixture(scope="session", autouse=True)
def use_test_redis(redis_server: LocalRedis) -> Iterator[str]:
    queues = {name: {"URL": redis_server.url, "DEFAULT_TIMEOUT": 60} for name in settings.TASK_QUEUES}
    # Auth is off for the suites that test other things; tests/auth turns it on.
    with override_settings(REDIS_URL=redis_server.url, RQ_QUEUES=queues, AUTH_MODE="disabled"):
        yield redis_server.url


def _wait_for_index_scans(client: redis.Redis, seconds: float = 10.0) -> None:
    """Wait until no index is still scanning stored documents (after a test's rebuild), so
    that a test's FLUSHDB never races a scan. (The test server's hangs once blamed on such a
    race were RedisJSON's background flush: see server/localredis.py.)"""
    from longterm_app.repositories.index import scanning

    deadline = time.monotonic() + seconds
    for raw in client.execute_command("FT._LIST"):
        while scanning(client.execute_command("FT.INFO", raw)) is not None and time.monotonic() < deadline:
            time.sleep(0.01)


@pytest.fixture
def redis_client(use_test_redis: str) -> Iterator[redis.Redis]:
    """A client on the test Redis, emptied before each test (with an empty memory index)."""
    from longterm_app.services import ensure_memory_index, forget_namespace_indexes

    client = redis.Redis.from_url(use_test_redis)
    _wait_for_index_scans(client)
    client.flushdb()
    forget_namespace_indexes()
    ensure_memory_index()
    yield client
    client.close()


@pytest.fixture
def working_client(redis_client: redis.Redis) -> Iterator[redis.Redis]:
    """A client of the working-memory Redis (a cluster client in tests/cluster)."""
    from memoryserver.redis import new_redis, redis_url

    client = new_redis(redis_url("working"))
    yield client
    client.close()


@pytest.fixture(scope="session")
def live_server_url(use_test_redis: str) -> Iterator[str]:
    from server.asgi import application

    port = free_port()
    config = uvicorn.Config(application, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def api(live_server_url: str, redis_client: redis.Redis) -> Iterator[httpx.Client]:
    """An HTTP client of the running server, on an empty Redis."""
    with httpx.Client(base_url=live_server_url, timeout=10) as client:
        yield client


@pytest.fixture
def sync_jobs(settings) -> None:
    """Background jobs run at once, inside the call that queues them (RQ's own is_async=False)."""
    settings.RQ_QUEUES = {name: {**queue, "ASYNC": False} for name, queue in settings.RQ_QUEUES.items()}


@pytest.fixture
def chat_model(fake_openai, settings, sync_jobs):  # noqa: F811
    """The chat model is the scripted fake server (OpenAI wire format); embeddings stay local."""
    from providers.llm import reset_chat_models

    settings.OPENAI_API_BASE = fake_openai.openai_base_url
    settings.EMBEDDING_PROVIDER = "local"
    reset_chat_models()
    yield fake_openai
    reset_chat_models()
