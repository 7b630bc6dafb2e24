"""The commands the local launchers (server.localredis, server.localcluster) send
to the servers they start: whether a server is ready, and forming a cluster of nodes.

A launcher talks to each server on a client of its own, by port on 127.0.0.1, with a short
connect timeout, so a server that is not up yet answers at once with a ConnectionError.
"""

from __future__ import annotations

import redis

# What a starting cluster node answers until it is ready: no connection yet, or a refusal
# ("CLUSTERDOWN", or a command it cannot serve before it has met the others).
NOT_READY: tuple[type[Exception], ...] = (redis.ConnectionError, redis.ResponseError)


def server_client(port: int, decode_responses: bool = False) -> redis.Redis:
    """A client of the one server on this port (never cluster-aware)."""
    return redis.Redis(port=port, socket_connect_timeout=0.5, decode_responses=decode_responses)


def serves(client: redis.Redis) -> bool:
    """Whether the server answers with its data loaded (a restart with AOF answers LOADING
    until the data is back) and its search module up."""
    try:
        client.ping()
        client.execute_command("FT._LIST")
    except (redis.ConnectionError, redis.BusyLoadingError):
        return False
    return True


def answers(client: redis.Redis) -> bool:
    return bool(client.ping())


def assign_slots(client: redis.Redis, first: int, last: int) -> None:
    client.execute_command("CLUSTER", "ADDSLOTSRANGE", first, last)


def meet(client: redis.Redis, port: int, bus_port: int) -> None:
    """Introduce the node to the one listening on `port` (cluster bus on `bus_port`)."""
    client.execute_command("CLUSTER", "MEET", "127.0.0.1", port, bus_port)


def known_nodes(client: redis.Redis) -> int:
    return int(client.cluster("info")["cluster_known_nodes"])


def replicate(client: redis.Redis, primary: redis.Redis) -> None:
    """Make the node a replica of `primary`."""
    client.execute_command("CLUSTER", "REPLICATE", primary.execute_command("CLUSTER", "MYID"))


def is_primary(client: redis.Redis) -> bool:
    return bool(client.info("replication")["role"] == "master")


def is_ready(client: redis.Redis, replica: bool) -> bool:
    """The cluster is whole as this node sees it and, for a replica, it copies its primary."""
    if client.cluster("info")["cluster_state"] != "ok":
        return False
    return not replica or client.info("replication").get("master_link_status") == "up"


def flush(client: redis.Redis) -> None:
    client.flushall()
