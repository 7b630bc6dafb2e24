"""Working memory on a local 3-primary Redis Cluster (server/localcluster.py), with
long-term memory and the queues on the usual single test server.

The suites re-run here are imported into this package's test modules: every test of them
runs once on one server and once on the cluster.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from server.localcluster import LocalCluster


@pytest.fixture(scope="session")
def redis_cluster() -> Iterator[LocalCluster]:
    with LocalCluster(primaries=3) as cluster:
        yield cluster


@pytest.fixture(autouse=True)
def working_memory_on_cluster(settings, redis_cluster: LocalCluster) -> Iterator[LocalCluster]:
    redis_cluster.flush()
    settings.WORKING_MEMORY_REDIS_URL = redis_cluster.url
    yield redis_cluster
