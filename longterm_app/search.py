"""Search over long-term memory: filter-only listing, semantic, keyword and hybrid modes."""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import replace
from typing import Any, TypeVar

import numpy as np

from longterm_app.index import INDEX_NAME, namespace_index
from longterm_app.queries import (
    WITHIN_RADIUS,
    filter_query,
    keyword_query,
    knn_query,
    neighbours_query,
    range_query,
    single_namespace,
    text_match,
    text_terms,
    within_namespace,
)
from longterm_app.ranking import (
    NEIGHBOUR_POOL,
    Ranked,
    convex_fuse,
    keyword_strength,
    neighbour_places,
    normalised,
    recency_reranked,
    session_boosted,
    with_neighbours,
)
from longterm_app.repository import Hit, MemoryStore, SearchCall
from longterm_app.schemas import MemoryHit, SearchRequest, SearchResult, TotalKind
from providers.embeddings import Embedder

RECENCY_POOL = 50
HYBRID_POOL = 50
MAX_POOL = 1000
# How RediSearch combines a filter with the vector search (HYBRID_POLICY), chosen by cost:
# comparing the query with every filtered memory (ADHOC_BF) costs about 0.55 us per match;
# walking the HNSW graph in batches (BATCHES) visits about k x indexed / matches vectors at
# about 0.9 us each, after a fixed 100 us + 1 us per result. Measured on RediSearch 2.10 at
# 10,000 memories (5-93% of them matching, k 10-1000) with the query embedded by the local
# model just before, as in a real search: the model's run leaves the memories' vectors out
# of the CPU cache, which doubles brute force's cost per match against a warm benchmark.
# Brute force wins below about a tenth of the index for k = 50, and about half for k = 1000.
# It is also exact, where the graph misses about 1 in 2,000 of the true 10 nearest (LoCoMo's
# conversations, EF_RUNTIME 128): so it is kept while it costs under half a millisecond
# (about 900 matches), as for one user's memories or a small tenant.
BRUTE_FORCE_US_PER_MATCH = 0.55
GRAPH_US_PER_VISIT = 0.9
GRAPH_US_FIXED = 100.0
GRAPH_US_PER_RESULT = 1.0
EXACT_BUDGET_US = 500.0
T = TypeVar("T")


def hybrid_policy(matches: int, indexed: int, k: int) -> str:
    """How to find the k nearest of `matches` filtered memories among `indexed`: the cheaper
    way, but brute force (exact) while it costs under EXACT_BUDGET_US."""
    brute_force = BRUTE_FORCE_US_PER_MATCH * matches
    graph = GRAPH_US_PER_VISIT * k * indexed / max(matches, 1) + GRAPH_US_FIXED + GRAPH_US_PER_RESULT * k
    return "ADHOC_BF" if brute_force <= max(graph, EXACT_BUDGET_US) else "BATCHES"


