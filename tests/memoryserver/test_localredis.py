"""The bundled Redis: Query Engine and JSON loaded, data kept across restarts with AOF."""

from __future__ import annotations

import redis

from server.localredis import LocalRedis, server_command


def test_test_redis_has_search_and_json(redis_client):
    modules = {entry[b"name"].lower() for entry in redis_client.execute_command("MODULE", "LIST")}
    assert {b"search", b"rejson"} <= modules


def test_data_survives_a_restart_with_aof(tmp_path):
    server = LocalRedis(data_dir=tmp_path / "redis")
    with server:
        client = redis.Redis(port=server.port)
        client.execute_command("JSON.SET", "doc", "$", '{"kept": true}')
        client.close()
    with LocalRedis(port=server.port, data_dir=tmp_path / "redis"):
        client = redis.Redis(port=server.port)
        assert client.execute_command("JSON.GET", "doc") == b'{"kept":true}'
        client.close()
    assert any(path.name.startswith("appendonly") for path in (tmp_path / "redis").rglob("*"))


def test_ephemeral_server_keeps_nothing_on_disk():
    command = server_command(6399, None)
    assert command[command.index("--appendonly") + 1] == "no"
    assert command[command.index("--save") + 1] == ""
