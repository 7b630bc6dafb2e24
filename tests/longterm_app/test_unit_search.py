"""search_memories called directly (no HTTP) on the test Redis with the local embedder: each
mode finds what it is for, filters hold whatever their values, and pages add up."""

from __future__ import annotations

from typing import Any

import pytest

from longterm_app.schemas import CreateMemoriesRequest, SearchRequest, SearchResult
from longterm_app.services import BackgroundWork, create_memories, search_memories
from memoryserver.auth.principal import ANONYMOUS_DEVELOPER
from providers.embeddings import get_embedder
from tests.longterm_app.stores import in_store

MEMORIES: list[dict[str, Any]] = [
    {"id": "dog", "text": "The user adopted a beagle named Pepper from the shelter", "topics": ["pets"]},
    {"id": "nurse", "text": "The user's sister works as a nurse in Lisbon", "topics": ["family"]},
    {"id": "marathon", "text": "The user trains for the Berlin marathon in September", "user_id": "u2"},
    {"id": "pottery", "text": "The user takes a pottery class on Thursday evenings", "topics": ["hobbies"]},
    {"id": "vinyl", "text": "The user keeps an old zarzuela recording on vinyl", "topics": ["music"]},
]


async def _no_background(records: list[Any]) -> Any:
    raise AssertionError("a small create queues no indexing")


async def _no_tagging(records: list[Any]) -> None:
    return None


def store(*memories: dict[str, Any]) -> None:
    request = CreateMemoriesRequest.model_validate({"memories": list(memories)})
    work = BackgroundWork(indexing=_no_background, tagging=_no_tagging)
    in_store(lambda s: create_memories(s, get_embedder(), ANONYMOUS_DEVELOPER, request, work))


def search(**body: Any) -> SearchResult:
    request = SearchRequest.model_validate(body)
    return in_store(lambda s: search_memories(s, get_embedder(), ANONYMOUS_DEVELOPER, request))


def ids(result: SearchResult) -> list[str]:
    return [memory.id for memory in result.memories]


@pytest.fixture
def stored(redis_client) -> None:
    store(*MEMORIES)


def test_semantic_search_finds_a_paraphrase_that_shares_no_word(stored):
    result = search(text="Which dog does the user have?", search_mode="semantic", limit=1)
    assert ids(result) == ["dog"]
    assert result.memories[0].dist is not None and result.memories[0].dist < 0.3


def test_keyword_search_finds_the_rare_word_and_nothing_else(stored):
    result = search(text="zarzuela", search_mode="keyword")
    assert ids(result) == ["vinyl"] and result.total == 1 and result.total_counts == "matching"


def test_a_keyword_search_of_only_question_words_finds_nothing(stored):
    result = search(text="What was it?", search_mode="keyword")
    assert (ids(result), result.total, result.next_offset) == ([], 0, None)


def test_a_filter_holds_even_against_the_nearest_memory(stored):
    # The query is another user's memory word for word; only u2's memory may come back.
    result = search(text=MEMORIES[0]["text"], search_mode="semantic", user_id={"eq": "u2"})
    assert ids(result) == ["marathon"] and result.total == 1


def test_a_listing_pages_newest_first_without_gaps_or_repeats(redis_client):
    store(*({"id": f"m{i}", "text": f"memory number {i}", "created_at": 1_000 + i} for i in range(5)))
    pages = [search(limit=2, offset=offset) for offset in (0, 2, 4)]
    assert [ids(page) for page in pages] == [["m4", "m3"], ["m2", "m1"], ["m0"]]
    assert [page.next_offset for page in pages] == [2, 4, None]
    assert {page.total for page in pages} == {5}


def test_a_ranked_search_pages_its_ranking_without_gaps_or_repeats(stored):
    whole = ids(search(text="the user", search_mode="semantic", limit=5))
    pages = [search(text="the user", search_mode="semantic", limit=2, offset=o) for o in (0, 2, 4)]
    assert [i for page in pages for i in ids(page)] == whole


@pytest.mark.parametrize(
    "hostile",
    [
        "a}|@topics:{b",
        "*",
        "a|b",
        "-plain",
        "(plain)",
        '"plain"',
        "back\\slash",
        "café ü",
        "$vector",
        "😀",
        "a\u00a0b",
        "a\u3000b",
        "x\u2028y",
        "n\u0085l",
        "\uff41\uff5c\uff42",  # fullwidth "a|b"
    ],
)
def test_a_hostile_tag_value_matches_only_the_memory_that_holds_it(redis_client, hostile):
    store(
        {"id": "hostile", "text": "first", "topics": [hostile]},
        {"id": "plain", "text": "second", "topics": ["plain"]},
        {"id": "b", "text": "third", "topics": ["b", "a"]},
    )
    assert ids(search(topics={"eq": hostile})) == ["hostile"]
    assert ids(search(topics={"ne": hostile}, limit=10)) == ["b", "plain"]
    assert ids(search(text="first", search_mode="keyword", topics={"any": [hostile]})) == ["hostile"]


def test_query_syntax_in_a_keyword_search_is_searched_as_words(stored):
    # Neither a negation nor a wildcard nor a field clause: three words, of which one is stored.
    result = search(text="* | -zarzuela @topics:{pets}", search_mode="keyword", limit=10)
    assert ids(result) == ["vinyl"]


@pytest.mark.parametrize("filters", [{}, {"topics": {"any": ["pets", "family", "music"]}}])
def test_every_vector_plan_finds_the_same_nearest_memories(stored, monkeypatch, filters):
    # Small indexes always take brute force: force each plan, the graph's EF_RUNTIME included,
    # through the real RediSearch, and compare with the exact answer.
    from longterm_app import search as planner

    found, planned = {}, []
    for policy in ("ADHOC_BF", "BATCHES"):

        def forced(matches: int, indexed: int, k: int, chosen: str = policy) -> str:
            planned.append(chosen)
            return chosen

        monkeypatch.setattr(planner, "hybrid_policy", forced)
        found[policy] = ids(search(text="a pet dog", search_mode="semantic", limit=3, **filters))
    assert planned == ["ADHOC_BF", "BATCHES"]
    assert found["BATCHES"] == found["ADHOC_BF"] and found["ADHOC_BF"][0] == "dog"
