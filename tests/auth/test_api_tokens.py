"""API tokens (AUTH_MODE=token): created and revoked with `manage.py token`, only hashes stored."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from tests.auth.conftest import bearer

SESSION = "/sessions/s1/memory"


@pytest.fixture
def token_mode(settings, redis_client):
    settings.AUTH_MODE = "token"
    return redis_client


def add_token(*args: str) -> str:
    out, err = io.StringIO(), io.StringIO()
    call_command("token", "add", *args, stdout=out, stderr=err)
    assert "shown only now" in err.getvalue()
    return out.getvalue().strip()


def test_a_created_token_authenticates(api, token_mode):
    token = add_token("--description", "ci agent")
    assert api.put(SESSION, json={"messages": []}, headers=bearer(token)).status_code == 200
    assert api.get(SESSION, headers=bearer(token)).status_code == 200


def test_only_the_hash_is_stored(token_mode):
    token = add_token()
    stored = []
    for key in token_mode.keys("auth_token*"):
        stored.append(key)
        if token_mode.type(key) == b"hash":
            stored.extend(token_mode.hgetall(key).values())
        else:
            stored.extend(token_mode.smembers(key))
    assert stored and not any(token.encode() in value for value in stored)


def test_unknown_token_and_missing_header(api, token_mode):
    response = api.get(SESSION, headers=bearer("ams_made-up"))
    assert response.status_code == 401
    assert response.json()["detail"] == "Invalid token: unknown or revoked API token"
    assert response.headers["www-authenticate"] == "Bearer"
    assert api.get(SESSION).json()["detail"] == "Invalid token: Missing authorization header"


def test_expired_token(api, token_mode):
    token = add_token("--expires-days", "0.000001")
    import time

    time.sleep(0.2)
    assert api.get(SESSION, headers=bearer(token)).json()["detail"] == "Invalid token: Token has expired"


def test_list_and_remove(api, token_mode):
    token = add_token("--description", "to revoke", "--scope", "memory:read")
    out = io.StringIO()
    call_command("token", "list", stdout=out)
    listing = out.getvalue()
    assert "to revoke" in listing and "scopes=memory:read" in listing and token not in listing
    token_id = listing.split()[0]
    call_command("token", "remove", token_id, stdout=io.StringIO())
    assert api.get(SESSION, headers=bearer(token)).status_code == 401
    with pytest.raises(CommandError, match="No single token"):
        call_command("token", "remove", token_id, stdout=io.StringIO())


def test_read_only_token_cannot_write(api, token_mode):
    token = add_token("--scope", "memory:read")
    assert api.get(SESSION, headers=bearer(token)).status_code == 404
    response = api.put(SESSION, json={}, headers=bearer(token))
    assert response.status_code == 403
    assert response.json() == {"detail": "This operation needs the 'memory:write' scope.", "status_code": 403}


def test_bad_token_options_are_refused(token_mode):
    with pytest.raises(CommandError):
        add_token("--namespace", "bad namespace")
    with pytest.raises(CommandError):
        add_token("--expires-days", "-1")
