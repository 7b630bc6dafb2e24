"""Start-up checks of the three Redis roles, against real servers: a cluster, a server
without modules, and a port where nothing listens."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator

import pytest

from memoryserver.config import ConfigError
from memoryserver.redis_roles import check_roles, masked_url
from server.localredis import base_command, free_port, locate
from tests.memoryserver.test_cli import cli_env, run  # noqa: F401  (fixture)


@pytest.fixture(scope="module")
def bare_valkey() -> Iterator[str]:
    """A valkey-server without the JSON and search modules."""
    port = free_port()
    command = [*base_command(locate(), port), "--save", "", "--appendonly", "no"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    import redis

    client = redis.Redis(port=port)
    for _ in range(200):
        try:
            client.ping()
            break
        except redis.ConnectionError:
            import time

            time.sleep(0.05)
    client.close()
    yield f"redis://127.0.0.1:{port}/0"
    process.terminate()
    process.wait(timeout=10)


def test_a_cluster_for_working_memory_and_one_server_for_the_rest_pass(settings, working_memory_on_cluster):
    check_roles()


def test_queues_on_a_cluster_are_refused_by_name(settings, working_memory_on_cluster):
    settings.QUEUE_REDIS_URL = working_memory_on_cluster.url
    with pytest.raises(ConfigError) as refused:
        check_roles()
    message = str(refused.value)
    assert message == (
        f"QUEUE_REDIS_URL ({working_memory_on_cluster.url}) for the task queues: is a Redis Cluster node; "
        "RQ needs one plain Redis or Valkey server. Point QUEUE_REDIS_URL there."
    )


def test_wrong_credentials_are_named_and_masked(settings, working_memory_on_cluster):
    settings.QUEUE_REDIS_URL = working_memory_on_cluster.url.replace("//", "//ops:hunter2@")
    with pytest.raises(ConfigError) as refused:
        check_roles()
    message = str(refused.value)
    assert message.startswith("QUEUE_REDIS_URL (redis://ops:***@127.0.0.1:") and "hunter2" not in message
    assert "the credentials were refused" in message


def test_long_term_memory_needs_the_query_engine(settings, bare_valkey):
    settings.LONG_TERM_MEMORY_REDIS_URL = bare_valkey
    with pytest.raises(
        ConfigError, match=r"^LONG_TERM_MEMORY_REDIS_URL .* has no Query Engine \(FT.SEARCH\)"
    ):
        check_roles()


def test_working_memory_needs_json(settings, bare_valkey):
    settings.WORKING_MEMORY_REDIS_URL = bare_valkey
    with pytest.raises(ConfigError, match=r"^WORKING_MEMORY_REDIS_URL .* has no JSON commands"):
        check_roles()


def test_every_unreachable_role_is_named_with_redis_url_when_it_is_the_default(settings):
    settings.WORKING_MEMORY_REDIS_URL = None
    settings.REDIS_URL = f"redis://:secret@127.0.0.1:{free_port()}/0"
    with pytest.raises(ConfigError) as refused:
        check_roles()
    lines = str(refused.value).splitlines()
    assert [line.split(" ")[0] for line in lines] == ["REDIS_URL"] * 3
    assert all("cannot be reached" in line and ":***@" in line and "secret" not in line for line in lines)


def test_masked_url_keeps_everything_but_the_password():
    assert masked_url("rediss://user:pw@host:6380/2") == "rediss://user:***@host:6380/2"
    assert masked_url("redis://host:6379/0") == "redis://host:6379/0"
    assert masked_url("redis://:pw@[::1]:6379/0") == "redis://:***@[::1]:6379/0"
    assert masked_url("redis://host/0?db=1&password=pw&x=1") == "redis://host/0?db=1&password=***&x=1"


def test_a_worker_refuses_to_start_with_its_queues_on_a_cluster(cli_env, working_memory_on_cluster):  # noqa: F811
    result = run({**cli_env, "QUEUE_REDIS_URL": working_memory_on_cluster.url}, "task-worker", "--burst")
    assert result.returncode == 2, result.stderr
    assert "QUEUE_REDIS_URL (redis://127.0.0.1:" in result.stderr and "Traceback" not in result.stderr
