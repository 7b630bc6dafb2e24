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

from django.conf import settings

from memoryserver.config import ConfigError
from memoryserver.redis import ROLE_SETTINGS, Store, redis_url
from memoryserver.repositories.server import CheckRefused, CredentialsRefused, Unreachable, server_facts


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


def role_problem(role: Role) -> str | None:
    """What is wrong with this role's Redis, as a message for the operator; None if nothing."""
    url = redis_url(role.store)
    where = f"{_setting(role.store)} ({masked_url(url)}) for {role.purpose}"
    try:
        facts = server_facts(url, ask_json=role.needs_json, ask_search=role.needs_search)
    except CredentialsRefused:
        return f"{where}: the credentials were refused. Fix the user name and password in the URL."
    except Unreachable as error:
        return f"{where}: cannot be reached ({error}). Start that Redis, or fix the URL."
    except CheckRefused as error:
        return f"{where}: a check was refused ({error}). Check the URL's credentials and database."
    if facts.cluster and role.cluster_fix is not None:
        return f"{where}: is a Redis Cluster node; {role.cluster_fix}. Point {_setting(role.store)} there."
    if not facts.search:
        return f"{where}: has no Query Engine (FT.SEARCH). Use Redis 8 or Redis Stack."
    if not facts.json:
        return f"{where}: has no JSON commands. Use Redis 8 or Redis Stack, or load the RedisJSON module."
    return None


def check_roles() -> None:
    """Raise ConfigError naming every role whose Redis cannot serve it."""
    problems = [problem for role in ROLES if (problem := role_problem(role))]
    if problems:
        raise ConfigError("\n".join(problems))
