"""docker/: the Compose file and the Dockerfile agree with each other and with the code.

With Docker Compose available, `docker compose config` validates the file as Docker reads it.
The structural checks run everywhere (no Docker engine is needed for either).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.core.management import load_command_class
from django.core.management.base import CommandParser

from memoryserver.config import AppConfig
from server.cli import ALIASES, WRAPPED, build_parser
from server.healthcheck import host_header
from server.healthcheck import main as healthcheck

BASE_DIR = Path(__file__).resolve().parents[2]
DOCKER_DIR = BASE_DIR / "docker"
APP_SERVICES = ("api", "worker", "mcp")
# ${VAR:-default} as Compose interpolates it with VAR unset.
INTERPOLATION = re.compile(r"\$\{[A-Z_]+:-([^}]*)\}")


def interpolated(text: str) -> str:
    return INTERPOLATION.sub(r"\1", text)


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load((DOCKER_DIR / "docker-compose.yml").read_text())


@pytest.fixture(scope="module")
def dockerfile() -> list[str]:
    """The Dockerfile's instructions, one per entry, continuation lines joined."""
    text = (DOCKER_DIR / "Dockerfile").read_text()
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    return [
        step.strip()
        for step in re.split(r"\n(?=[A-Z]+ )", "\n".join(lines).replace("\\\n", " "))
        if step.strip()
    ]


def compose_available() -> bool:
    if shutil.which("docker") is None:
        return False
    return subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0


