"""Ranking rules, as pure functions: fusion, session context, query words."""

from __future__ import annotations

from longterm_app.queries import neighbours_query, single_namespace, text_terms
from longterm_app.ranking import Ranked, convex_fuse, neighbour_places, session_boosted, with_neighbours
from longterm_app.records import AccessStats, MemoryRecord
from longterm_app.schemas import SearchRequest


def hit(
    key: str, score: float = 0.0, dist: float | None = None, session: str | None = "s", seq: int | None = None
) -> Ranked:
    record = MemoryRecord(id=key, text=key, namespace="n", session_id=session, session_seq=seq)
    return Ranked.of_record(key, record, score, dist)


def order(ranked: list[Ranked]) -> list[str]:
    return [item.key for item in ranked]


def test_question_words_and_function_words_do_not_drive_keyword_matching():
    assert text_terms("What did Caroline research last May?") == ["caroline", "research", "last", "may"]
    assert text_terms("May I ask where it was? Did Grace go in May?") == ["ask", "grace", "go", "may"]
    assert text_terms("Where was it?") == []
    assert text_terms("When is Melanie's pottery class, and when is it?") == ["melanie", "pottery", "class"]


def test_convex_fusion_keeps_score_margins_that_rank_fusion_loses():
    semantic = [hit("a", dist=0.10), hit("b", dist=0.11), hit("c", dist=0.60)]
    keyword = [hit("c", score=9.0), hit("b", score=5.0), hit("d", score=1.0)]
    fused = {item.key: round(item.score, 6) for item in convex_fuse(semantic, keyword, alpha=0.4)}
    # b is nearly the best on both sides; a has no keyword match, d no similarity.
    assert fused == {"b": 0.692, "c": 0.6, "a": 0.4, "d": 0.0}
    assert order(convex_fuse(semantic, keyword, alpha=1.0))[:3] == ["a", "b", "c"]


def test_a_memory_gains_a_share_of_the_best_other_hit_of_its_session():
    ranked = [hit("x", 1.0, session="s1"), hit("y", 0.5, session="s2"), hit("z", 0.45, session="s1")]
    boosted = session_boosted(ranked, share=0.3)
    assert order(boosted) == ["x", "z", "y"]
    scores = {item.key: round(item.score, 6) for item in boosted}
    assert scores == {"x": 1.135, "z": 0.75, "y": 0.5}  # x gains from z, z from x, y has no other


def test_memories_without_a_session_are_not_boosted():
    ranked = [hit("x", 1.0, session=None), hit("y", 0.5, session=None)]
    assert [item.score for item in session_boosted(ranked)] == [1.0, 0.5]


def test_the_turn_next_to_a_strong_hit_gains_and_may_enter():
    ranked = [hit("q", 1.0, seq=5), hit("far", 0.6, seq=9)]
    neighbours = [hit("answer", seq=6), hit("before", seq=4), hit("other-session", session="t", seq=6)]
    result = {item.key: round(item.score, 6) for item in with_neighbours(ranked, neighbours, share=0.5)}
    assert result == {"q": 1.0, "far": 0.6, "answer": 0.5, "before": 0.5, "other-session": 0.0}


def test_neighbours_are_looked_up_within_the_filters():
    request = SearchRequest(text="x", namespace={"eq": "n"}, user_id={"eq": "u"})
    places = neighbour_places([hit("a", 1.0, seq=3), hit("b", 1.0, session=None), hit("c", 1.0, seq=None)])
    assert places == [("s", 2), ("s", 4)]  # only hits with a place in a session
    query = neighbours_query(places, request)
    assert query is not None
    assert "@session_id:{s} @session_seq:[2 2]" in query and "@user_id:{u}" in query
    assert neighbours_query([], request) is None


def test_only_neighbours_that_are_missing_and_could_reach_the_page_are_looked_up():
    ranked = [hit("a", 1.0, seq=3), hit("b", 0.9, seq=4), hit("c", 0.5, seq=9), hit("d", 0.3, seq=20)]
    # b (seq 4) is a candidate already; c's neighbours would score 0.25, under the floor 0.3.
    assert neighbour_places(ranked, floor=0.3, share=0.5) == [("s", 2), ("s", 5)]
    assert ("s", 8) in neighbour_places(ranked, floor=0.0, share=0.5)


def test_a_candidate_next_to_a_strong_hit_gains_without_a_lookup():
    ranked = [hit("q", 1.0, seq=5), hit("next", 0.2, seq=6)]
    result = {item.key: round(item.score, 6) for item in with_neighbours(ranked, [], share=0.5)}
    assert result == {"q": 1.1, "next": 0.7}  # each gains half of the other's score


def test_a_stored_candidate_is_ranked_from_its_json_and_validated_only_when_returned():
    raw = b'{"id": "m", "text": "hi", "namespace": "n", "session_id": "s", "session_seq": 4, "created_at": 5}'
    item = Ranked.stored("k", raw, 0.5, 0.1)
    assert item.facts.session_id == "s" and item.facts.session_seq == 4 and item.facts.created_at == 5.0
    assert "record" not in item.__dict__  # not validated yet
    assert item.record.id == "m" and item.record.session_seq == 4


def test_a_search_confined_to_one_namespace_is_recognised():
    assert single_namespace(SearchRequest(text="x", namespace={"eq": "a"})) == "a"
    assert single_namespace(SearchRequest(text="x", namespace={"any": ["a"]})) == "a"
    assert single_namespace(SearchRequest(text="x", namespace={"any": ["a", "b"], "eq": "b"})) == "b"
    assert single_namespace(SearchRequest(text="x", namespace={"any": ["a", "b"]})) is None
    assert single_namespace(SearchRequest(text="x")) is None


def test_side_access_statistics_rank_at_once_and_reach_the_record_only_when_it_is_read():
    stored = MemoryRecord(id="m", text="m", namespace="n", access_count=2, last_accessed=100.0)
    candidate = Ranked.stored("k", stored.model_dump_json().encode(), 0.5, 0.2)
    accessed = candidate.accessed(AccessStats(3, 500.0))
    assert accessed.facts.last_accessed == 500.0  # recency ranking sees the true last access
    assert "record" not in accessed.__dict__  # the stored JSON is not parsed to rank it
    assert (accessed.record.access_count, accessed.record.last_accessed) == (5, 500.0)
    # An older side time never moves the last access back; the count still adds up.
    older = candidate.accessed(AccessStats(1, 50.0))
    assert older.facts.last_accessed == older.record.last_accessed == 100.0
    assert older.record.access_count == 3
    assert accessed.rescored(0.9).record.access_count == 5
