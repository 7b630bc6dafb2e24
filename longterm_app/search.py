"""Search over long-term memory: filter-only listing, semantic, keyword and hybrid modes."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from longterm_app.queries import filter_query, keyword_query, knn_query, range_query, text_match
from longterm_app.ranking import Ranked, fuse, normalised, recency_reranked
from longterm_app.records import MemoryRecord
from longterm_app.repository import Hit, MemoryStore, SearchCall
from longterm_app.schemas import MemoryHit, SearchRequest, SearchResult
from memoryserver.embeddings import Embedder

RECENCY_POOL = 50
HYBRID_POOL = 50
MAX_POOL = 1000


def _ranked(hits: list[Hit], use_score: bool) -> list[Ranked]:
    ranked = []
    for hit in hits:
        score = (hit.score or 0.0) if use_score else 1.0 - (hit.dist or 0.0)
        ranked.append(Ranked(hit.key, MemoryRecord.model_validate_json(hit.record), score, hit.dist))
    return ranked


class Searcher:
    """Runs one search request: builds the FT.SEARCH calls, ranks, pages."""

    def __init__(self, store: MemoryStore, embedder: Embedder, request: SearchRequest) -> None:
        self.store = store
        self.embedder = embedder
        self.request = request
        self.window = request.offset + request.limit
        # Candidates to rank: the requested window, or more when re-ranking may reorder them.
        self.pool = max(self.window, RECENCY_POOL if request.recency_boost else 0)

    async def run(self, now: float) -> tuple[SearchResult, list[str]]:
        """The page of results, and the keys of its memories (to mark them accessed)."""
        request = self.request
        if not request.text.strip():
            total, page = await self._listing()
        else:
            if request.search_mode == "keyword":
                total, ranked = await self._keyword()
            else:
                vector = (await self.embedder.aembed_many([request.text]))[0]
                if request.search_mode == "semantic":
                    total, ranked = await self._semantic(vector)
                else:
                    total, ranked = await self._hybrid(vector)
            if request.recency_boost:
                ranked = recency_reranked(ranked, request, now)
            page = ranked[request.offset : self.window]
            if request.search_mode == "hybrid":
                page = await self._with_distances(page, vector)
        memories = [MemoryHit(**item.record.model_dump(), dist=item.dist, score=item.score) for item in page]
        next_offset = self.window if self.window < total else None
        return SearchResult(memories=memories, total=total, next_offset=next_offset), [i.key for i in page]

    async def _listing(self) -> tuple[int, list[Ranked]]:
        """No query text: the filters' matches, newest first, paged by Redis."""
        call = SearchCall(
            filter_query(self.request),
            offset=self.request.offset,
            limit=self.request.limit,
            sort_by=("created_at", "DESC"),
        )
        (page,) = await self.store.search([call])
        return page.total, [replace(item, score=0.0) for item in _ranked(page.hits, use_score=True)]

    async def _keyword(self) -> tuple[int, list[Ranked]]:
        query = keyword_query(self.request.text, self.request)
        if query is None:
            return 0, []
        (page,) = await self.store.search([SearchCall(query, limit=self.pool, keyword_scores=True)])
        return page.total, normalised(_ranked(page.hits, use_score=True))

    def _vector_call(self, vector: np.ndarray, limit: int) -> SearchCall:
        blob = vector.astype(np.float32).tobytes()
        threshold = self.request.distance_threshold
        if threshold is None:
            return SearchCall(
                knn_query(self.request, limit), limit=limit, vector=blob, sort_by=("dist", "ASC")
            )
        return SearchCall(
            range_query(self.request), limit=limit, vector=blob, radius=threshold, sort_by=("dist", "ASC")
        )

    def _count_call(self, vector: np.ndarray, with_words: bool) -> SearchCall:
        """Counts every match: all filtered memories for KNN (which itself reports only K),
        those within the radius (or matching a query word, in hybrid mode) with a threshold."""
        threshold = self.request.distance_threshold
        if threshold is None:
            return SearchCall(filter_query(self.request), limit=0)
        within = "@embedding:[VECTOR_RANGE $radius $vector]"
        words = text_match(self.request.text) if with_words else None
        match = f"(({within}) | ({words}))" if words else f"({within})"
        base = filter_query(self.request)
        query = match if base == "*" else f"{match} {base}"
        blob = vector.astype(np.float32).tobytes()
        return SearchCall(query, limit=0, vector=blob, radius=threshold)

    async def _semantic(self, vector: np.ndarray) -> tuple[int, list[Ranked]]:
        search, count = await self.store.search(
            [self._vector_call(vector, self.pool), self._count_call(vector, with_words=False)]
        )
        return count.total, _ranked(search.hits, use_score=False)

    async def _hybrid(self, vector: np.ndarray) -> tuple[int, list[Ranked]]:
        pool = max(self.pool, HYBRID_POOL, min(3 * self.window, MAX_POOL))
        keyword = keyword_query(self.request.text, self.request)
        calls = [self._vector_call(vector, pool), self._count_call(vector, with_words=True)]
        if keyword is not None:
            calls.append(SearchCall(keyword, limit=pool, keyword_scores=True))
        pages = await self.store.search(calls)
        semantic = _ranked(pages[0].hits, use_score=False)
        lexical = _ranked(pages[2].hits, use_score=True) if keyword is not None else []
        return pages[1].total, normalised(fuse(semantic, lexical, self.request.hybrid_alpha))

    async def _with_distances(self, page: list[Ranked], vector: np.ndarray) -> list[Ranked]:
        """Keyword-only hits have no distance from the vector search: compute it from their vectors."""
        missing = [item.key for item in page if item.dist is None]
        if not missing:
            return page
        vectors = await self.store.vectors(missing)
        return [
            replace(item, dist=float(1.0 - np.dot(vectors[item.key], vector)))
            if item.dist is None and item.key in vectors
            else item
            for item in page
        ]
