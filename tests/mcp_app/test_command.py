"""`manage.py mcp`: its options, the refusals that come before serving, and the SSE mode for real."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time

import pytest
from django.core.management import CommandError, call_command, load_command_class
from mcp.client.stdio import get_default_environment

from mcp_app.tenancy import Binding
from server.localredis import free_port
from tests.mcp_app.conftest import BASE_DIR, child_env, http_session


def test_help_lists_every_option():
    parser = load_command_class("server", "mcp").create_parser("manage.py", "mcp")
    text = parser.format_help()
    for option in ("--mode", "{stdio,sse,streamable-http}", "--host", "--port", "--namespace", "--user-id"):
        assert option in text
    assert "MCP_PORT" in text and "stderr" in text


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--namespace", "bad namespace"], "Bad tenant binding: namespace: 'bad namespace' must be 1-200"),
        (["--user-id", "a/b"], "Bad tenant binding: user_id: 'a/b' must be 1-200"),
        (["--mode", "sse", "--port", "70000"], "--port 70000 is not a TCP port"),
    ],
)
def test_bad_options_stop_before_serving(options, message):
    with pytest.raises(CommandError, match=message):
        call_command("mcp", *options)


def test_settings_bind_the_process_when_options_do_not(settings):
    settings.MCP_NAMESPACE, settings.MCP_USER_ID = "team-a", "alice"
    assert Binding.from_options(None, None) == Binding("team-a", "alice")
    assert Binding.from_options("team-b", None) == Binding("team-b", "alice")


def wait_for_port(port: int, process: subprocess.Popen[str], seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert process.poll() is None, "the server exited"
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise AssertionError("the MCP server did not listen in time")


@pytest.mark.anyio
async def test_sse_mode_serves_at_the_configured_port(use_test_redis):
    port = free_port()
    command = [sys.executable, "manage.py", "mcp", "--mode", "sse", "--port", str(port)]
    env = {**get_default_environment(), **child_env(use_test_redis), "LOG_LEVEL": "INFO"}
    with subprocess.Popen(
        command, cwd=BASE_DIR, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as process:
        try:
            wait_for_port(port, process)
            async with http_session(f"http://127.0.0.1:{port}", "sse") as client:
                assert "memory_prompt" in await client.tool_names()
                assert (await client.call("get_current_datetime"))["iso_utc"].endswith("Z")
        finally:
            process.send_signal(signal.SIGINT)
            stdout, stderr = process.communicate(timeout=15)
    assert process.returncode == 0, stderr
    assert stdout == ""  # logs go to stderr in every mode
    assert f"MCP server at http://127.0.0.1:{port}/sse (no tenant binding)" in stderr
