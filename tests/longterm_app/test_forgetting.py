"""Retention policies: which memories a policy forgets (pure), and forgetting by policy over Redis."""

from __future__ import annotations

import pytest

from longterm_app.forgetting import ForgetPolicy, select_for_forgetting
from longterm_app.records import MemoryRecord

DAY = 86_400.0
NOW = 10_000 * DAY


def memory(
    memory_id: str, age_days: float, idle_days: float | None = None, **fields
) -> tuple[str, MemoryRecord]:
    idle = age_days if idle_days is None else idle_days
    record = MemoryRecord(
        id=memory_id,
        text=memory_id,
        created_at=NOW - age_days * DAY,
        last_accessed=NOW - idle * DAY,
        **fields,
    )
    return f"key:{memory_id}", record


def forgotten(candidates, **policy) -> list[str]:
    return select_for_forgetting(candidates, ForgetPolicy(**policy), NOW)


def test_an_empty_policy_forgets_nothing():
    assert forgotten([memory("a", 5000)]) == []


def test_age_and_inactivity_limits_alone():
    candidates = [memory("old", 40), memory("new", 10), memory("idle", 10, idle_days=9)]
    assert forgotten(candidates, max_age_days=30) == ["key:old"]
    assert forgotten(candidates, max_inactive_days=8) == ["key:old", "key:new", "key:idle"]


def test_with_both_limits_old_but_used_memories_stay_unless_very_old():
    candidates = [
        memory("old-idle", 40, idle_days=20),
        memory("old-used", 40, idle_days=1),
        memory("ancient-used", 400, idle_days=1),
    ]
    assert forgotten(candidates, max_age_days=30, max_inactive_days=10) == [
        "key:old-idle",
        "key:ancient-used",
    ]
    assert forgotten(candidates, max_age_days=30, max_inactive_days=10, hard_age_multiplier=20) == [
        "key:old-idle"
    ]


def test_budget_keeps_the_freshest():
    candidates = [memory("a", 50), memory("b", 1), memory("c", 20), memory("d", 2)]
    assert sorted(forgotten(candidates, budget=2)) == ["key:a", "key:c"]
    assert forgotten(candidates, budget=4) == []
    assert sorted(forgotten(candidates, budget=0)) == ["key:a", "key:b", "key:c", "key:d"]


def test_pinned_ids_and_the_type_allowlist_protect_memories():
    candidates = [memory("keep", 50), memory("episode", 50, memory_type="episodic"), memory("fact", 50)]
    policy = ForgetPolicy(max_age_days=30, memory_type_allowlist=["semantic"])
    assert select_for_forgetting(candidates, policy, NOW, pinned=["keep"]) == ["key:fact"]


def test_unknown_policy_keys_are_refused():
    with pytest.raises(ValueError, match="max_age"):
        ForgetPolicy.model_validate({"max_age": 3})
