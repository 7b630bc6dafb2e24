"""Run the MCP server: every memory tool over stdio, SSE (/sse) or streamable HTTP (/mcp)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from mcp_app.tenancy import Binding
from memoryserver.config import ConfigError
from memoryserver.errors import MemoryServerError
from server.mcp_runner import ENDPOINTS, run


class Command(BaseCommand):
    help = (
        "Run the MCP server. stdio (the default) is for a client that starts this process "
        "(Claude Desktop); sse serves /sse and streamable-http serves /mcp on --host:--port, "
        "with the REST API's authentication. stdout carries only the protocol; logs go to stderr."
    )
    # Keep stdio start-up lean: the checks would import every URLconf and admin module.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--mode",
            choices=["stdio", *ENDPOINTS],
            default="stdio",
            help="Transport: stdio (default), sse (at /sse) or streamable-http (at /mcp).",
        )
        parser.add_argument("--sse", action="store_true", help="Same as --mode sse (the seed's option).")
        parser.add_argument(
            "--host",
            default=None,
            help="HTTP modes: address to bind (default MCP_HOST, 127.0.0.1; 0.0.0.0 serves other machines).",
        )
        parser.add_argument(
            "--port", type=int, default=None, help="HTTP modes: port (default MCP_PORT, 9000)."
        )
        parser.add_argument(
            "--namespace",
            default=None,
            help="Bind the process to this namespace: tools cannot read or write any other "
            "(default MCP_NAMESPACE, if set).",
        )
        parser.add_argument(
            "--user-id",
            default=None,
            help="Bind the process to this user: tools act only on its data (default MCP_USER_ID, if set).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            binding = Binding.from_options(options["namespace"], options["user_id"])
        except MemoryServerError as error:
            raise CommandError(f"Bad tenant binding: {error.detail}") from None
        mode = options["mode"]
        if options["sse"]:
            if mode not in ("stdio", "sse"):
                raise CommandError(f"--sse contradicts --mode {mode}.")
            mode = "sse"
        port = options["port"] if options["port"] is not None else settings.MCP_PORT
        if not 1 <= port <= 65535:
            raise CommandError(f"--port {port} is not a TCP port (1-65535).")
        try:
            run(mode, options["host"] or settings.MCP_HOST, port, binding)
        except (MemoryServerError, ConfigError) as error:
            raise CommandError(str(error)) from None
        except KeyboardInterrupt:
            pass
