"""Policy-driven forgetting: which memories a retention policy lets go (pure functions, no I/O).

A policy names limits, every one optional:

- `max_age_days`: memories created longer ago are forgotten;
- `max_inactive_days`: memories not found by a search for longer are forgotten;
- with both, a memory goes only when it is past both limits, or older than
  `max_age_days * hard_age_multiplier` (12) whatever its use: old but useful memories stay;
- `budget`: of the memories no limit removed, keep this many, freshest first (recency of
  access and creation, as the search's recency re-ranking weighs them), forget the rest;
- `memory_type_allowlist`: only memories of these types may be forgotten at all.

Pinned ids are never forgotten. An empty policy forgets nothing.
"""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import BaseModel, ConfigDict, Field

from longterm_app.records import MemoryRecord, MemoryType

SECONDS_PER_DAY = 86_400.0
# How fresh a memory is for the budget: half-lives of last access and creation, and their weights.
BUDGET_HALF_LIFE_ACCESS_DAYS = 7.0
BUDGET_HALF_LIFE_CREATED_DAYS = 30.0
BUDGET_FRESHNESS_WEIGHT = 0.6
BUDGET_NOVELTY_WEIGHT = 0.4


class ForgetPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid")

    max_age_days: float | None = Field(None, ge=0, description="Forget memories created longer ago.")
    max_inactive_days: float | None = Field(None, ge=0, description="Forget memories unused for longer.")
    budget: int | None = Field(None, ge=0, description="Keep at most this many of the rest, freshest first.")
    memory_type_allowlist: list[MemoryType] | None = Field(
        None, description="Only memories of these types may be forgotten."
    )
    hard_age_multiplier: float = Field(
        12.0, gt=0, description="With both limits, memories older than max_age_days times this always go."
    )


def _days(now: float, moment: float) -> float:
    return max(0.0, now - moment) / SECONDS_PER_DAY


def _expired(record: MemoryRecord, policy: ForgetPolicy, now: float) -> bool:
    age, inactive = _days(now, record.created_at), _days(now, record.last_accessed)
    max_age, max_inactive = policy.max_age_days, policy.max_inactive_days
    if max_age is not None and max_inactive is not None:
        return age > max_age * policy.hard_age_multiplier or (age > max_age and inactive > max_inactive)
    return (max_age is not None and age > max_age) or (max_inactive is not None and inactive > max_inactive)


def freshness(record: MemoryRecord, now: float) -> float:
    """0..1: recently used and recently created memories score higher."""
    accessed = 0.5 ** (_days(now, record.last_accessed) / BUDGET_HALF_LIFE_ACCESS_DAYS)
    created = 0.5 ** (_days(now, record.created_at) / BUDGET_HALF_LIFE_CREATED_DAYS)
    return BUDGET_FRESHNESS_WEIGHT * accessed + BUDGET_NOVELTY_WEIGHT * created


def select_for_forgetting(
    candidates: Iterable[tuple[str, MemoryRecord]],
    policy: ForgetPolicy,
    now: float,
    pinned: Iterable[str] = (),
) -> list[str]:
    """Keys of the (key, record) candidates the policy forgets, in the order they came."""
    keep = set(pinned)
    allowed = set(policy.memory_type_allowlist) if policy.memory_type_allowlist is not None else None
    forgotten: list[str] = []
    budgeted: list[tuple[str, MemoryRecord]] = []
    for key, record in candidates:
        if record.id in keep or (allowed is not None and record.memory_type not in allowed):
            continue
        if _expired(record, policy, now):
            forgotten.append(key)
        else:
            budgeted.append((key, record))
    if policy.budget is not None and len(budgeted) > policy.budget:
        ranked = sorted(budgeted, key=lambda item: freshness(item[1], now), reverse=True)
        over = {key for key, _ in ranked[policy.budget :]}
        forgotten.extend(key for key, _ in budgeted if key in over)
    return forgotten
