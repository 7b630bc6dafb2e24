"""A local Redis Cluster for working memory: valkey-server nodes with the JSON module.

Each node runs from the same wheels as the local Redis (server/localredis.py), in
cluster mode, on a free port. The 16,384 hash slots are split evenly between the primaries;
each primary may get replicas. Used by the tests (tests/cluster) and by anyone who wants to
try WORKING_MEMORY_REDIS_URL on a cluster: `manage.py local_redis --cluster` (README
"Scaling out"). Production runs Redis Software/Cloud or its own Redis/Valkey Cluster.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from memoryserver.redis import RedisClient
from memoryserver.repositories import local_servers
from server.localredis import base_command, free_port, locate

SLOTS = 16384


@dataclass
class ClusterNode:
    port: int
    bus_port: int
    process: subprocess.Popen[bytes]
    replica_of: int | None = None  # the primary's port, for a replica

    @cached_property
    def client(self) -> RedisClient:
        """A client of this node alone (not cluster-aware)."""
        return local_servers.server_client(self.port, decode_responses=True)


@dataclass
class LocalCluster:
    """Use as a context manager to always stop every node."""

    primaries: int = 3
    replicas: int = 0  # per primary
    node_timeout_ms: int = 2000
    nodes: list[ClusterNode] = field(default_factory=list)
    folder: Path | None = None

    @property
    def url(self) -> str:
        """Any node's URL names the cluster; clients discover the others."""
        return f"redis://127.0.0.1:{self.nodes[0].port}/0"

    def start(self, timeout: float = 30.0) -> LocalCluster:
        self.folder = Path(tempfile.mkdtemp(prefix="memory-cluster-"))
        try:
            # A client port and a cluster bus port per node, each free until its node binds it.
            ports: list[int] = []
            while len(ports) < 2 * self.primaries * (1 + self.replicas):
                if (port := free_port()) not in ports:
                    ports.append(port)
            self.nodes = [self._spawn(port, bus) for port, bus in zip(ports[::2], ports[1::2], strict=True)]
            deadline = time.monotonic() + timeout
            for node in self.nodes:
                self._wait_for(lambda node=node: _answers(node), deadline, f"node {node.port}")
            self._form(deadline)
        except BaseException:
            self.stop()
            raise
        return self

    def _spawn(self, port: int, bus_port: int) -> ClusterNode:
        files = locate()
        (json_module,) = [module for module in files.modules if module.name == "rejson.so"]
        command = [
            *base_command(files, port),
            "--cluster-enabled", "yes",
            "--cluster-port", str(bus_port),
            "--cluster-config-file", f"nodes-{port}.conf",
            "--cluster-node-timeout", str(self.node_timeout_ms),
            "--dir", str(self.folder),
            "--save", "",
            "--appendonly", "no",
            "--loadmodule", str(json_module),
        ]  # fmt: skip
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        return ClusterNode(port, bus_port, process)

    def _form(self, deadline: float) -> None:
        primaries = self.nodes[: self.primaries]
        for number, node in enumerate(primaries):
            first, last = number * SLOTS // self.primaries, (number + 1) * SLOTS // self.primaries - 1
            local_servers.assign_slots(node.client, first, last)
        seed = self.nodes[0]
        for node in self.nodes[1:]:
            local_servers.meet(node.client, seed.port, seed.bus_port)
        everyone = len(self.nodes)
        for node in self.nodes:
            self._wait_for(
                lambda node=node: local_servers.known_nodes(node.client) == everyone,
                deadline,
                f"node {node.port} to meet the others",
            )
        for number, replica in enumerate(self.nodes[self.primaries :]):
            primary = primaries[number % self.primaries]
            local_servers.replicate(replica.client, primary.client)
            replica.replica_of = primary.port
        for node in self.nodes:
            self._wait_for(lambda node=node: _ready(node), deadline, f"node {node.port} to be ready")

    @staticmethod
    def _wait_for(check: object, deadline: float, what: str) -> None:
        while True:
            try:
                if check():  # type: ignore[operator]
                    return
            except local_servers.NOT_READY:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"The local cluster did not come up: waited for {what}.")
            time.sleep(0.05)

    def primary_ports(self) -> list[int]:
        """The ports of the nodes that are primaries now (a failover changes them)."""
        ports = []
        for node in self.nodes:
            if node.process.poll() is None and local_servers.is_primary(node.client):
                ports.append(node.port)
        return ports

    def flush(self) -> None:
        for node in self.nodes:
            if node.port in self.primary_ports():
                local_servers.flush(node.client)

    def stop(self) -> None:
        for node in self.nodes:
            node.client.close()
            if node.process.poll() is None:
                node.process.terminate()
        for node in self.nodes:
            try:
                node.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                node.process.kill()
                node.process.wait()
        self.nodes = []
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> LocalCluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _answers(node: ClusterNode) -> bool:
    if node.process.poll() is not None:
        raise RuntimeError(f"valkey-server on port {node.port} exited with code {node.process.returncode}")
    return local_servers.answers(node.client)


def _ready(node: ClusterNode) -> bool:
    return local_servers.is_ready(node.client, replica=node.replica_of is not None)
