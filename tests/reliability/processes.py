"""Real server and worker processes for fault tests: started, killed and restarted at will."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from django.conf import settings

from server.localredis import free_port

ROOT = Path(__file__).resolve().parents[2]


def base_env(redis_url: str, data_dir: Path, **extra: str) -> dict[str, str]:
    env = {
        **os.environ,
        "REDIS_URL": redis_url,
        "DISABLE_AUTH": "true",
        "DATA_DIR": str(data_dir),
        # The models this test run already built, rather than a build per process.
        "MODEL_DIR": str(settings.MODEL_DIR),
        "EMBEDDING_PROVIDER": "local",
        "LOG_LEVEL": "WARNING",
        "DJANGO_SETTINGS_MODULE": "memoryserver.settings",
    }
    env.pop("OPENAI_API_KEY", None)
    return {**env, **extra}


def spawn(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """A child in its own process group, so a kill reaches everything it started."""
    with log.open("ab") as output:
        return subprocess.Popen(
            [sys.executable, *args],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def kill(process: subprocess.Popen[bytes], sig: int = signal.SIGKILL) -> None:
    if process.poll() is None:
        os.killpg(process.pid, sig)
        process.wait(timeout=15)


@contextmanager
def web_server(env: dict[str, str], log: Path) -> Iterator[str]:
    """uvicorn serving the project on a free port; yields its base URL once /health answers."""
    port = free_port()
    process = spawn(
        ["-m", "uvicorn", "server.asgi:application", "--port", str(port), "--log-level", "warning"],
        env,
        log,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(process, url, log)
        yield url
    finally:
        kill(process, signal.SIGTERM)


def wait_until_up(process: subprocess.Popen[bytes], url: str, log: Path, timeout: float = 60) -> None:
    """Until `url`/health answers 200; RuntimeError (with the log's tail) if the process exits
    first or the time runs out."""
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited: {log.read_text()[-2000:]}")
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError("the server did not start")
        time.sleep(0.1)


def start_worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return spawn(["manage.py", "worker"], env, log)


def wait_for(condition, timeout: float, what: str, interval: float = 0.05):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")