@pytest.mark.skipif(not compose_available(), reason="Docker Compose is not installed here")
def test_docker_compose_accepts_the_file():
    result = subprocess.run(
        ["docker", "compose", "-f", str(DOCKER_DIR / "docker-compose.yml"), "config", "--quiet"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr


def test_services_redis_and_volumes(compose):
    services = compose["services"]
    assert set(services) == {"redis", *APP_SERVICES}
    redis = services["redis"]
    assert redis["image"] == "redis:8"
    assert redis["command"][:3] == ["redis-server", "--appendonly", "yes"]
    assert "redis-data:/data" in redis["volumes"]
    assert redis["healthcheck"]["test"] == ["CMD", "redis-cli", "ping"]
    used = {mount.split(":")[0] for service in services.values() for mount in service.get("volumes", [])}
    assert used <= set(compose["volumes"])


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_services_build_one_image_and_wait_for_redis(compose, name):
    service = compose["services"][name]
    build = service["build"]
    assert (DOCKER_DIR / build["context"]).resolve() == BASE_DIR
    assert (DOCKER_DIR / build["context"] / build["dockerfile"]).resolve() == DOCKER_DIR / "Dockerfile"
    assert service["image"] == "agent-memory-server:local"
    assert service["depends_on"] == {"redis": {"condition": "service_healthy"}}
    for target in service["depends_on"]:
        assert target in compose["services"]
    env = service["environment"]
    assert env["REDIS_URL"] == "redis://redis:6379/0"
    assert "api" in interpolated(env["ALLOWED_HOSTS"]).split(",")
    assert interpolated(env["DISABLE_AUTH"]) == "false"


def test_every_environment_variable_is_a_setting(compose):
    settings = {name.upper() for name in AppConfig.model_fields}
    for name in APP_SERVICES:
        unknown = set(compose["services"][name]["environment"]) - settings
        assert not unknown, f"{name}: {unknown} are not settings of memoryserver/config.py"


def parse_command(argv: list[str]) -> tuple[str, dict[str, Any]]:
    """Parse an `agent-memory ...` command line as the CLI would; returns (subcommand, options)."""
    assert argv[0] == "agent-memory"
    args = [interpolated(arg) for arg in argv[1:]]
    name = ALIASES.get(args[0], args[0])
    if name not in WRAPPED:
        return name, vars(build_parser().parse_args(args))
    wrapped = WRAPPED[name]
    command = load_command_class(wrapped.app, wrapped.command)
    parser = CommandParser(prog=f"agent-memory {name}", called_from_command_line=False)
    command.add_arguments(parser)
    return name, vars(parser.parse_args(args[1:]))


def published_container_ports(service: dict[str, Any]) -> set[int]:
    return {int(interpolated(mapping).rsplit(":", 1)[1]) for mapping in service.get("ports", [])}


def healthcheck_port(service: dict[str, Any]) -> int:
    test = service["healthcheck"]["test"]
    assert test[:4] == ["CMD", "python", "-m", "server.healthcheck"]
    return int(test[test.index("--port") + 1])


def test_commands_ports_and_healthchecks_agree(compose):
    services = compose["services"]
    name, api = parse_command(services["api"]["command"])
    assert name == "api" and published_container_ports(services["api"]) == {api["port"]}
    assert healthcheck_port(services["api"]) == api["port"]
    name, mcp = parse_command(services["mcp"]["command"])
    assert (name, mcp["mode"], mcp["port"]) == ("mcp", "sse", 9000)
    assert published_container_ports(services["mcp"]) == {mcp["port"]}
    assert healthcheck_port(services["mcp"]) == mcp["port"]
    name, worker = parse_command(services["worker"]["command"])
    assert name == "task-worker" and worker["concurrency"] >= 1 and not worker["burst"]
    assert services["worker"]["healthcheck"] == {"disable": True} and "ports" not in services["worker"]


def instruction(steps: list[str], keyword: str) -> list[str]:
    return [step[len(keyword) + 1 :].strip() for step in steps if step.startswith(keyword + " ")]


def test_dockerfile_builds_in_two_stages_and_runs_unprivileged(dockerfile):
    stages = instruction(dockerfile, "FROM")
    assert stages == ["${PYTHON_IMAGE} AS builder", "${PYTHON_IMAGE} AS runtime"]
    assert "ARG PYTHON_IMAGE=python:3.11-slim" in dockerfile
    runtime = dockerfile[dockerfile.index("FROM ${PYTHON_IMAGE} AS runtime") :]
    builder = dockerfile[: len(dockerfile) - len(runtime)]
    assert any("pip install -r requirements/base.txt" in step for step in builder)
    assert any("pip install --no-deps --editable ." in step for step in builder)
    assert not any("pip install" in step for step in runtime), "dependencies belong to the builder"
    assert "COPY --from=builder /opt/venv /opt/venv" in runtime
    assert "COPY --from=builder /app /app" in runtime
    (user,) = instruction(runtime, "USER")
    assert user not in ("root", "0")
    assert any(re.search(rf"useradd .*--gid {user} .*\b{user}\b", step) for step in runtime)
    (healthcheck,) = instruction(runtime, "HEALTHCHECK")
    assert 'CMD ["python", "-m", "server.healthcheck"]' in healthcheck
    assert instruction(runtime, "CMD") == ['["agent-memory", "api"]']
    assert set(instruction(runtime, "EXPOSE")[0].split()) == {"8000", "9000"}
    env = " ".join(instruction(runtime, "ENV"))
    for setting in ("PORT=8000", "MCP_PORT=9000", "HOST=0.0.0.0", "MCP_HOST=0.0.0.0", "DATA_DIR=/app/data"):
        assert setting in env


def test_the_image_carries_its_models_built_where_the_servers_look(dockerfile):
    runtime = dockerfile[dockerfile.index("FROM ${PYTHON_IMAGE} AS runtime") :]
    builder = dockerfile[: len(dockerfile) - len(runtime)]
    (build,) = [step for step in instruction(builder, "RUN") if "build-models" in step]
    assert build == "MODEL_DIR=/app/models agent-memory build-models --all"
    assert "MODEL_DIR=/app/models" in " ".join(instruction(runtime, "ENV"))
    assert "COPY --from=builder /app /app" in runtime


def test_dockerfile_copies_files_that_exist(dockerfile):
    for step in instruction(dockerfile, "COPY"):
        if step.startswith("--from="):
            continue
        *sources, _ = step.split()
        for source in sources:
            assert (BASE_DIR / source).exists(), source
    ignored = (BASE_DIR / ".dockerignore").read_text().split()
    assert {".venv", "data", ".git", ".env", "tests"} <= set(ignored)


def test_the_healthcheck_passes_on_a_live_server_and_fails_without_one(live_server_url, monkeypatch):
    monkeypatch.setenv("ALLOWED_HOSTS", ".example.com,localhost")
    assert host_header() == "example.com"
    monkeypatch.setenv("ALLOWED_HOSTS", "*")
    assert host_header() == "localhost"
    port = int(live_server_url.rsplit(":", 1)[1])
    assert healthcheck(["--port", str(port)]) == 0
    from server.localredis import free_port

    assert healthcheck(["--port", str(free_port()), "--timeout", "1"]) == 1
