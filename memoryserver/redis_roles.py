"""Start-up check of the three Redis roles: each must be reachable and offer what it needs.

- working memory (WORKING_MEMORY_REDIS_URL): JSON; a Redis/Valkey Cluster is fine.
- long-term memory (LONG_TERM_MEMORY_REDIS_URL): JSON and the Query Engine on one endpoint (Redis 8,
  Redis Stack, Redis Software/Cloud, which shard the index themselves). An open-source
  cluster node would index only its own shard's memories.
- task queues (QUEUE_REDIS_URL): RQ's lists and scripts span many keys, so one plain server.

Each unset role uses REDIS_URL. A failed check stops the web server and the workers with
a message naming the setting, the URL (password masked) and the fix.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import redis
from django.conf import settings

from memoryserver.config import ConfigError
from memoryserver.redis import ROLE_SETTINGS, Store, is_cluster, redis_url


@dataclass(frozen=True)
class Role:
    store: Store
    purpose: str
    needs_json: bool = False
    needs_search: bool = False
    cluster_fix: str | None = None  # None: a cluster is fine


ROLES = (
    Role("working", "working memory", needs_json=True),
    Role(
        "long_term",
        "long-term memory",
        needs_json=True,
        needs_search=True,
        cluster_fix="the Query Engine on a cluster node indexes that node's memories only; use Redis 8 "
        "or Redis Stack on one server, or a Redis Software/Cloud database endpoint",
    ),
    Role("queue", "the task queues", cluster_fix="RQ needs one plain Redis or Valkey server"),
)


def masked_url(url: str) -> str:
    """`url` with its password (in the address or a `password=` parameter) replaced by ***."""
    parts = urlsplit(url)
    query = re.sub(r"(?i)(^|&)(password=)[^&]*", r"\1\2***", parts.query)
    parts = parts._replace(query=query)
    if parts.password is not None:
        user = parts.username or ""
        host = parts.hostname or ""
        host = f"[{host}]" if ":" in host else host  # IPv6
        port = f":{parts.port}" if parts.port else ""
        parts = parts._replace(netloc=f"{user}:***@{host}{port}")
    return urlunsplit(parts)


def _setting(store: Store) -> str:
    name = ROLE_SETTINGS[store]
    return name if getattr(settings, name) else "REDIS_URL"


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


def role_problem(role: Role) -> str | None:
    """What is wrong with this role's Redis, as a message for the operator; None if nothing."""
    url = redis_url(role.store)
    where = f"{_setting(role.store)} ({masked_url(url)}) for {role.purpose}"
    try:
        cluster = is_cluster(url)
        client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5)
        try:
            json_ok = not role.needs_json or _answers(client, "JSON.GET", "{redis_roles}:probe")
            search_ok = not role.needs_search or _answers(client, "FT._LIST")
        finally:
            client.close()
    except redis.AuthenticationError:
        return f"{where}: the credentials were refused. Fix the user name and password in the URL."
    except (redis.ConnectionError, redis.TimeoutError) as error:
        return f"{where}: cannot be reached ({type(error).__name__}). Start that Redis, or fix the URL."
    except redis.ResponseError as error:
        return f"{where}: a check was refused ({error}). Check the URL's credentials and database."
    if cluster and role.cluster_fix is not None:
        return f"{where}: is a Redis Cluster node; {role.cluster_fix}. Point {_setting(role.store)} there."
    if not search_ok:
        return f"{where}: has no Query Engine (FT.SEARCH). Use Redis 8 or Redis Stack."
    if not json_ok:
        return f"{where}: has no JSON commands. Use Redis 8 or Redis Stack, or load the RedisJSON module."
    return None


def check_roles() -> None:
    """Raise ConfigError naming every role whose Redis cannot serve it."""
    problems = [problem for role in ROLES if (problem := role_problem(role))]
    if problems:
        raise ConfigError("\n".join(problems))
