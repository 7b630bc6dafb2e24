"""Retention policies: the selection rules test_forgetting.py leaves out, and forget_by_policy
run directly on the test Redis (age, inactivity, budget, dry run, pinned ids, scan limit)."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from longterm_app.forgetting import ForgetPolicy, freshness, select_for_forgetting
from longterm_app.records import MemoryRecord
from longterm_app.schemas import CreateMemoriesRequest, MemoryFilters, PolicyForgetRequest, PolicyForgetResult
from longterm_app.services import BackgroundWork, create_memories, forget_by_policy, list_memories
from memoryserver.auth.principal import ANONYMOUS_DEVELOPER
from memoryserver.fields import now
from providers.embeddings import get_embedder
from tests.longterm_app.stores import in_store

DAY = 86_400.0
NOW = 10_000 * DAY


def memory(memory_id: str, age_days: float, idle_days: float | None = None, **fields: Any):
    idle = age_days if idle_days is None else idle_days
    record = MemoryRecord(
        id=memory_id,
        text=memory_id,
        created_at=NOW - age_days * DAY,
        last_accessed=NOW - idle * DAY,
        **fields,
    )
    return f"key:{memory_id}", record


def forgotten(candidates, **policy: Any) -> list[str]:
    return select_for_forgetting(candidates, ForgetPolicy(**policy), NOW)


# Selection rules.


def test_a_memory_exactly_at_the_age_limit_stays():
    assert forgotten([memory("limit", 30), memory("over", 30.001)], max_age_days=30) == ["key:over"]


def test_a_memory_dated_in_the_future_counts_as_brand_new():
    assert forgotten([memory("future", -5)], max_age_days=0, max_inactive_days=0) == []


def test_expired_memories_do_not_use_up_the_budget():
    candidates = [memory("expired", 100), memory("a", 1), memory("b", 2)]
    assert forgotten(candidates, max_age_days=50, budget=2) == ["key:expired"]


def test_a_recently_used_old_memory_outlasts_an_untouched_newer_one_under_a_budget():
    used_old = memory("used-old", 60, idle_days=0)
    untouched = memory("untouched", 10)
    assert freshness(used_old[1], NOW) > freshness(untouched[1], NOW)
    assert forgotten([used_old, untouched], budget=1) == ["key:untouched"]


def test_types_outside_the_allowlist_neither_go_nor_take_a_budget_slot():
    candidates = [memory("episode", 1, memory_type="episodic"), memory("a", 5), memory("b", 9)]
    assert forgotten(candidates, budget=1, memory_type_allowlist=["semantic"]) == ["key:b"]


def test_pinning_goes_by_memory_id_not_by_key():
    candidates = [memory("keep", 50)]
    assert select_for_forgetting(candidates, ForgetPolicy(max_age_days=1), NOW, pinned=["key:keep"]) == [
        "key:keep"
    ]
    assert select_for_forgetting(candidates, ForgetPolicy(max_age_days=1), NOW, pinned=["keep"]) == []


@pytest.mark.parametrize(
    ("policy", "field_name"),
    [
        ({"max_inactive_days": -1}, "max_inactive_days"),
        ({"budget": -1}, "budget"),
        ({"hard_age_multiplier": 0}, "hard_age_multiplier"),
        ({"memory_type_allowlist": ["dreams"]}, "memory_type_allowlist"),
    ],
)
def test_a_policy_with_an_impossible_limit_is_refused_naming_it(policy, field_name):
    with pytest.raises(ValidationError) as caught:
        ForgetPolicy.model_validate(policy)
    assert caught.value.errors()[0]["loc"][0] == field_name


# forget_by_policy over Redis.


async def _untouched(records: list[Any]) -> Any:
    return None


def days_ago(days: float) -> float:
    return now() - days * DAY


@pytest.fixture
def aged(redis_client) -> None:
    """Four memories of one user, ten to forty days old; "used" was found by a search yesterday."""
    ages = {"d40": (40, 40), "d30": (30, 30), "used": (20, 1), "d10": (10, 10)}
    memories = [
        {
            "id": i,
            "text": f"{i} memory",
            "user_id": "u",
            "created_at": days_ago(age),
            "last_accessed": days_ago(idle),
        }
        for i, (age, idle) in ages.items()
    ]
    request = CreateMemoriesRequest.model_validate({"memories": memories})
    work = BackgroundWork(indexing=_untouched, tagging=_untouched)
    in_store(lambda s: create_memories(s, get_embedder(), ANONYMOUS_DEVELOPER, request, work))


def forget(**body: Any) -> PolicyForgetResult:
    request = PolicyForgetRequest.model_validate({"user_id": "u", **body})
    return in_store(lambda s: forget_by_policy(s, ANONYMOUS_DEVELOPER, request))


def remaining() -> list[str]:
    records = in_store(lambda s: list_memories(s, ANONYMOUS_DEVELOPER, MemoryFilters(), limit=100))
    return sorted(record.id for record in records)


def test_an_age_policy_forgets_the_old_memories_and_reports_them(aged):
    result = forget(policy={"max_age_days": 25}, dry_run=False)
    assert (result.scanned, result.deleted, result.dry_run) == (4, 2, False)
    assert sorted(result.deleted_ids) == ["d30", "d40"]
    assert remaining() == ["d10", "used"]


def test_a_dry_run_reports_what_would_go_and_deletes_nothing(aged):
    result = forget(policy={"max_age_days": 25})
    assert (result.deleted, sorted(result.deleted_ids), result.dry_run) == (2, ["d30", "d40"], True)
    assert remaining() == ["d10", "d30", "d40", "used"]


def test_an_inactivity_policy_keeps_a_memory_used_since(aged):
    result = forget(policy={"max_inactive_days": 5}, dry_run=False)
    assert sorted(result.deleted_ids) == ["d10", "d30", "d40"]
    assert remaining() == ["used"]


def test_pinned_ids_survive_a_policy_that_selects_them(aged):
    result = forget(policy={"max_age_days": 25}, pinned_ids=["d40"], dry_run=False)
    assert result.deleted_ids == ["d30"] and remaining() == ["d10", "d40", "used"]


def test_a_budget_keeps_the_freshest_memories(aged):
    result = forget(policy={"budget": 2}, dry_run=False)
    assert sorted(result.deleted_ids) == ["d30", "d40"]
    assert remaining() == ["d10", "used"]


def test_the_scan_limit_takes_the_oldest_memories_first(aged):
    result = forget(policy={"max_age_days": 0}, limit=2, dry_run=False)
    assert (result.scanned, sorted(result.deleted_ids)) == (2, ["d30", "d40"])


def test_a_policy_scoped_to_another_user_touches_nothing_of_this_one(aged):
    result = forget(policy={"max_age_days": 0}, user_id="someone-else", dry_run=False)
    assert (result.scanned, result.deleted) == (0, 0)
    assert len(remaining()) == 4
