"""Tenant confinement of long-term memory (longterm_app.access and the services that use it):
a caller bound to namespaces or a user never sees or changes another tenant's memory."""

from __future__ import annotations

from typing import Any

import pytest

from longterm_app.access import scoped_filters
from longterm_app.forgetting import ForgetPolicy
from longterm_app.queries import filter_query
from longterm_app.schemas import (
    CreateMemoriesRequest,
    MemoryFilters,
    MemoryPatch,
    PolicyForgetRequest,
    SearchRequest,
)
from longterm_app.services import (
    BackgroundWork,
    create_memories,
    delete_memories,
    edit_memory,
    forget_by_policy,
    get_memory,
    search_memories,
)
from memoryserver.auth.principal import ADMIN, ANONYMOUS_DEVELOPER, Principal
from memoryserver.errors import Forbidden, NotFound
from providers.embeddings import get_embedder
from tests.longterm_app.stores import in_store

TEAM = Principal("team-token", "token", frozenset({ADMIN}), namespaces=frozenset({"team"}))
ALICE = Principal("alice-token", "token", frozenset({ADMIN}), namespaces=frozenset({"team"}), user_id="alice")


async def _untouched(records: list[Any]) -> Any:
    return None


def create(*memories: dict[str, Any], principal: Principal = ANONYMOUS_DEVELOPER) -> None:
    request = CreateMemoriesRequest.model_validate({"memories": list(memories)})
    work = BackgroundWork(indexing=_untouched, tagging=_untouched)
    in_store(lambda s: create_memories(s, get_embedder(), principal, request, work))


def visible(principal: Principal, **filters: Any) -> list[str]:
    """namespace/user/id of each memory a filter-only search by `principal` lists."""
    request = SearchRequest.model_validate({"limit": 100, **filters})
    result = in_store(lambda s: search_memories(s, get_embedder(), principal, request))
    return sorted(f"{m.namespace}/{m.user_id}/{m.id}" for m in result.memories)


@pytest.fixture
def tenants(redis_client) -> None:
    memories = [
        {"id": "a1", "text": "Alice likes tea", "namespace": "team", "user_id": "alice"},
        {"id": "b1", "text": "Bob likes coffee", "namespace": "team", "user_id": "bob"},
        {"id": "o1", "text": "Olga likes juice", "namespace": "other", "user_id": "alice"},
    ]
    create(*({**memory, "created_at": 1_600_000_000} for memory in memories))


# The pure rules.


def test_a_search_naming_no_namespace_is_narrowed_to_the_callers():
    assert filter_query(scoped_filters(MemoryFilters(), TEAM)) == "(@namespace:{team})"


def test_an_exclusion_alone_cannot_widen_a_bound_search():
    filters = MemoryFilters.model_validate({"namespace": {"ne": "secret"}, "user_id": {"none": ["bob"]}})
    query = filter_query(scoped_filters(filters, ALICE))
    assert "(@namespace:{team})" in query and "(@user_id:{alice})" in query


@pytest.mark.parametrize(
    ("filters", "message"),
    [
        ({"namespace": {"eq": "other"}}, "Namespace 'other' is outside"),
        ({"namespace": {"any": ["team", "other"]}}, "Namespace 'other' is outside"),
        ({"namespace": {"all": ["team", "other"]}}, "Namespace 'other' is outside"),
        ({"user_id": {"eq": "bob"}}, "User 'bob' is not this caller's user"),
        ({"user_id": {"any": ["alice", "bob"]}}, "User 'bob' is not this caller's user"),
    ],
)
def test_a_filter_naming_another_tenant_is_forbidden(filters, message):
    with pytest.raises(Forbidden, match=message):
        scoped_filters(MemoryFilters.model_validate(filters), ALICE)


# The services.


def test_a_namespace_bound_caller_lists_only_its_namespace(tenants):
    assert visible(TEAM) == ["team/alice/a1", "team/bob/b1"]
    assert visible(TEAM, namespace={"startswith": "ot"}) == []  # a prefix cannot reach "other"


def test_a_user_bound_caller_lists_only_its_own_memories(tenants):
    assert visible(ALICE) == ["team/alice/a1"]
    assert visible(ALICE, user_id={"ne": "alice"}) == []


def test_a_bound_search_naming_another_namespace_is_forbidden_not_empty(tenants):
    with pytest.raises(Forbidden):
        visible(TEAM, namespace={"eq": "other"})


def test_a_semantic_search_of_a_bound_caller_never_ranks_another_users_memory(tenants):
    request = SearchRequest(text="Bob likes coffee", search_mode="semantic", limit=100)
    result = in_store(lambda s: search_memories(s, get_embedder(), ALICE, request))
    assert [m.id for m in result.memories] == ["a1"] and result.total == 1


def test_another_users_id_is_not_found_exactly_like_a_free_one(tenants):
    def answer(memory_id: str) -> str:
        with pytest.raises(NotFound) as caught:
            in_store(lambda s: get_memory(s, ALICE, None, memory_id))
        return caught.value.detail.replace(memory_id, "ID")

    assert answer("b1") == answer("free")


def test_a_user_bound_caller_cannot_edit_another_users_memory(tenants):
    patch = MemoryPatch(text="Bob hates coffee")
    with pytest.raises(NotFound):
        in_store(lambda s: edit_memory(s, get_embedder(), ALICE, "team", "b1", patch))
    assert in_store(lambda s: get_memory(s, TEAM, "team", "b1", "bob")).text == "Bob likes coffee"


def test_a_user_bound_caller_cannot_give_its_memory_to_another_user(tenants):
    with pytest.raises(Forbidden, match="User 'bob'"):
        in_store(lambda s: edit_memory(s, get_embedder(), ALICE, "team", "a1", MemoryPatch(user_id="bob")))


def test_a_user_bound_callers_delete_of_another_users_id_reports_it_missing(tenants):
    result = in_store(lambda s: delete_memories(s, ALICE, "team", ["b1"]))
    assert (result.deleted, result.missing) == (0, ["b1"])
    assert visible(TEAM) == ["team/alice/a1", "team/bob/b1"]


def test_a_bound_caller_cannot_delete_in_another_namespace(tenants):
    with pytest.raises(Forbidden):
        in_store(lambda s: delete_memories(s, TEAM, "other", ["o1"]))
    assert "other/alice/o1" in visible(ANONYMOUS_DEVELOPER)


def test_a_memory_created_by_a_user_bound_caller_belongs_to_its_user(redis_client):
    create({"id": "m", "text": "Alice plays chess"}, principal=ALICE)
    assert visible(ANONYMOUS_DEVELOPER) == ["team/alice/m"]


def test_forgetting_by_policy_as_a_bound_user_forgets_only_its_own(tenants):
    request = PolicyForgetRequest(policy=ForgetPolicy(max_age_days=0), dry_run=False)
    result = in_store(lambda s: forget_by_policy(s, ALICE, request))
    assert (result.scanned, result.deleted_ids) == (1, ["a1"])
    assert visible(ANONYMOUS_DEVELOPER) == ["other/alice/o1", "team/bob/b1"]
