"""RediSearch query strings built from API filters: pure functions, no I/O.

Every user value is escaped here, for tags and full text alike: raw syntax errors have
crashed the assembled test server's query parser (DESIGN.md section 5).
"""

from __future__ import annotations

import re
from typing import TypeVar

from longterm_app.schemas import MemoryFilters, NumericFilter, TagFilter
from longterm_app.stopwords import QUERY_STOPWORDS

TAG_FIELDS = ("session_id", "namespace", "user_id", "topics", "entities", "memory_type", "memory_hash")
NUMERIC_FIELDS = ("created_at", "updated_at", "last_accessed", "event_date")
MAX_TERMS = 64
F = TypeVar("F", bound=MemoryFilters)

# RediSearch's default English stop-words: dropped from the index, so dropped from queries too.
STOPWORDS = frozenset(
    [
        "a",
        "is",
        "the",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "but",
        "by",
        "for",
        "if",
        "in",
        "into",
        "it",
        "no",
        "not",
        "of",
        "on",
        "or",
        "such",
        "that",
        "their",
        "then",
        "there",
        "these",
        "they",
        "this",
        "to",
        "was",
        "will",
        "with",
    ]
)
_TAG_SYNTAX = re.compile(r"([\x00-\x2f\x3a-\x40\x5b-\x60\x7b-\x7f])")
_QUERY_WORD = re.compile(r"\w\w+")
_SENTENCE_END = re.compile(r"[.!?]+\s+")


def escape_tag(value: str) -> str:
    """Backslash-escape every ASCII character that is not a letter or digit (a lone `_` is syntax too)."""
    return _TAG_SYNTAX.sub(r"\\\1", value)


def _tag_set(values: list[str]) -> str:
    return "{" + "|".join(escape_tag(v) for v in values) + "}"


def tag_clauses(field: str, condition: TagFilter) -> list[str]:
    clauses = []
    if condition.eq is not None:
        clauses.append(f"@{field}:{_tag_set([condition.eq])}")
    if condition.ne is not None:
        clauses.append(f"-@{field}:{_tag_set([condition.ne])}")
    if condition.any is not None:
        clauses.append(f"@{field}:{_tag_set(condition.any)}")
    if condition.all is not None:
        clauses.extend(f"@{field}:{_tag_set([value])}" for value in dict.fromkeys(condition.all))
    if condition.none is not None:
        clauses.append(f"-@{field}:{_tag_set(condition.none)}")
    if condition.startswith is not None:
        clauses.append(f"@{field}:{{{escape_tag(condition.startswith)}*}}")
    return clauses


def _number(value: float) -> str:
    return repr(float(value))


def numeric_clauses(field: str, condition: NumericFilter) -> list[str]:
    ranges = []
    if condition.gt is not None:
        ranges.append(f"[({_number(condition.gt)} +inf]")
    if condition.gte is not None:
        ranges.append(f"[{_number(condition.gte)} +inf]")
    if condition.lt is not None:
        ranges.append(f"[-inf ({_number(condition.lt)}]")
    if condition.lte is not None:
        ranges.append(f"[-inf {_number(condition.lte)}]")
    if condition.eq is not None:
        ranges.append(f"[{_number(condition.eq)} {_number(condition.eq)}]")
    if condition.between is not None:
        low, high = condition.between
        ranges.append(f"[{_number(low)} {_number(high)}]")
    clauses = [f"@{field}:{r}" for r in ranges]
    if condition.ne is not None:
        clauses.append(f"-@{field}:[{_number(condition.ne)} {_number(condition.ne)}]")
    return clauses


def filter_clauses(filters: MemoryFilters) -> list[str]:
    clauses: list[str] = []
    for field in TAG_FIELDS:
        tag_condition: TagFilter | None = getattr(filters, field)
        if tag_condition is not None:
            clauses.extend(tag_clauses(field, tag_condition))
    for field in NUMERIC_FIELDS:
        numeric_condition: NumericFilter | None = getattr(filters, field)
        if numeric_condition is not None:
            clauses.extend(numeric_clauses(field, numeric_condition))
    return clauses


def filter_query(filters: MemoryFilters) -> str:
    """All filters ANDed; `*` matches everything."""
    clauses = filter_clauses(filters)
    return " ".join(f"({clause})" for clause in clauses) if clauses else "*"


def single_namespace(filters: MemoryFilters) -> str | None:
    """The one namespace the filters confine a search to (by `eq` and/or `any`), if they do."""
    condition = filters.namespace
    if condition is None:
        return None
    allowed: set[str] | None = None
    if condition.eq is not None:
        allowed = {condition.eq}
    if condition.any is not None:
        allowed = set(condition.any) if allowed is None else allowed & set(condition.any)
    return next(iter(allowed)) if allowed is not None and len(allowed) == 1 else None


