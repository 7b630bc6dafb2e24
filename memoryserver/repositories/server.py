"""What a Redis server offers, asked at start-up by the role checks (memoryserver.redis_roles).

A probe runs on a client of its own with short timeouts, so a server that does not answer
fails the check quickly, and it touches no data: the JSON probe reads a key that does not
exist.
"""

from __future__ import annotations

from dataclasses import dataclass

import redis

from memoryserver.redis import is_cluster

# Read, never written: in a hash tag of its own, so a cluster node answers for its slot.
JSON_PROBE_KEY = "{redis_roles}:probe"


class ProbeFailed(Exception):
    """The server could not be asked; the message says why, without the URL."""


class CredentialsRefused(ProbeFailed):
    pass


class Unreachable(ProbeFailed):
    """Nothing answered (the message names the error: ConnectionError, TimeoutError)."""


class CheckRefused(ProbeFailed):
    """The server refused a probe (the message is its answer)."""


@dataclass(frozen=True)
class ServerFacts:
    cluster: bool  # a Redis/Valkey Cluster node
    json: bool  # JSON commands (True when not asked)
    search: bool  # the Query Engine (True when not asked)


def server_facts(url: str, ask_json: bool, ask_search: bool) -> ServerFacts:
    """What the server at `url` is and offers; raises a ProbeFailed when it cannot say."""
    try:
        cluster = is_cluster(url)
        client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5)
        try:
            json_ok = not ask_json or _answers(client, "JSON.GET", JSON_PROBE_KEY)
            search_ok = not ask_search or _answers(client, "FT._LIST")
        finally:
            client.close()
    except redis.AuthenticationError:
        raise CredentialsRefused("the credentials were refused") from None
    except (redis.ConnectionError, redis.TimeoutError) as error:
        raise Unreachable(type(error).__name__) from None
    except redis.ResponseError as error:
        raise CheckRefused(str(error)) from None
    return ServerFacts(cluster=cluster, json=json_ok, search=search_ok)


def _answers(client: redis.Redis, *command: str) -> bool:
    """Whether the server knows `command` (run on a key that does not exist). A cluster node
    may redirect it to the key's node (MOVED), which it checks only for a command it knows."""
    try:
        client.execute_command(*command)
    except redis.ResponseError as error:
        if "unknown command" in str(error).lower():
            return False
        if not str(error).startswith(("MOVED", "ASK")):
            raise
    return True
