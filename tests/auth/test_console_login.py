"""Console login through OIDC: only listed, verified e-mails become staff."""

from __future__ import annotations

import pytest

from memoryserver.auth.console import ConsoleOIDCBackend


@pytest.fixture
def backend(settings, db):
    settings.OIDC_RP_CLIENT_ID = "console"
    settings.OIDC_RP_CLIENT_SECRET = "secret"
    settings.OIDC_OP_TOKEN_ENDPOINT = "https://idp.example/token"
    settings.OIDC_OP_USER_ENDPOINT = "https://idp.example/userinfo"
    settings.OIDC_OP_JWKS_ENDPOINT = "https://idp.example/jwks"
    settings.OIDC_RP_SIGN_ALGO = "RS256"
    settings.OIDC_STAFF_EMAILS = ["ops@example.com"]
    return ConsoleOIDCBackend()


def test_listed_email_becomes_staff(backend):
    user = backend.create_user({"email": "Ops@Example.com", "sub": "1"})
    assert user.is_staff


def test_other_and_unverified_emails_do_not(backend):
    assert not backend.create_user({"email": "dev@example.com", "sub": "2"}).is_staff
    assert not backend.create_user({"email": "ops@example.com", "email_verified": False, "sub": "3"}).is_staff


def test_staff_status_follows_the_list_at_each_login(backend, settings):
    user = backend.create_user({"email": "ops@example.com", "sub": "1"})
    settings.OIDC_STAFF_EMAILS = []
    assert not backend.update_user(user, {"email": "ops@example.com"}).is_staff