def _admits(condition: TagFilter, value: str) -> bool:
    """Whether a memory whose tag field holds just `value` passes the condition."""
    return (
        condition.eq in (None, value)
        and condition.ne != value
        and (condition.any is None or value in condition.any)
        and (condition.all is None or set(condition.all) == {value})
        and (condition.none is None or value not in condition.none)
        and (condition.startswith is None or value.startswith(condition.startswith))
    )


def within_namespace(filters: F, namespace: str) -> F:
    """The filters for a search of one namespace's own index, which holds only that
    namespace's memories: a namespace condition they all pass is dropped, since RediSearch
    would otherwise test it on every memory of the index (filters that exclude the namespace
    stay, and find nothing)."""
    condition = filters.namespace
    if condition is None or not _admits(condition, namespace):
        return filters
    return filters.model_copy(update={"namespace": None})


def namespace_query(namespace: str) -> str:
    """Every memory of one namespace."""
    return f"@namespace:{_tag_set([namespace])}"


def ids_query(memory_ids: list[str], filters: MemoryFilters) -> str:
    """The memories with any of these ids (in any namespace) within the filters."""
    match = f"@id:{_tag_set(memory_ids)}"
    base = filter_query(filters)
    return match if base == "*" else f"{match} {base}"


def text_terms(text: str) -> list[str]:
    """Words of the query that say what it is about: lower-cased, two letters or more, without
    function words, question words or repeats (see longterm_app.stopwords). A capitalised word
    inside a sentence is a name and stays ("in May", "with Will")."""
    terms = []
    for sentence in _SENTENCE_END.split(text):
        for position, word in enumerate(_QUERY_WORD.findall(sentence)):
            lower = word.lower()
            named = position > 0 and word[0].isupper()
            if lower not in STOPWORDS and (named or lower not in QUERY_STOPWORDS):
                terms.append(lower)
    return list(dict.fromkeys(terms))[:MAX_TERMS]


def text_match(text: str) -> str | None:
    """Matches any word of `text`; None when no word is left."""
    terms = text_terms(text)
    return "@text:(" + "|".join(terms) + ")" if terms else None


def keyword_query(terms: list[str], filters: MemoryFilters) -> str | None:
    """Full-text query matching any of the words (`text_terms`) within the filters; None for none.

    The filters are repeated inside each word's branch rather than applied to the union of
    words: RediSearch (2.10) scores a union nested in an intersection by its first matching
    word only, so a memory matching three words of the question scored like one matching one.
    """
    if not terms:
        return None
    base = filter_query(filters)
    if base == "*":
        return "@text:(" + "|".join(terms) + ")"
    return " | ".join(f"(@text:{term} {base})" for term in terms)


# The memories within $radius (cosine distance) of the query vector $vector.
WITHIN_RADIUS = "@embedding:[VECTOR_RANGE $radius $vector]"


def neighbours_query(
    places: list[tuple[str, int]], filters: MemoryFilters, within_radius: bool = False
) -> str | None:
    """The memories at these (session_id, session_seq) places, within the filters (and within
    $radius of $vector, when asked); None for none."""
    clauses = [f"(@session_id:{_tag_set([session])} @session_seq:[{seq} {seq}])" for session, seq in places]
    if not clauses:
        return None
    match = "(" + " | ".join(clauses) + ")"
    base = filter_query(filters)
    if within_radius:
        match = f"{match} ({WITHIN_RADIUS})"
    return match if base == "*" else f"{match} {base}"


# A filter every memory passes (each has a creation time). Comparing the query with every
# memory (HYBRID_POLICY ADHOC_BF) needs a filter to apply to: on a small index it is both
# cheaper than the HNSW graph and exact, where the graph only approximates the k nearest.
EVERY_MEMORY = "@created_at:[-inf +inf]"


# Candidates a walk of the HNSW graph keeps (EF_RUNTIME, at least k). RediSearch's default
# of 10 found 91% of the exact 10 nearest among 10,000 memories (86% in LoCoMo's
# conversations); 128 finds 99.95% or more, for 0.05-0.17 ms more.
GRAPH_CANDIDATES = 128


def knn_query(filters: MemoryFilters, k: int, policy: str | None = None) -> str:
    """The k nearest memories among the filtered ones; `policy` is RediSearch's HYBRID_POLICY."""
    base = filter_query(filters)
    if base == "*" and policy == "ADHOC_BF":
        base = EVERY_MEMORY
    hint = f" HYBRID_POLICY {policy}" if policy and base != "*" else ""
    candidates = "" if policy == "ADHOC_BF" else f" EF_RUNTIME {max(k, GRAPH_CANDIDATES)}"
    return f"({base})=>[KNN {k} @embedding $vector{candidates}{hint} AS dist]"


def range_query(filters: MemoryFilters) -> str:
    """Every memory within $radius of $vector, with its distance as `dist`."""
    vector_range = f"{WITHIN_RADIUS}=>{{$YIELD_DISTANCE_AS: dist}}"
    base = filter_query(filters)
    return vector_range if base == "*" else f"({vector_range}) {base}"
