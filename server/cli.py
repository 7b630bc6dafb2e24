"""The `agent-memory` command (the seed's CLI), over this project's manage.py commands.

    agent-memory version
    agent-memory api [--host H] [--port P] [--workers N] [--reload] [--no-migrate] [--access-log]
    agent-memory mcp [--mode stdio|sse|streamable-http] [--port P] [--host H] ...
    agent-memory task-worker [--concurrency N] [--redelivery-timeout S] [--burst]
    agent-memory schedule-task TASK_PATH [-a key=value ...]
    agent-memory rebuild-index [--reembed]                     (also: rebuild_index)
    agent-memory migrate-memories                              (also: migrate_memories)
    agent-memory token add|list|remove ...
    agent-memory build-models [MODEL ...] [--all]              (also: build_models)

`version` and `api` live here; every other subcommand is the manage.py command of the same
job, with that command's own options (read from its `add_arguments`, so the two cannot
drift). `--help` works everywhere, and `agent-memory --help` needs no configuration.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from memoryserver import __version__
from memoryserver.fields import ascii_digits

PROG = "agent-memory"


@dataclass(frozen=True)
class Wrapped:
    """A subcommand that runs manage.py command `command` of Django app `app`."""

    app: str
    command: str
    summary: str
    aliases: tuple[str, ...] = ()


WRAPPED: dict[str, Wrapped] = {
    "mcp": Wrapped("server", "mcp", "Run the MCP server over stdio, SSE or streamable HTTP."),
    "task-worker": Wrapped("server", "worker", "Run background workers on every task queue."),
    "schedule-task": Wrapped("server", "schedule_task", "Queue a background task by its dotted path."),
    "rebuild-index": Wrapped(
        "longterm_app",
        "rebuild_index",
        "Recreate the memory search index (memories are kept).",
        ("rebuild_index",),
    ),
    "migrate-memories": Wrapped(
        "longterm_app",
        "migrate_memories",
        "Apply versioned data migrations to stored memories.",
        ("migrate_memories",),
    ),
    "token": Wrapped("server", "token", "Create, list and remove API tokens."),
    "build-models": Wrapped(
        "server",
        "build_models",
        "Build the local embedding models into MODEL_DIR ahead of the first start.",
        ("build_models",),
    ),
}
ALIASES = {alias: name for name, wrapped in WRAPPED.items() for alias in wrapped.aliases}


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"'{text}' is not a positive integer")
    return value


def _port(text: str) -> int:
    if not ascii_digits(text) or not 1 <= int(text) <= 65535:
        raise argparse.ArgumentTypeError(f"'{text}' is not a TCP port (1-65535)")
    return int(text)


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser; wrapped subcommands parse their own options (see `_run_wrapped`)."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Agent Memory Server: working and long-term memory for AI agents, on Redis.",
        epilog=f"Run '{PROG} COMMAND --help' for the options of a command.",
    )
    parser.add_argument("--version", action="version", version=f"agent-memory-server {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    commands.add_parser("version", help="Print the version.", description="Print the version.")
    api = commands.add_parser(
        "api",
        help="Run the REST API server (uvicorn).",
        description="Serve the REST API with uvicorn on server.asgi:application, as scripts/serve "
        "does. Applies Django's migrations (its small SQLite database of console users) first.",
    )
    api.add_argument("--host", default=None, help="Address to bind (default HOST, 0.0.0.0).")
    api.add_argument("--port", type=_port, default=None, help="Port to listen on (default PORT, 8000).")
    api.add_argument("--reload", action="store_true", help="Restart when the code changes (development).")
    api.add_argument("--no-migrate", action="store_true", help="Do not apply Django's migrations first.")
    api.add_argument("--access-log", action="store_true", help="Log every request (uvicorn's access log).")
    api.add_argument(
        "--workers",
        type=positive_int,
        default=None,
        help="Web processes sharing the port, each loading the models once (default WEB_WORKERS, 1).",
    )
    for name, wrapped in WRAPPED.items():
        commands.add_parser(name, aliases=list(wrapped.aliases), help=wrapped.summary, add_help=False)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `agent-memory` console script; returns the exit status."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args and (args[0] in WRAPPED or args[0] in ALIASES):
        return _run_wrapped(args[0], args[1:])
    options = build_parser().parse_args(args)
    if options.command == "version":
        sys.stdout.write(f"agent-memory-server {__version__}\n")
        return 0
    return _run_api(options)


def _setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "memoryserver.settings")
    import django
    from django.apps import apps

    if not apps.ready:  # already set up when called in-process (tests)
        django.setup()


def _run_wrapped(shown: str, rest: list[str]) -> int:
    from django.core.management import CommandError, call_command, load_command_class
    from django.core.management.base import CommandParser

    from memoryserver.config import ConfigError
    from memoryserver.redis import REDIS_UNAVAILABLE

    wrapped = WRAPPED[ALIASES.get(shown, shown)]
    try:
        _setup_django()
        command = load_command_class(wrapped.app, wrapped.command)
        parser = CommandParser(
            prog=f"{PROG} {shown}", description=command.help, called_from_command_line=True
        )
        command.add_arguments(parser)
        parser.parse_args(rest)  # --help and usage errors, in this command's name
        call_command(command, *rest)
    except ConfigError as error:
        sys.stderr.write(f"Invalid configuration:\n{error}\n")
        return 2
    except CommandError as error:
        sys.stderr.write(f"Error: {error}\n")
        return error.returncode
    except REDIS_UNAVAILABLE as error:
        sys.stderr.write(f"Error: Redis is unreachable ({error}). Is REDIS_URL right and Redis running?\n")
        return 1
    except KeyboardInterrupt:
        return 130
    return 0


def _run_api(options: argparse.Namespace) -> int:
    from memoryserver.config import BASE_DIR, ConfigError

    try:
        _setup_django()
    except ConfigError as error:
        sys.stderr.write(f"Invalid configuration:\n{error}\n")
        return 2
    import uvicorn
    from django.conf import settings
    from django.core.management import call_command

    workers = options.workers or settings.WEB_WORKERS
    if options.reload and workers > 1:
        sys.stderr.write("--reload runs one web process: leave out --workers (and WEB_WORKERS).\n")
        return 2
    if not options.no_migrate:
        Path(settings.DATA_DIR).mkdir(parents=True, exist_ok=True)
        call_command("migrate", interactive=False, verbosity=0)
    uvicorn.run(
        "server.asgi:application",
        host=options.host or settings.HOST,
        port=options.port or settings.PORT,
        reload=options.reload,
        workers=workers,
        reload_dirs=[str(BASE_DIR)] if options.reload else None,
        lifespan="on",
        # Adds a deadline for request headers (REQUEST_HEADER_TIMEOUT_SECONDS) to uvicorn's
        # httptools protocol; given by name so that --reload's child process can import it.
        http="server.http_protocol:HeaderTimeoutProtocol",
        # Django's LOGGING (text or JSON, with request ids) formats uvicorn's records too.
        log_config=None,
        log_level=settings.CONFIG.log_level.lower(),
        access_log=options.access_log,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
