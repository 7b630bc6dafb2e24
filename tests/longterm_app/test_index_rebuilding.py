"""While the search index is (re)built over stored memories, search answers 503, never a partial result.

RediSearch fills an index created over existing documents with a background scan; a search
meanwhile sees only some memories. That happens when the index vanished (FT.DROPINDEX, a
FLUSHALL, a new Redis) and was recreated, by this process or by another one.
"""

from __future__ import annotations

import contextlib
import time

import httpx
import numpy as np
import pytest
import redis

from longterm_app.index import IndexRebuilding
from longterm_app.records import MemoryRecord, memory_hash
from longterm_app.repositories.index import INDEX_NAME
from longterm_app.repository import _ServerRun
from longterm_app.services import ensure_memory_index
from providers.embeddings import get_embedder
from server.localredis import LocalRedis
from tests.longterm_app.stores import in_store

COPIES = 4000  # enough documents that RediSearch's scan takes a noticeable moment here


def store_memories(api: httpx.Client, client: redis.Redis, copies: int = COPIES) -> int:
    """A few memories through the API, then many byte-for-byte copies of them (new ids)."""
    memories = [
        {"id": f"seed{i}", "text": f"The user's favourite fruit number {i} is mango"} for i in range(4)
    ]
    assert api.post("/long-term-memory", json={"memories": memories}).status_code == 200
    seed_keys = sorted(key.decode() for key in client.scan_iter("memory:*") if b":seed" in key)
    seeds = [client.execute_command("JSON.GET", key, "$") for key in seed_keys]
    assert len(seeds) == 4
    pipe = client.pipeline(transaction=False)
    for n in range(copies):
        key, document = seed_keys[n % 4], seeds[n % 4]
        new_id = f"copy{n}"
        old_id = key.rsplit(":", 1)[1]
        pipe.execute_command(
            "JSON.SET",
            f"{key.rsplit(':', 1)[0]}:{new_id}",
            "$",
            document.replace(old_id.encode(), new_id.encode()),
        )
    pipe.execute()
    return copies + 4


def search_until_complete(api: httpx.Client, expected: int) -> list[tuple[int, int | str]]:
    """Filter-only searches over every memory until one answers 200: (status, total or detail)."""
    answers: list[tuple[int, int | str]] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        response = api.post("/long-term-memory/search", json={"text": "", "limit": 1})
        if response.status_code == 503:
            assert response.headers["Retry-After"] == "1"
            answers.append((503, response.json()["detail"]))
            time.sleep(0.05)
            continue
        body = response.json()
        answers.append(
            (response.status_code, body["total"] if response.status_code == 200 else body["detail"])
        )
        if response.status_code == 200:
            return answers
    raise AssertionError(f"the index never became complete: {answers[-3:]}")


def assert_refused_then_complete(answers: list[tuple[int, int | str]], expected: int) -> None:
    *refused, last = answers
    assert last == (200, expected)  # the first answer given is complete
    assert refused, "the search ran during the rebuild without being refused"
    for status, detail in refused:
        assert status == 503 and isinstance(detail, str) and detail.startswith("Search index rebuilding")


def test_search_after_the_index_was_dropped_is_refused_until_complete(api, redis_client):
    stored = store_memories(api, redis_client)
    redis_client.execute_command("FT.DROPINDEX", "memory_idx")  # the documents stay
    assert_refused_then_complete(search_until_complete(api, stored), stored)


def test_search_after_flushall_and_new_writes_is_refused_until_complete(api, redis_client):
    redis_client.flushall()  # the index and its meta are gone; writes go on without them
    stored = store_memories(api, redis_client)
    assert_refused_then_complete(search_until_complete(api, stored), stored)


def test_search_while_another_process_rebuilds_the_index_is_refused(api, redis_client):
    stored = store_memories(api, redis_client)
    redis_client.execute_command("FT.DROPINDEX", "memory_idx")
    ensure_memory_index()  # another process recreated it: this server never sees "no such index"
    assert_refused_then_complete(search_until_complete(api, stored), stored)


def test_searches_of_a_verified_index_ask_no_ft_info_and_redis_at_most_once_a_second(api, redis_client):
    store_memories(api, redis_client, copies=10)
    api.post("/long-term-memory/search", json={"text": "", "limit": 1})  # verified, if not yet

    def calls() -> tuple[int, int]:
        stats = redis_client.info("commandstats")
        return tuple(int(stats.get(f"cmdstat_{name}", {}).get("calls", 0)) for name in ("FT.INFO", "info"))

    ft_info_before, info_before = calls()
    started = time.monotonic()
    for _ in range(20):
        response = api.post("/long-term-memory/search", json={"text": "mango", "limit": 3})
        assert response.status_code == 200 and response.json()["total"] > 0
    ft_info_after, info_after = calls()
    assert ft_info_after == ft_info_before
    # Less the INFO that read the counts before.
    assert info_after - info_before - 1 <= 1 + int(time.monotonic() - started)


def test_a_search_after_redis_restarted_is_refused_while_redis_rescans(tmp_path, settings):
    """After a restart, Redis loads its data and RediSearch may rescan an index in the
    background, with no marker of ours (here the index is recreated unmarked right after the
    restart, as such a scan leaves it): a search notices the restart and refuses to answer
    from the partial index."""
    from redisvl.index import SearchIndex

    from longterm_app.index import index_schema

    settings.SEARCH_INDEX_CHECK_SECONDS = 0  # every search asks whether Redis restarted
    server = LocalRedis(data_dir=tmp_path / "redis").start()
    client = redis.Redis.from_url(server.url)
    try:
        settings.REDIS_URL = server.url
        ensure_memory_index()
        dims = get_embedder().dims
        vectors = np.random.default_rng(0).standard_normal((COPIES, dims)).astype(np.float32)
        texts = [f"fact {i}" for i in range(COPIES)]
        records = [
            (
                MemoryRecord(text=text, memory_hash=memory_hash(text, None, None)),
                vector / np.linalg.norm(vector),
            )
            for text, vector in zip(texts, vectors, strict=True)
        ]
        for start in range(0, COPIES, 500):
            in_store(lambda store, chunk=records[start : start + 500]: store.upsert(chunk))
        assert search_total() == COPIES  # the index verified complete

        server.stop()
        server.start()
        client.execute_command("FT.DROPINDEX", INDEX_NAME)
        SearchIndex(index_schema(dims), redis_client=client).create()
        with pytest.raises(IndexRebuilding):
            search_total()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with contextlib.suppress(IndexRebuilding):
                assert search_total() == COPIES  # the first answer given is complete
                break
            time.sleep(0.05)
        else:
            raise AssertionError("the index never became complete")
    finally:
        client.close()
        server.stop()


def search_total() -> int:
    return in_store(lambda store: store.count("*"))


def test_a_new_run_id_or_none_at_all_means_the_indexes_must_be_verified_again():
    run = _ServerRun()
    assert [run.changed({"run_id": "a"}), run.changed({"run_id": "a"})] == [False, False]
    assert run.changed({"run_id": "b"})  # Redis restarted
    assert run.changed({}) and run.changed(redis.ResponseError("refused"))  # cannot tell
    assert not run.changed({"run_id": "c"})  # nothing to compare with since