class RecentSizes:
    """Index sizes counted in the last `max_age` seconds, for the newest `capacity` indexes.

    Counting every memory of an index (FT.SEARCH "*" LIMIT 0 0) costs Redis about 0.3 ms at
    10,000 memories, a third of a filtered search's Redis time; the KNN plan only needs
    the size roughly (hybrid_policy), so a search reuses a recent count.
    """

    def __init__(
        self, max_age: float = 5.0, capacity: int = 4096, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.max_age = max_age
        self.capacity = capacity
        self.clock = clock
        self._sizes: OrderedDict[str, tuple[float, int]] = OrderedDict()

    def get(self, index: str) -> int | None:
        counted = self._sizes.get(index)
        if counted is None or self.clock() - counted[0] > self.max_age:
            return None
        return counted[1]

    def put(self, index: str, size: int) -> None:
        self._sizes.pop(index, None)  # re-added as the newest
        self._sizes[index] = (self.clock(), size)
        while len(self._sizes) > self.capacity:
            self._sizes.popitem(last=False)

    def clear(self) -> None:
        self._sizes.clear()


INDEX_SIZES = RecentSizes()


def _ranked(hits: list[Hit], use_score: bool) -> list[Ranked]:
    ranked = []
    for hit in hits:
        score = (hit.score or 0.0) if use_score else 1.0 - (hit.dist or 0.0)
        ranked.append(Ranked.stored(hit.key, hit.record, score, hit.dist))
    return ranked


class Searcher:
    """Runs one search request: builds the FT.SEARCH calls, ranks, pages."""

    def __init__(
        self, store: MemoryStore, embedder: Embedder, request: SearchRequest, own_index: bool = True
    ) -> None:
        self.store = store
        self.embedder = embedder
        self.request = request
        self.window = request.offset + request.limit
        self.more_neighbours = False
        # A search within one namespace runs on that namespace's own index: the tenant's own
        # keyword statistics, and a vector search over the tenant's memories only. Without
        # `own_index` (a namespace that holds nothing) it runs on the shared index.
        namespace = single_namespace(request) if own_index else None
        self.index = INDEX_NAME if namespace is None else namespace_index(namespace)
        # The filters of the Redis queries (the request's, less what the index implies).
        self.filters = request if namespace is None else within_namespace(request, namespace)
        # Candidates to rank: the requested window, or more when re-ranking may reorder them.
        reranked = request.recency_boost or request.session_context
        self.pool = max(self.window, RECENCY_POOL if reranked else 0)
        if request.search_mode == "hybrid":
            self.pool = max(self.pool, HYBRID_POOL, min(3 * self.window, MAX_POOL))

    def _call(self, query: str, **options: Any) -> SearchCall:
        return SearchCall(query, index=self.index, **options)

    async def run(self, now: float) -> tuple[SearchResult, list[str]]:
        """The page of results, and the keys of its memories (to mark them accessed)."""
        request = self.request
        if request.text.strip():
            total, page = await self._ranked_page(now)
        else:
            total, page = await self._listing()
        memories = [
            MemoryHit.model_construct(**item.record.__dict__, dist=item.dist, score=item.score)
            for item in page
        ]
        next_offset = self.window if self.window < total or self.more_neighbours else None
        result = SearchResult(
            memories=memories, total=total, total_counts=self._total_kind(), next_offset=next_offset
        )
        return result, [i.key for i in page]

    def _total_kind(self) -> TotalKind:
        request = self.request
        if not request.text.strip() or request.search_mode == "keyword":
            return "matching"
        return "searched" if request.distance_threshold is None else "within_distance"

    async def _ranked_page(self, now: float) -> tuple[int, list[Ranked]]:
        request = self.request
        vector = None
        if request.search_mode == "keyword":
            total, ranked = await self._keyword()
        else:
            vector, ranked, total = await self._by_vector()
        if request.session_context and ranked:
            ranked = await self._in_session_context(ranked, vector)
            # Neighbours that joined count too: a keyword search's matches may be fewer.
            total = max(total, len(ranked))
        ranked = normalised(ranked)
        if request.recency_boost:  # needs every candidate's true last access
            ranked = recency_reranked(await self._with_access(ranked), request, now)
        page = ranked[request.offset : self.window]
        # Recency ranking already read every candidate's access statistics.
        return total, await self._completed(page, vector, access=not request.recency_boost)

    async def _in_session_context(self, ranked: list[Ranked], vector: np.ndarray | None) -> list[Ranked]:
        """Session boost, then the best hits' neighbouring memories (one more search call for
        those not among the candidates yet, and only those that could reach the page). With a
        `distance_threshold`, a neighbour joins only from within it, as every result does."""
        ranked = session_boosted(ranked)
        # Recency re-ranking may lift any candidate into the page: then every neighbour counts.
        reach_page = not self.request.recency_boost and len(ranked) >= self.window
        floor = ranked[self.window - 1].score if reach_page else 0.0
        threshold = self.request.distance_threshold
        radius = {} if vector is None or threshold is None else {"vector": _blob(vector), "radius": threshold}
        places = neighbour_places(ranked, floor)
        # Neighbours left out here may join a later page: the answer then offers one.
        self.more_neighbours = len(neighbour_places(ranked)) > len(places)
        query = neighbours_query(places, self.filters, within_radius=bool(radius))
        if query is None:
            return with_neighbours(ranked, [])
        (page,) = await self.store.search([self._call(query, limit=2 * NEIGHBOUR_POOL, **radius)])
        return with_neighbours(ranked, _ranked(page.hits, use_score=True))

    async def _listing(self) -> tuple[int, list[Ranked]]:
        """No query text: the filters' matches, newest first, paged by Redis."""
        call = self._call(
            filter_query(self.filters),
            offset=self.request.offset,
            limit=self.request.limit,
            sort_by=("created_at", "DESC"),
        )
        (page,) = await self.store.search([call])
        ranked = [item.rescored(0.0) for item in _ranked(page.hits, use_score=True)]
        return page.total, await self._with_access(ranked)

    async def _with_access(self, items: list[Ranked]) -> list[Ranked]:
        return await self._completed(items, None, access=True)

    async def _completed(self, items: list[Ranked], vector: np.ndarray | None, access: bool) -> list[Ranked]:
        """The items with their access statistics (when `access`) and, when a query vector is
        given, a distance for those the vector search did not reach (keyword-only hits and
        session neighbours), computed from their stored vectors: one round trip for both."""
        missing = [item.key for item in items if item.dist is None] if vector is not None else []
        access_keys = [item.key for item in items] if access else []
        stats, vectors = await self.store.access_and_vectors(access_keys, missing)
        completed = []
        for item in items:
            if item.key in stats:
                item = item.accessed(stats[item.key])
            if item.key in vectors and vector is not None:
                item = replace(item, dist=float(1.0 - np.dot(vectors[item.key], vector)))
            completed.append(item)
        return completed

    async def _keyword(self) -> tuple[int, list[Ranked]]:
        query = keyword_query(text_terms(self.request.text), self.filters)
        if query is None:
            return 0, []
        (page,) = await self.store.search([self._call(query, limit=self.pool, keyword_scores=True)])
        return page.total, convex_fuse([], _ranked(page.hits, use_score=True), alpha=0.0)

    async def _by_vector(self) -> tuple[np.ndarray, list[Ranked], int]:
        """Semantic or hybrid. What needs no vector runs in Redis while the text is embedded:
        the count of the filters' matches and, in hybrid mode, the keyword search."""
        request = self.request
        counted = request.distance_threshold is None  # else matches are counted within the radius
        hybrid = request.search_mode == "hybrid"
        vector, counts, (lexical, strength) = await asyncio.gather(
            self.embedder.aembed_query(request.text),
            self._filter_counts() if counted else _nothing(None),
            self._lexical() if hybrid else _nothing(([], 1.0)),
        )
        policy = None
        if counts is not None:
            matches, indexed = counts
            if not matches:
                return vector, [], 0
            policy = hybrid_policy(matches, indexed, self.pool)
        calls = [self._vector_call(vector, policy)]
        if (threshold := request.distance_threshold) is not None:
            calls.append(self._radius_count_call(vector, threshold, with_words=hybrid))
        pages = await self.store.search(calls)
        total = pages[-1].total if counts is None else counts[0]
        semantic = _ranked(pages[0].hits, use_score=False)
        if not hybrid:
            return vector, convex_fuse(semantic, [], alpha=1.0), total
        return vector, convex_fuse(semantic, lexical, request.hybrid_alpha, strength), total

    async def _filter_counts(self) -> tuple[int, int]:
        """(memories matching the filters, memories in the index, as of a few seconds ago:
        only the KNN plan depends on it), in one round trip."""
        query = filter_query(self.filters)
        size = None if query == "*" else INDEX_SIZES.get(self.index)
        calls = [self._call(query, limit=0)] + (
            [self._call("*", limit=0)] if query != "*" and size is None else []
        )
        pages = await self.store.search(calls)
        if size is None:
            size = pages[-1].total
            INDEX_SIZES.put(self.index, size)
        return pages[0].total, size

    async def _lexical(self) -> tuple[list[Ranked], float]:
        """The keyword side of hybrid search: its hits, and how strong its best one is given
        how rare each query word is in the index (one round trip)."""
        terms = text_terms(self.request.text)
        keyword = keyword_query(terms, self.filters)
        if keyword is None:
            return [], 1.0
        counts = [self._call(f"@text:{term}", limit=0) for term in terms]
        search = self._call(keyword, limit=self.pool, keyword_scores=True)
        hits, *frequencies = await self.store.search([search, *counts, self._call("*", limit=0)])
        lexical = _ranked(hits.hits, use_score=True)
        if not lexical:
            return [], 1.0
        *found, indexed = (page.total for page in frequencies)
        return lexical, keyword_strength(max(item.score for item in lexical), indexed, found)

    def _vector_call(self, vector: np.ndarray, policy: str | None) -> SearchCall:
        blob = _blob(vector)
        threshold = self.request.distance_threshold
        if threshold is None:
            query = knn_query(self.filters, self.pool, policy)
            return self._call(query, limit=self.pool, vector=blob, sort_by=("dist", "ASC"))
        return self._call(
            range_query(self.filters), limit=self.pool, vector=blob, radius=threshold, sort_by=("dist", "ASC")
        )

    def _radius_count_call(self, vector: np.ndarray, threshold: float, with_words: bool) -> SearchCall:
        """Counts the filtered memories within the radius (or matching a query word, in hybrid mode)."""
        within = WITHIN_RADIUS
        words = text_match(self.request.text) if with_words else None
        match = f"(({within}) | ({words}))" if words else f"({within})"
        base = filter_query(self.filters)
        query = match if base == "*" else f"{match} {base}"
        return self._call(query, limit=0, vector=_blob(vector), radius=threshold)


def _blob(vector: np.ndarray) -> bytes:
    return vector.astype(np.float32).tobytes()


async def _nothing(value: T) -> T:
    return value
