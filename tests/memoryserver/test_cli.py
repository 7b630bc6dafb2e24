"""The `agent-memory` command: every subcommand run for real, in a subprocess on the test Redis.

The installed console script is used when the virtualenv has it (scripts/test installs the
project), else `python -m server.cli`, the same entry point.
"""

from __future__ import annotations

import fnmatch
import json
import os
import signal
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from rq import Queue
from rq.job import Job

from memoryserver import __version__
from server.cli import ALIASES, WRAPPED, main
from server.localredis import free_port

BASE_DIR = Path(__file__).resolve().parents[2]
SCRIPT = Path(sys.executable).with_name("agent-memory")
EVERY_COMMAND = ["version", "api", *WRAPPED, *ALIASES]


def agent_memory() -> list[str]:
    return [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "server.cli"]


@pytest.fixture
def cli_env(use_test_redis: str, tmp_path: Path, settings) -> dict[str, str]:
    """The test Redis, no auth, local embeddings, no developer .env, data in a temporary
    folder, the models this test run already built."""
    return {
        **os.environ,
        "REDIS_URL": use_test_redis,
        "DISABLE_AUTH": "true",
        "EMBEDDING_PROVIDER": "local",
        "OPENAI_API_KEY": "",
        "LOG_LEVEL": "WARNING",
        "DATA_DIR": str(tmp_path / "data"),
        "MODEL_DIR": str(settings.MODEL_DIR),
        "MEMORY_SERVER_ENV_FILE": str(tmp_path / "no-such.env"),
    }


def run(env: dict[str, str], *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*agent_memory(), *args], cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=timeout
    )


