"""Ranking of search candidates: hybrid rank fusion and recency re-ranking (pure functions)."""

from __future__ import annotations

from dataclasses import dataclass, replace

from longterm_app.records import MemoryRecord
from longterm_app.schemas import SearchRequest

# A small k lets the top of each list count; k=60 let semantic rank 50 outweigh keyword rank 1.
RRF_K = 10
SECONDS_PER_DAY = 86_400.0


@dataclass(frozen=True)
class Ranked:
    key: str
    record: MemoryRecord
    score: float
    dist: float | None


def fuse(semantic: list[Ranked], keyword: list[Ranked], alpha: float) -> list[Ranked]:
    """Weighted reciprocal-rank fusion: alpha weighs the semantic ranking, 1 - alpha the keyword one.

    Rank fusion needs no score calibration between cosine distances and BM25, which
    live on unrelated scales.
    """
    scores: dict[str, float] = {}
    items: dict[str, Ranked] = {}
    for weight, ranking in ((alpha, semantic), (1 - alpha, keyword)):
        for rank, item in enumerate(ranking):
            scores[item.key] = scores.get(item.key, 0.0) + weight / (RRF_K + rank + 1)
            items.setdefault(item.key, item)
    ordered = sorted(scores, key=lambda key: scores[key], reverse=True)
    return [replace(items[key], score=scores[key]) for key in ordered]


def normalised(ranked: list[Ranked]) -> list[Ranked]:
    """Scale scores to 0..1 by the best one, so recency weights mean the same in every mode."""
    best = max((r.score for r in ranked), default=0.0)
    if best <= 0:
        return ranked
    return [replace(r, score=r.score / best) for r in ranked]


def recency_reranked(ranked: list[Ranked], request: SearchRequest, now: float) -> list[Ranked]:
    """Blend relevance with freshness (last access) and novelty (creation), each halving per half-life."""

    def blended(item: Ranked) -> float:
        access_days = max(0.0, now - item.record.last_accessed) / SECONDS_PER_DAY
        created_days = max(0.0, now - item.record.created_at) / SECONDS_PER_DAY
        freshness = 0.5 ** (access_days / request.recency_half_life_last_access_days)
        novelty = 0.5 ** (created_days / request.recency_half_life_created_days)
        recency = request.recency_freshness_weight * freshness + request.recency_novelty_weight * novelty
        return request.recency_semantic_weight * item.score + request.recency_recency_weight * recency

    rescored = [replace(item, score=blended(item)) for item in normalised(ranked)]
    return sorted(rescored, key=lambda item: item.score, reverse=True)
