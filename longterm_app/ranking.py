"""Ranking of search candidates (pure functions): fusion of the semantic and keyword lists,
session context, recency.

Measured on the LoCoMo recall benchmark through the API (bench/locomo_recall.py), each step
adds to hybrid recall@10; see README "How search ranks".
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Any, NamedTuple

import orjson

from longterm_app.records import AccessStats, MemoryRecord
from longterm_app.schemas import SearchRequest

SECONDS_PER_DAY = 86_400.0
# Session context: a memory shares in the best score of another hit of its session, and a
# memory written just before or after a strong hit in its session shares in that hit's score.
SESSION_SHARE = 0.3
NEIGHBOUR_SHARE = 0.5
NEIGHBOUR_POOL = 50


class RankFacts(NamedTuple):
    """What ranking reads of a memory."""

    namespace: str | None
    user_id: str | None
    session_id: str | None
    session_seq: int | None
    created_at: float
    last_accessed: float

    @classmethod
    def of(cls, fields: Any) -> RankFacts:
        """From a record's fields (a parsed stored JSON object or a MemoryRecord's __dict__)."""
        return cls(
            fields.get("namespace"),
            fields.get("user_id"),
            fields.get("session_id"),
            fields.get("session_seq"),
            float(fields.get("created_at") or 0.0),
            float(fields.get("last_accessed") or 0.0),
        )


@dataclass(frozen=True)
class Ranked:
    """A search candidate. Most candidates are ranked and dropped, so a stored one keeps its
    JSON and only what ranking reads; the full record is validated for the returned page only."""

    key: str
    source: bytes | MemoryRecord
    facts: RankFacts
    score: float
    dist: float | None
    # Search hits counted beside the stored record, added to `record`.
    access: AccessStats | None = None

    @classmethod
    def stored(cls, key: str, raw: bytes, score: float, dist: float | None) -> Ranked:
        return cls(key, raw, RankFacts.of(orjson.loads(raw)), score, dist)

    @classmethod
    def of_record(cls, key: str, record: MemoryRecord, score: float, dist: float | None) -> Ranked:
        return cls(key, record, RankFacts.of(record.__dict__), score, dist)

    @cached_property
    def record(self) -> MemoryRecord:
        source = self.source
        record = source if isinstance(source, MemoryRecord) else MemoryRecord.model_validate_json(source)
        return record if self.access is None else self.access.applied(record)

    def rescored(self, score: float) -> Ranked:
        """The same candidate with another score (keeping its parsed record, if any). Ranking
        rescores every candidate several times; this costs a fifth of dataclasses.replace."""
        copy = object.__new__(Ranked)
        copy.__dict__.update(self.__dict__, score=score)
        return copy

    def accessed(self, access: AccessStats) -> Ranked:
        """The candidate with its side access statistics; its record is still parsed only
        when asked for."""
        facts = self.facts._replace(last_accessed=max(self.facts.last_accessed, access.last))
        return replace(self, facts=facts, access=access)


def _min_max(items: list[Ranked], value: Callable[[Ranked], float]) -> dict[str, float]:
    """Each item's value scaled to 0..1 over the list (all equal: 1)."""
    if not items:
        return {}
    values = [value(item) for item in items]
    low, high = min(values), max(values)
    return {
        item.key: (v - low) / (high - low) if high > low else 1.0
        for item, v in zip(items, values, strict=True)
    }


def keyword_strength(best: float, indexed: int, frequencies: list[int]) -> float:
    """How strong the best keyword hit is, 0..1: its BM25 score against the sum of the query
    words' IDFs (about what a memory of average length holding each word once scores). A
    list whose best hit matched only words that half the memories hold is weak evidence,
    however min-max scaling stretches it."""
    ceiling = sum(
        math.log(1 + (indexed - found + 0.5) / (found + 0.5)) for found in frequencies if 0 < found <= indexed
    )
    return min(1.0, best / ceiling) if ceiling > 0 else 1.0


def convex_fuse(
    semantic: list[Ranked], keyword: list[Ranked], alpha: float, strength: float = 1.0
) -> list[Ranked]:
    """alpha x similarity + (1 - alpha) x strength x keyword score, each min-max scaled over its
    own list (a memory missing from a list scores 0 there), best first.

    Scores keep how much better one hit is than the next, which rank fusion throws away:
    measured, this finds more of the right memories than reciprocal-rank fusion.
    """
    dense = _min_max(semantic, lambda item: 1.0 - (item.dist or 0.0))
    lexical = {key: strength * value for key, value in _min_max(keyword, lambda item: item.score).items()}
    items = {item.key: item for item in keyword} | {item.key: item for item in semantic}
    scored = [
        item.rescored(alpha * dense.get(key, 0.0) + (1 - alpha) * lexical.get(key, 0.0))
        for key, item in items.items()
    ]
    return sorted(scored, key=lambda item: item.score, reverse=True)


