"""Manage API tokens (AUTH_MODE=token): add, list, remove. Only hashes are stored."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from memoryserver.auth.api_tokens import create_token, list_tokens, remove_token
from memoryserver.auth.principal import ADMIN, READ, WRITE
from memoryserver.errors import NotFound
from memoryserver.fields import check_identifier
from memoryserver.redis import get_redis


def _when(timestamp: float | None) -> str:
    if timestamp is None:
        return "never"
    return dt.datetime.fromtimestamp(timestamp, dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


class Command(BaseCommand):
    help = "Create, list and remove API tokens for service-to-service calls (AUTH_MODE=token)."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        add = actions.add_parser("add", help="Create a token and print it once.")
        add.add_argument("--description", default="", help="What the token is for.")
        add.add_argument(
            "--scope",
            action="append",
            choices=[READ, WRITE, ADMIN],
            help=f"Scope to grant (repeatable; default {READ} and {WRITE}).",
        )
        add.add_argument("--namespace", action="append", help="Bind to this namespace (repeatable).")
        add.add_argument("--user-id", help="Bind to this user id.")
        add.add_argument("--expires-days", type=float, help="Expire after this many days.")
        actions.add_parser("list", help="List tokens (never the tokens themselves).")
        remove = actions.add_parser("remove", help="Revoke a token by the id that `list` shows.")
        remove.add_argument("token_id")

    def handle(self, *args: Any, **options: Any) -> None:
        client = get_redis("working")
        if options["action"] == "add":
            self._add(client, options)
        elif options["action"] == "list":
            for info in list_tokens(client):
                namespaces = ",".join(info.namespaces) if info.namespaces is not None else "*"
                self.stdout.write(
                    f"{info.id}  {info.description or '-'}  scopes={','.join(info.scopes)}  "
                    f"namespaces={namespaces}  user={info.user_id or '*'}  expires={_when(info.expires_at)}"
                )
        else:
            try:
                info = remove_token(client, options["token_id"])
            except NotFound as error:
                raise CommandError(error.detail) from None
            self.stdout.write(f"Removed token {info.id} ({info.description or 'no description'}).")

    def _add(self, client: Any, options: dict[str, Any]) -> None:
        try:
            for value in [
                *(options["namespace"] or []),
                *([options["user_id"]] if options["user_id"] else []),
            ]:
                check_identifier(value)
        except ValueError as error:
            raise CommandError(f"Namespace or user id {error}") from None
        if options["expires_days"] is not None and options["expires_days"] <= 0:
            raise CommandError("--expires-days must be positive.")
        token, info = create_token(
            client,
            description=options["description"],
            scopes=options["scope"] or [READ, WRITE],
            namespaces=options["namespace"],
            user_id=options["user_id"],
            expires_in_days=options["expires_days"],
        )
        self.stdout.write(token)
        self.stderr.write(
            f"Token {info.id} created; it is shown only now. Send it as 'Authorization: Bearer <token>'."
        )
