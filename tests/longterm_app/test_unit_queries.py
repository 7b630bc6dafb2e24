"""FT.SEARCH query strings from API filters (pure): escaping keeps every user value data, so
a filter can only narrow a search; operators combine as documented."""

from __future__ import annotations

import re
import string

import pytest

from longterm_app.queries import (
    MAX_TERMS,
    escape_tag,
    filter_query,
    ids_query,
    keyword_query,
    knn_query,
    neighbours_query,
    numeric_clauses,
    range_query,
    tag_clauses,
    text_match,
    text_terms,
)
from longterm_app.schemas import MemoryFilters, NumericFilter, TagFilter

HOSTILE = [
    "a}|@namespace:{b",
    "*",
    "a|b",
    "-x",
    "(x) | (y)",
    "\"quoted\" 'single'",
    "back\\slash",
    "$vector=>[KNN 5 @embedding $vector]",
    "@user_id:{*}",
    "café ü Zürich",
    "tab\u00a0nbsp",
]


def skeleton(query: str) -> str:
    """The query's syntax: what is left without escaped characters, word characters and
    non-ASCII characters (RediSearch's syntax is ASCII; test_unit_search stores such values)."""
    return re.sub(r"\w|[^\x00-\x7f]", "", re.sub(r"\\.", "", query))


def topics(**operators: object) -> MemoryFilters:
    return MemoryFilters(topics=TagFilter.model_validate(operators))


@pytest.mark.parametrize("char", string.punctuation + " ")
def test_every_ascii_punctuation_character_and_space_is_escaped_in_a_tag(char):
    assert escape_tag(f"a{char}b") == f"a\\{char}b"


def test_letters_digits_and_non_ascii_letters_are_left_as_they_are():
    assert escape_tag("Zürich2024日本") == "Zürich2024日本"


@pytest.mark.parametrize("value", HOSTILE)
def test_a_hostile_tag_value_leaves_the_query_syntax_of_a_plain_one(value):
    for operator in ("eq", "ne"):
        assert skeleton(filter_query(topics(**{operator: value}))) == skeleton(
            filter_query(topics(**{operator: "plain"}))
        )
    assert skeleton(filter_query(topics(any=[value, value + "2"]))) == skeleton(
        filter_query(topics(any=["plain", "other"]))
    )


@pytest.mark.parametrize("value", HOSTILE)
def test_a_hostile_prefix_keeps_only_the_final_star_as_a_wildcard(value):
    query = filter_query(topics(startswith=value + "x"))
    assert skeleton(query) == "(@:{*})"


def test_all_requires_each_distinct_value_once():
    assert tag_clauses("topics", TagFilter(all=["tea", "tea", "cake"])) == ["@topics:{tea}", "@topics:{cake}"]


def test_ne_and_none_exclude_rather_than_match():
    assert tag_clauses("topics", TagFilter(ne="tea", none=["cake", "pie"])) == [
        "-@topics:{tea}",
        "-@topics:{cake|pie}",
    ]


@pytest.mark.parametrize(
    ("operators", "clauses"),
    [
        ({"gt": 5, "lt": 9}, ["@t:[(5.0 +inf]", "@t:[-inf (9.0]"]),  # exclusive bounds
        ({"gte": 5, "lte": 9}, ["@t:[5.0 +inf]", "@t:[-inf 9.0]"]),
        ({"eq": 7, "ne": 8}, ["@t:[7.0 7.0]", "-@t:[8.0 8.0]"]),  # single points
    ],
)
def test_time_operators_become_redis_numeric_ranges(operators, clauses):
    assert numeric_clauses("t", NumericFilter.model_validate(operators)) == clauses


def test_an_iso_date_bound_becomes_epoch_seconds_in_the_query():
    filters = MemoryFilters(updated_at=NumericFilter(between=("2024-01-01", "2024-01-02T00:00:00Z")))
    assert filter_query(filters) == "(@updated_at:[1704067200.0 1704153600.0])"


def test_ids_are_escaped_and_combined_with_the_filters():
    filters = MemoryFilters(namespace=TagFilter(eq="n"))
    assert ids_query(["a:b", "c.d"], filters) == r"@id:{a\:b|c\.d} (@namespace:{n})"
    assert ids_query(["x"], MemoryFilters()) == "@id:{x}"


def test_neighbour_lookups_escape_the_session_id():
    query = neighbours_query([("s-1|@user_id:{*}", 3)], MemoryFilters())
    assert query == r"((@session_id:{s\-1\|\@user\_id\:\{\*\}} @session_seq:[3 3]))"


def test_a_keyword_query_repeats_the_filters_in_each_words_branch():
    assert keyword_query(["dog", "beagle"], MemoryFilters()) == "@text:(dog|beagle)"
    query = keyword_query(["dog", "beagle"], MemoryFilters(user_id=TagFilter(eq="u")))
    assert query == "(@text:dog (@user_id:{u})) | (@text:beagle (@user_id:{u}))"


def test_a_keyword_query_without_words_is_none_rather_than_everything():
    assert keyword_query([], MemoryFilters(user_id=TagFilter(eq="u"))) is None
    assert text_match("What is it?") is None


def test_query_text_is_reduced_to_its_words_so_operators_are_never_syntax():
    assert text_match('{dogs} | @text:cats -"walks" *?') == "@text:(dogs|text|cats|walks)"


def test_redis_stop_words_are_dropped_even_when_capitalised_as_names():
    # "Who" mid-sentence is a name and stays; "The" is never indexed, so it never matches.
    assert text_terms("Ask about The Who") == ["ask", "who"]


def test_query_words_keep_non_ascii_letters_lower_cased():
    assert text_terms("Zürich ÉCOLE") == ["zürich", "école"]


def test_a_long_query_matches_at_most_the_first_max_terms_words():
    words = [f"word{i}" for i in range(MAX_TERMS + 10)]
    assert text_terms(" ".join(words)) == words[:MAX_TERMS]


def test_the_policy_hint_is_given_only_when_there_is_a_filter_to_combine():
    filters = MemoryFilters(user_id=TagFilter(eq="u"))
    assert (
        knn_query(filters, 7, "BATCHES")
        == "((@user_id:{u}))=>[KNN 7 @embedding $vector EF_RUNTIME 128 HYBRID_POLICY BATCHES AS dist]"
    )
    assert knn_query(filters, 7) == "((@user_id:{u}))=>[KNN 7 @embedding $vector EF_RUNTIME 128 AS dist]"


def test_a_graph_walk_keeps_at_least_128_candidates_and_brute_force_none():
    filters = MemoryFilters(user_id=TagFilter(eq="u"))
    assert "EF_RUNTIME 200 " in knn_query(filters, 200, "BATCHES")
    assert "EF_RUNTIME" not in knn_query(filters, 7, "ADHOC_BF")


def test_a_radius_search_applies_the_filters_beside_the_vector_range():
    vector_range = "@embedding:[VECTOR_RANGE $radius $vector]=>{$YIELD_DISTANCE_AS: dist}"
    assert range_query(MemoryFilters()) == vector_range
    assert range_query(MemoryFilters(user_id=TagFilter(eq="u"))) == f"({vector_range}) (@user_id:{{u}})"
