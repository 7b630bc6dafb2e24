"""The long-term index's Redis side (longterm_app.repositories.index): its metadata, and what
it answers about an index that is missing or was dropped meanwhile."""

from __future__ import annotations

import asyncio

import pytest

from longterm_app.maintenance import wait_for_indexing
from longterm_app.repositories.index import (
    INDEX_NAME,
    KEY_PREFIX,
    META_KEY,
    covered_prefixes,
    drop_named,
    forget_meta,
    index_info,
    index_names,
    marker_field,
    namespace_index,
    remember_model,
    stored_model,
    stored_schema_version,
)
from longterm_app.repository import MemoryStore
from memoryserver.errors import NotFound
from memoryserver.redis import fresh_async_redis


def test_an_index_without_stored_metadata_has_no_model_and_schema_version_one(redis_client):
    forget_meta(redis_client)
    assert stored_model(redis_client) is None
    assert stored_schema_version(redis_client) == 1


def test_the_model_and_schema_version_are_remembered_with_the_rebuilding_marker(redis_client):
    forget_meta(redis_client)
    remember_model(redis_client, "local:test-model:8", 2, marker="m-1")
    assert (stored_model(redis_client), stored_schema_version(redis_client)) == ("local:test-model:8", 2)
    assert redis_client.hget(META_KEY, marker_field(INDEX_NAME)) == b"m-1"


def test_remembering_the_model_without_a_marker_marks_nothing_rebuilding(redis_client):
    forget_meta(redis_client)
    remember_model(redis_client, "local:test-model:8", 2)
    assert redis_client.hexists(META_KEY, marker_field(INDEX_NAME)) == 0


def test_the_global_index_covers_every_memory_key(redis_client):
    info = index_info(redis_client)
    assert info is not None and int(info["num_docs"]) == 0
    assert covered_prefixes(redis_client, INDEX_NAME) == [KEY_PREFIX]


def test_a_missing_index_has_no_info_and_no_prefixes(redis_client):
    missing = namespace_index("nobody")
    assert index_info(redis_client, missing) is None
    assert covered_prefixes(redis_client, missing) is None


def test_dropping_an_index_that_is_gone_already_is_no_error(redis_client):
    missing = namespace_index("gone")
    drop_named(redis_client, missing)
    assert missing not in index_names(redis_client)


def test_waiting_for_an_index_that_is_gone_names_it(redis_client):
    with pytest.raises(NotFound, match=r"memory_idx:ns:gone is gone"):
        wait_for_indexing(redis_client, index=namespace_index("gone"), timeout=1)


def test_counting_memories_per_namespace_without_an_index_answers_none(redis_client):
    async def counts() -> dict[str, int] | None:
        async with fresh_async_redis("long_term") as client:
            return await MemoryStore(client).count_by_namespace_if_indexed()

    assert asyncio.run(counts()) == {}
    redis_client.execute_command("FT.DROPINDEX", INDEX_NAME)
    assert asyncio.run(counts()) is None