def _session(facts: RankFacts) -> tuple[str | None, str | None, str] | None:
    if facts.session_id is None:
        return None
    return facts.namespace, facts.user_id, facts.session_id


def session_boosted(ranked: list[Ranked], share: float = SESSION_SHARE) -> list[Ranked]:
    """Each memory gains `share` of the best score of another hit from its session: what is
    talked about in one part of a conversation is more likely to concern its other parts."""
    best: dict[tuple[str | None, str | None, str], list[float]] = {}
    for item in ranked:
        session = _session(item.facts)
        if session is not None:
            top = best.setdefault(session, [0.0, 0.0])
            if item.score > top[0]:
                top[0], top[1] = item.score, top[0]
            elif item.score > top[1]:
                top[1] = item.score

    def boosted(item: Ranked) -> Ranked:
        session = _session(item.facts)
        if session is None:
            return item
        top = best[session]
        return item.rescored(item.score + share * (top[1] if item.score >= top[0] else top[0]))

    return sorted((boosted(item) for item in ranked), key=lambda item: item.score, reverse=True)


def _place(facts: RankFacts) -> tuple[tuple[str | None, str | None, str], int] | None:
    """(session, position in it) of a memory, when it has both."""
    session = _session(facts)
    return None if session is None or facts.session_seq is None else (session, facts.session_seq)


def with_neighbours(
    ranked: list[Ranked], neighbours: list[Ranked], share: float = NEIGHBOUR_SHARE
) -> list[Ranked]:
    """A memory written just before or after one of the best hits of its session gains `share`
    of that hit's score, entering the ranking if it was not in it: a question's answer is often
    the turn next to the one that matches its words."""
    next_to: dict[tuple[tuple[str | None, str | None, str], int], float] = {}
    for hit in ranked[:NEIGHBOUR_POOL]:
        place = _place(hit.facts)
        if place is not None:
            session, seq = place
            for near in ((session, seq - 1), (session, seq + 1)):
                next_to[near] = max(next_to.get(near, 0.0), hit.score)
    items = {item.key: item for item in ranked}
    for neighbour in neighbours:
        items.setdefault(neighbour.key, neighbour.rescored(0.0))

    def gained(item: Ranked) -> Ranked:
        place = _place(item.facts)
        best = next_to.get(place, 0.0) if place is not None else 0.0
        return item.rescored(item.score + share * best) if best else item

    return sorted((gained(item) for item in items.values()), key=lambda item: item.score, reverse=True)


def neighbour_places(
    ranked: list[Ranked], floor: float = 0.0, share: float = NEIGHBOUR_SHARE
) -> list[tuple[str, int]]:
    """(session_id, session_seq) of the memories next to the best hits that are not candidates
    yet but could rank above `floor` once they join: `with_neighbours` gives such a memory
    `share` of its neighbour's score, so only hits scoring above floor / share count. With
    `floor` the page's last score before neighbours (boosts only raise scores), the places
    left out could not have reached the page."""
    present = {place for item in ranked if (place := _place(item.facts)) is not None}
    wanted: dict[tuple[str, int], None] = {}
    for hit in ranked[:NEIGHBOUR_POOL]:
        place = _place(hit.facts)
        if place is None or share * hit.score <= floor:
            continue
        session, seq = place
        for near in (seq - 1, seq + 1):
            if (session, near) not in present:
                wanted[(session[2], near)] = None
    return list(wanted)


def normalised(ranked: list[Ranked]) -> list[Ranked]:
    """Scale scores to 0..1 by the best one, so recency weights mean the same in every mode."""
    best = max((r.score for r in ranked), default=0.0)
    if best <= 0:
        return ranked
    return [r.rescored(r.score / best) for r in ranked]


def recency_reranked(ranked: list[Ranked], request: SearchRequest, now: float) -> list[Ranked]:
    """Blend relevance with freshness (last access) and novelty (creation), each halving per half-life."""

    def blended(item: Ranked) -> float:
        access_days = max(0.0, now - item.facts.last_accessed) / SECONDS_PER_DAY
        created_days = max(0.0, now - item.facts.created_at) / SECONDS_PER_DAY
        freshness = 0.5 ** (access_days / request.recency_half_life_last_access_days)
        novelty = 0.5 ** (created_days / request.recency_half_life_created_days)
        recency = request.recency_freshness_weight * freshness + request.recency_novelty_weight * novelty
        return request.recency_semantic_weight * item.score + request.recency_recency_weight * recency

    rescored = [item.rescored(blended(item)) for item in normalised(ranked)]
    return sorted(rescored, key=lambda item: item.score, reverse=True)