@contextmanager
def serving(env: dict[str, str], *args: str, stop: int = signal.SIGTERM) -> Iterator[subprocess.Popen[str]]:
    """A long-running subcommand; stopped with `stop` afterwards, which must end it cleanly.

    uvicorn shuts down gracefully, then re-raises the signal, so a clean stop by SIGTERM
    exits with that signal (as a supervisor expects), and a SIGINT ends in status 0.
    """
    with subprocess.Popen(
        [*agent_memory(), *args],
        cwd=BASE_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as process:
        try:
            yield process
        finally:
            process.send_signal(stop)
            _, stderr = process.communicate(timeout=30)
            process.stderr_text = stderr  # type: ignore[attr-defined]
        assert process.returncode in (0, -stop), stderr
        assert "Traceback" not in stderr, stderr


def wait_for_health(url: str, process: subprocess.Popen[str], seconds: float = 60) -> httpx.Response:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert process.poll() is None, f"the server exited: {process.stderr.read() if process.stderr else ''}"
        try:
            return httpx.get(f"{url}/health", headers={"X-Request-ID": "probe-1"}, timeout=2)
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError(f"{url}/health did not answer in time")


def test_the_console_script_is_declared_and_installed_by_the_test_command():
    project = tomllib.loads((BASE_DIR / "pyproject.toml").read_text())
    assert project["project"]["scripts"] == {"agent-memory": "server.cli:main"}
    if os.environ.get("CI"):  # CI's virtualenv is made by scripts/test, which installs the project
        assert SCRIPT.exists(), f"{SCRIPT} is missing: scripts/lib.sh should `pip install -e .`"


def test_version(cli_env):
    result = run(cli_env, "version")
    assert (result.returncode, result.stdout) == (0, f"agent-memory-server {__version__}\n")


def test_help_lists_every_command_and_needs_no_configuration(cli_env):
    result = run({**cli_env, "WINDOW_SIZE": "not a number"}, "--help")
    assert result.returncode == 0, result.stderr
    for name in EVERY_COMMAND:
        assert name in result.stdout


@pytest.mark.parametrize("name", EVERY_COMMAND)
def test_every_command_has_help(name, capsys):
    with pytest.raises(SystemExit) as stopped:
        main([name, "--help"])
    assert stopped.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: agent-memory {name}")


def test_usage_errors_and_bad_configuration_exit_with_2(cli_env, capsys):
    with pytest.raises(SystemExit) as stopped:
        main(["task-worker", "--concurrency", "0"])
    assert stopped.value.code == 2
    assert "'0' is not a positive integer" in capsys.readouterr().err
    result = run({**cli_env, "WINDOW_SIZE": "ten"}, "migrate-memories")
    assert result.returncode == 2
    assert "Config 'WINDOW_SIZE' has value 'ten'" in result.stderr


def test_api_serves_until_stopped_and_logs_json_with_request_ids(cli_env):
    port = free_port()
    env = {**cli_env, "LOG_FORMAT": "json", "LOG_LEVEL": "INFO"}
    with serving(env, "api", "--host", "127.0.0.1", "--port", str(port), "--access-log") as process:
        health = wait_for_health(f"http://127.0.0.1:{port}", process)
        assert health.status_code == 200 and health.json()["now"] > 0
        assert health.headers["X-Request-ID"] == "probe-1"
    # Django's own tables (console users) were migrated into DATA_DIR first; the model came
    # from MODEL_DIR, built before, not from a build of its own.
    assert (Path(cli_env["DATA_DIR"]) / "django.sqlite3").exists()
    assert not (Path(cli_env["DATA_DIR"]) / "models").exists()
    # Every line uvicorn, Django and the server wrote is one JSON object; the access log
    # line of the request carries its id.
    lines = [json.loads(line) for line in process.stderr_text.splitlines() if line.strip()]
    assert {"time", "level", "logger", "message", "request_id"} <= set(lines[0])
    access = [line for line in lines if line["logger"] == "uvicorn.access"]
    assert any(line["request_id"] == "probe-1" and "/health" in line["message"] for line in access), access


def test_api_runs_several_web_processes_from_web_workers(cli_env):
    port = free_port()
    with serving(
        {**cli_env, "WEB_WORKERS": "2"}, "api", "--host", "127.0.0.1", "--port", str(port)
    ) as process:
        wait_for_health(f"http://127.0.0.1:{port}", process)

        def web_processes() -> list[str]:
            found = subprocess.run(["pgrep", "-P", str(process.pid)], capture_output=True, text=True)
            return found.stdout.split()

        deadline = time.monotonic() + 60
        while len(web_processes()) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert len(web_processes()) >= 2
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:
            assert all(client.get("/health").status_code == 200 for _ in range(50))


def test_reload_refuses_several_web_processes(cli_env):
    result = run(cli_env, "api", "--reload", "--workers", "2", "--no-migrate")
    assert result.returncode == 2 and "--reload runs one web process" in result.stderr


def test_mcp_serves_sse_until_stopped(cli_env):
    port = free_port()
    with serving(cli_env, "mcp", "--sse", "--port", str(port), stop=signal.SIGINT) as process:
        health = wait_for_health(f"http://127.0.0.1:{port}", process)
        assert health.status_code == 200 and health.headers["X-Request-ID"] == "probe-1"
        # The MCP endpoint itself keeps the REST API's authentication (off here: DISABLE_AUTH).
        with httpx.stream("GET", f"http://127.0.0.1:{port}/sse", timeout=5) as stream:
            assert stream.status_code == 200
            assert stream.headers["content-type"].startswith("text/event-stream")


def test_scheduled_task_runs_on_a_pool_of_workers(cli_env, redis_client):
    scheduled = run(
        cli_env,
        "schedule-task",
        "longterm_app.tasks.compact_memories",
        "-a",
        "namespace=cli",
        "--args",
        "dry_run=true",
    )
    assert scheduled.returncode == 0, scheduled.stderr
    job_id = scheduled.stdout.strip().rsplit(" ", 1)[1]
    job = Job.fetch(job_id, connection=redis_client)
    assert job.kwargs == {"namespace": "cli", "dry_run": True}

    worked = run(cli_env, "task-worker", "--burst", "--concurrency", "2", "--redelivery-timeout", "30")
    assert worked.returncode == 0, worked.stderr
    assert job.get_status(refresh=True) == "finished"


def test_rebuild_index_keeps_the_memories(cli_env, api):
    stored = api.post("/long-term-memory", json={"memories": [{"id": "m1", "text": "The user likes tea"}]})
    assert stored.status_code == 200, stored.text
    result = run(cli_env, "rebuild-index")
    assert result.returncode == 0, result.stderr
    assert "Index rebuilt for local:multilingual-e5-small:384: 1 memories indexed." in result.stdout
    found = api.post("/long-term-memory/search", json={"text": "tea"}).json()
    assert [memory["id"] for memory in found["memories"]] == ["m1"]


def test_migrate_memories_is_safe_to_run_again(cli_env, redis_client):
    first = run(cli_env, "migrate-memories")
    again = run(cli_env, "migrate_memories")
    assert first.returncode == 0 and again.returncode == 0, first.stderr + again.stderr
    assert again.stdout.startswith("Up to date (version ")


def test_aliases_run_the_same_commands(redis_client, capsys):
    assert main(["rebuild_index"]) == 0
    assert "Index rebuilt" in capsys.readouterr().out
    assert main(["migrate_memories"]) == 0
    assert "version" in capsys.readouterr().out


def test_token_add_list_remove(cli_env, redis_client):
    added = run(cli_env, "token", "add", "--description", "cli test", "--scope", "memory:read")
    assert added.returncode == 0, added.stderr
    token = added.stdout.strip()
    assert token.startswith("ams_") and "it is shown only now" in added.stderr
    listed = run(cli_env, "token", "list")
    assert "cli test" in listed.stdout and "scopes=memory:read" in listed.stdout
    assert token not in listed.stdout
    token_id = listed.stdout.split()[0]
    removed = run(cli_env, "token", "remove", token_id)
    assert removed.returncode == 0 and f"Removed token {token_id}" in removed.stdout
    missing = run(cli_env, "token", "remove", token_id)
    assert missing.returncode == 1 and missing.stderr.startswith("Error: ")


def test_build_models_builds_into_model_dir_once(cli_env, tmp_path):
    env = {**cli_env, "MODEL_DIR": str(tmp_path / "models"), "LOG_LEVEL": "INFO"}
    built = run(env, "build-models", "all-MiniLM-L6-v2")
    assert built.returncode == 0, built.stderr
    name, folder = built.stdout.strip().split(": ")
    assert name == "all-MiniLM-L6-v2" and Path(folder).parent == tmp_path / "models"
    assert (Path(folder) / "model.onnx").stat().st_size > 1_000_000
    # The build says what it does in two lines, without onnxruntime's line per tensor.
    assert "Building all-MiniLM-L6-v2-int8" in built.stderr and "Quantization" not in built.stderr
    again = run(env, "build_models", "sentence-transformers/all-MiniLM-L6-v2")
    assert again.returncode == 0 and again.stdout == built.stdout
    assert "Building" not in again.stderr
    assert not (Path(cli_env["DATA_DIR"]) / "models").exists()


@pytest.mark.parametrize(
    ("args", "extra", "message"),
    [
        (["no-such-model"], {}, "Error: 'no-such-model' is not a local model: use one of"),
        ([], {"EMBEDDING_MODEL": "text-embedding-3-small"}, "Error: EMBEDDING_MODEL 'text-embedding-"),
    ],
)
def test_build_models_names_what_it_cannot_build(cli_env, tmp_path, args, extra, message):
    result = run({**cli_env, **extra, "MODEL_DIR": str(tmp_path / "models")}, "build-models", *args)
    assert result.returncode == 1 and result.stderr.startswith(message), result.stderr
    assert not (tmp_path / "models").exists()


def test_without_redis_url_commands_reach_the_local_redis_on_local_redis_port(cli_env, redis_server):
    # scripts/serve starts the local Redis on LOCAL_REDIS_PORT; a token made by a command
    # with the same LOCAL_REDIS_PORT (and no REDIS_URL) must land in that Redis.
    env = {**cli_env, "LOCAL_REDIS_PORT": str(redis_server.port)}
    del env["REDIS_URL"]
    added = run(env, "token", "add", "--description", "on the local port")
    assert added.returncode == 0, added.stderr
    assert "on the local port" in run(cli_env, "token", "list").stdout
    elsewhere = run({**env, "LOCAL_REDIS_PORT": str(free_port())}, "token", "list")
    assert elsewhere.returncode == 1 and elsewhere.stderr.startswith("Error: Redis is unreachable")


def test_an_unreachable_redis_is_one_line_not_a_traceback(cli_env):
    result = run({**cli_env, "REDIS_URL": f"redis://127.0.0.1:{free_port()}/0"}, "migrate-memories")
    assert result.returncode == 1
    assert result.stderr.startswith("Error: Redis is unreachable") and "Traceback" not in result.stderr


def test_manage_py_says_redis_is_unreachable_in_one_line_too(cli_env):
    env = {**cli_env, "REDIS_URL": f"redis://127.0.0.1:{free_port()}/0"}
    command = [sys.executable, "manage.py", "token", "add", "--description", "x"]
    result = subprocess.run(command, cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert result.stderr.startswith("Error: Redis is unreachable") and "Traceback" not in result.stderr


def test_every_project_app_is_installed_with_the_project(settings):
    """The console script imports through the install, not the working folder: a Django app
    of this project missing from pyproject's package list would not import."""
    project = tomllib.loads((BASE_DIR / "pyproject.toml").read_text())
    patterns = project["tool"]["setuptools"]["packages"]["find"]["include"]
    ours = [app for app in settings.INSTALLED_APPS if (BASE_DIR / app.split(".")[0]).is_dir()]
    assert ours
    for app in ours:
        assert any(fnmatch.fnmatch(app, pattern) for pattern in patterns), app


def test_migrate_on_a_fresh_clone_creates_the_data_folder(tmp_path):
    data_dir = tmp_path / "fresh" / "data"
    result = subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput"],
        cwd=BASE_DIR,
        env={**os.environ, "DATA_DIR": str(data_dir)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert (data_dir / "django.sqlite3").is_file()


def test_a_data_folder_that_cannot_be_created_is_named(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=BASE_DIR,
        env={**os.environ, "DATA_DIR": str(blocker / "data")},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert f"Config 'DATA_DIR' has value '{blocker / 'data'}'" in result.stderr


def test_schedule_task_with_a_bad_argument_exits_2_and_queues_nothing(cli_env, redis_client):
    refused = run(cli_env, "schedule-task", "longterm_app.tasks.compact_memories", "-a", "bogus=1")
    assert refused.returncode == 2
    assert "'bogus' is not an argument of longterm_app.tasks.compact_memories" in refused.stderr
    assert "namespace" in refused.stderr and "dry_run" in refused.stderr  # the valid ones are listed
    typed_wrong = run(cli_env, "schedule-task", "longterm_app.tasks.compact_memories", "-a", "limit=many")
    assert typed_wrong.returncode == 2 and "Argument 'limit' has value 'many'" in typed_wrong.stderr
    assert Queue("default", connection=redis_client).count == 0


def test_the_seeds_task_name_is_an_alias_with_its_argument_names(cli_env, redis_client):
    path = "agent_memory_server.long_term_memory.compact_long_term_memories"
    args = ["-a", "limit=500", "-a", "namespace=my_namespace", "-a", "compact_semantic_duplicates=false"]
    scheduled = run(cli_env, "schedule-task", path, *args)
    assert scheduled.returncode == 0, scheduled.stderr
    job = Job.fetch(scheduled.stdout.strip().rsplit(" ", 1)[1], connection=redis_client)
    assert job.func_name == "longterm_app.tasks.compact_memories"
    assert job.kwargs == {"limit": 500, "namespace": "my_namespace", "near_duplicates": False}
    assert path in run(cli_env, "schedule-task", "--list").stdout
