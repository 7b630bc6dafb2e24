"""Every Redis key and command of summary views.

Layout
- `summary_view:{<id>}`            JSON of the view definition
- `summary_views`                  sorted set of view ids, scored by creation time
- `summary_view_results:{<id>}`    hash: partition key -> JSON of its latest result
- `summary_views:refresh_pending`  present while a periodic refresh of continuous views is scheduled

`{<id>}` is a hash tag: a view and its results share one hash slot of a sharded Redis, so
they are deleted together, and a result computed for a view deleted meanwhile is dropped
(the write checks the view still exists, in one script). The listing is written after the
view and cleared after it is deleted, so a listed view may be missing (listings skip it)
but a stored one is always listed.
"""

from __future__ import annotations

from urllib.parse import quote

import orjson
import redis
import redis.asyncio as aioredis

from memoryserver.redis import get_async_redis, move_to_hash_tags, text
from summary_views_app.schemas import PartitionResult, SummaryView

VIEW_PREFIX = "summary_view:"
ALL_VIEWS = "summary_views"
RESULTS_PREFIX = "summary_view_results:"
REFRESH_PENDING = "summary_views:refresh_pending"
LAYOUT_KEY = "summary_views:layout"
LAYOUT_VERSION = "2"

_SAVE_RESULT_SCRIPT = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
return 1
"""


def view_key(view_id: str) -> str:
    return VIEW_PREFIX + _tag(view_id)


def results_key(view_id: str) -> str:
    return RESULTS_PREFIX + _tag(view_id)


def _tag(view_id: str) -> str:
    """The view's hash tag (percent-encoded): a view and its results share one hash slot."""
    return "{" + quote(view_id, safe="") + "}"


def upgrade_layout(client: redis.Redis) -> int:
    """Once per Redis: views stored before the hash tags (`summary_view:<id>`) and their
    results move to this layout. Returns how many keys moved."""
    if client.get(LAYOUT_KEY) == LAYOUT_VERSION.encode():
        return 0
    moved = move_to_hash_tags(client, (VIEW_PREFIX, RESULTS_PREFIX), _tag)
    client.set(LAYOUT_KEY, LAYOUT_VERSION)
    return moved


def partition_key(group: dict[str, str]) -> str:
    """The same group always gives the same key, whatever the order of its fields."""
    return orjson.dumps(dict(sorted(group.items()))).decode()


class SummaryViewStore:
    def __init__(self, client: aioredis.Redis) -> None:
        self.client = client

    async def save(self, view: SummaryView) -> None:
        await self.client.set(view_key(view.id), view.model_dump_json())
        await self.client.zadd(ALL_VIEWS, {view.id: view.created_at})

    async def get(self, view_id: str) -> SummaryView | None:
        raw = await self.client.get(view_key(view_id))
        return None if raw is None else SummaryView.model_validate_json(raw)

    async def all(self) -> list[SummaryView]:
        """Every view, oldest first."""
        ids = await self.client.zrange(ALL_VIEWS, 0, -1)
        if not ids:
            return []
        async with self.client.pipeline(transaction=False) as pipe:
            for raw in ids:  # one GET each: each view has its own hash slot
                pipe.get(view_key(text(raw)))
            raws = await pipe.execute()
        return [SummaryView.model_validate_json(raw) for raw in raws if raw is not None]

    async def delete(self, view_id: str) -> bool:
        deleted = await self.client.delete(view_key(view_id), results_key(view_id))  # one slot
        await self.client.zrem(ALL_VIEWS, view_id)
        return bool(deleted)

    async def save_result(self, result: PartitionResult) -> bool:
        """Store a partition's result; False when the view no longer exists."""
        script = self.client.register_script(_SAVE_RESULT_SCRIPT)
        keys = [view_key(result.view_id), results_key(result.view_id)]
        stored = await script(keys=keys, args=[partition_key(result.group), result.model_dump_json()])
        return bool(stored)

    async def results(self, view_id: str) -> list[PartitionResult]:
        """The latest result of every partition computed so far, in partition-key order."""
        stored = await self.client.hgetall(results_key(view_id))
        return [PartitionResult.model_validate_json(stored[key]) for key in sorted(stored)]

    async def claim_refresh(self, seconds: int) -> bool:
        """True for the one caller that may schedule the next periodic refresh."""
        return bool(await self.client.set(REFRESH_PENDING, "1", nx=True, ex=seconds))

    async def hold_refresh(self, seconds: int) -> None:
        """Mark the next periodic refresh as scheduled (by the refresh that schedules it)."""
        await self.client.set(REFRESH_PENDING, "1", ex=seconds)

    async def release_refresh(self) -> None:
        await self.client.delete(REFRESH_PENDING)


def view_store() -> SummaryViewStore:
    """The store on the long-term Redis (this event loop's client): every transport's."""
    return SummaryViewStore(get_async_redis("long_term"))
