"""The authenticated caller (memoryserver.auth.principal): which scopes grant what, and how
a caller bound to namespaces or a user is confined to them."""

from __future__ import annotations

import pytest

from memoryserver.auth.principal import ADMIN, READ, SYSTEM, WRITE, Principal
from memoryserver.errors import Forbidden, InvalidInput


def caller(*scopes: str, namespaces: set[str] | None = None, user_id: str | None = None) -> Principal:
    bound = frozenset(namespaces) if namespaces is not None else None
    return Principal("token-1", "token", frozenset(scopes), namespaces=bound, user_id=user_id)


@pytest.fixture
def enforced(settings):
    settings.AUTH_ENFORCE_SCOPES = True
    return settings


@pytest.mark.parametrize(
    ("held", "needed"),
    [(READ, READ), (WRITE, READ), (WRITE, WRITE), (ADMIN, READ), (ADMIN, WRITE), (ADMIN, ADMIN)],
)
def test_a_scope_grants_itself_and_every_scope_below_it(enforced, held, needed):
    caller(held).require(needed)


@pytest.mark.parametrize(("held", "needed"), [(READ, WRITE), (READ, ADMIN), (WRITE, ADMIN)])
def test_a_scope_above_the_callers_is_forbidden_naming_it(enforced, held, needed):
    with pytest.raises(Forbidden, match=f"needs the '{needed}' scope"):
        caller(held).require(needed)


def test_a_caller_without_scopes_may_not_even_read(enforced):
    with pytest.raises(Forbidden):
        caller().require(READ)


def test_scopes_are_not_checked_when_enforcement_is_off(settings):
    settings.AUTH_ENFORCE_SCOPES = False
    caller(READ).require(ADMIN)


def test_with_authentication_disabled_every_scope_is_granted(enforced):
    Principal("anonymous", "disabled").require(ADMIN)


def test_a_namespace_outside_the_callers_is_forbidden_naming_it():
    bound = caller(ADMIN, namespaces={"team"})
    assert bound.check_namespace("team") == "team"
    with pytest.raises(Forbidden, match="Namespace 'other' is outside this caller's namespaces"):
        bound.check_namespace("other")


def test_a_caller_bound_to_one_namespace_uses_it_by_default(settings):
    settings.DEFAULT_NAMESPACE = "default"
    assert caller(ADMIN, namespaces={"team"}).default_namespace() == "team"
    assert caller(ADMIN).default_namespace() == "default"


def test_a_caller_of_several_namespaces_gets_the_default_only_if_it_is_one_of_them(settings):
    settings.DEFAULT_NAMESPACE = "default"
    assert caller(ADMIN, namespaces={"a", "default"}).default_namespace() == "default"
    with pytest.raises(
        InvalidInput, match=r"namespace: this caller may use several namespaces \(a, b\): name one"
    ):
        caller(ADMIN, namespaces={"b", "a"}).default_namespace()


def test_a_user_bound_caller_acts_for_its_user_whether_it_names_it_or_not():
    alice = caller(ADMIN, user_id="alice")
    assert alice.check_user(None) == alice.check_user("alice") == "alice"
    with pytest.raises(Forbidden, match="User 'bob' is not this caller's user"):
        alice.check_user("bob")


def test_an_unbound_caller_acts_for_whichever_user_it_names():
    assert caller(ADMIN).check_user("bob") == "bob" and caller(ADMIN).check_user(None) is None


def test_what_a_bound_caller_may_see():
    alice = caller(READ, namespaces={"team"}, user_id="alice")
    assert alice.may_see("team", "alice")
    assert not alice.may_see("team", "bob")
    assert not alice.may_see("team", None)  # every user's data is more than alice's
    assert not alice.may_see("other", "alice")
    assert caller(READ).may_see("anywhere", None)


def test_only_a_caller_bound_to_nothing_is_unbound():
    assert caller(ADMIN).unbound and SYSTEM.unbound
    assert not caller(ADMIN, namespaces={"a"}).unbound
    assert not caller(ADMIN, user_id="u").unbound
    assert not caller(ADMIN, namespaces=set()).unbound  # bound to no namespace at all
