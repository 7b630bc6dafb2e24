"""`manage.py local_redis --cluster N`: a local cluster for trying working memory on one."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest
import redis
from redis.cluster import RedisCluster

BASE_DIR = Path(__file__).resolve().parents[2]


def test_local_redis_runs_a_cluster_until_stopped():
    command = [sys.executable, "manage.py", "local_redis", "--cluster", "2"]
    pipes = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE}
    with subprocess.Popen(command, cwd=BASE_DIR, text=True, **pipes) as process:
        try:
            assert process.stdout is not None
            line = process.stdout.readline().strip()
            assert line.startswith("WORKING_MEMORY_REDIS_URL=redis://127.0.0.1:")
            url = line.split("=", 1)[1]
            with RedisCluster.from_url(url) as cluster:
                assert len(cluster.get_primaries()) == 2
                cluster.execute_command("JSON.SET", "{probe}", "$", "[1]")
                assert cluster.execute_command("JSON.GET", "{probe}") == b"[1]"
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=30) == 0
        finally:
            if process.poll() is None:
                process.kill()
    with redis.Redis.from_url(url, socket_connect_timeout=1) as node, pytest.raises(redis.ConnectionError):
        node.ping()  # every node stopped with the command
