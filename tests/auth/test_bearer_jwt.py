"""Bearer JWTs: every failure reason of the contract, key rotation, an unreachable issuer."""

from __future__ import annotations

import logging
import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization

from tests.auth.conftest import SCOPES, bearer
from tests.auth.issuer import SigningKey

SESSION = "/sessions/s1/memory"


def refused(response, reason: str) -> None:
    assert response.status_code == 401, response.text
    assert response.json() == {"detail": f"Invalid JWT: {reason}", "status_code": 401}
    assert response.headers["www-authenticate"] == "Bearer"


def test_public_endpoints_need_no_token(api, oauth2):
    assert api.get("/health").status_code == 200
    assert api.get("/openapi.json").status_code == 200
    assert api.get("/docs").status_code == 200


@pytest.mark.parametrize("path", ["/sessions/", SESSION, "/long-term-memory/m1", "/tasks/t1", "/info"])
def test_every_other_endpoint_needs_a_token(api, oauth2, path):
    refused(api.get(path), "Missing authorization header")


@pytest.mark.parametrize("path", ["/memory-prompt", "/long-term-memory/compact", "/long-term-memory/search"])
def test_every_post_endpoint_needs_a_token(api, oauth2, path):
    refused(api.post(path, json={}), "Missing authorization header")


def test_compaction_needs_the_admin_scope(api, oauth2):
    response = api.post(
        "/long-term-memory/compact", json={}, headers=bearer(oauth2.token(scope="memory:write"))
    )
    assert response.status_code == 403 and "memory:admin" in response.json()["detail"]


def test_missing_bearer_token(api, oauth2):
    refused(api.get(SESSION, headers={"Authorization": "Basic dXNlcjpwYXNz"}), "Missing bearer token")
    refused(api.get(SESSION, headers={"Authorization": "Bearer"}), "Missing bearer token")


def test_malformed_token(api, oauth2):
    refused(api.get(SESSION, headers=bearer("not.a.jwt")), "Invalid token header")


def test_valid_rsa_and_ec_tokens_are_accepted(api, oauth2, ec_key):
    for key in (oauth2.keys[0], ec_key):
        response = api.get(SESSION, headers=bearer(oauth2.token(key=key, scope=SCOPES)))
        assert response.status_code == 404  # authenticated: the session just does not exist


def test_expired_token(api, oauth2):
    now = int(time.time())
    refused(api.get(SESSION, headers=bearer(oauth2.token(exp=now - 120, iat=now - 600))), "Token has expired")


def test_expiry_leeway(api, oauth2):
    token = oauth2.token(exp=int(time.time()) - 5, scope=SCOPES)  # within the 30 s leeway
    assert api.get(SESSION, headers=bearer(token)).status_code == 404


def test_token_for_another_audience(api, oauth2):
    refused(api.get(SESSION, headers=bearer(oauth2.token(aud="another-api"))), "Invalid audience")


def test_token_from_another_issuer(api, oauth2):
    refused(api.get(SESSION, headers=bearer(oauth2.token(iss="https://evil.example"))), "Invalid issuer")


def test_token_not_yet_valid(api, oauth2):
    token = oauth2.token(nbf=int(time.time()) + 600)
    refused(api.get(SESSION, headers=bearer(token)), "Token is not yet valid")


def test_token_without_subject(api, oauth2):
    refused(api.get(SESSION, headers=bearer(oauth2.token(sub=None))), "Missing required claim 'sub'")


def test_unknown_key_id(api, oauth2):
    stranger = SigningKey.rsa("unknown-kid")
    refused(
        api.get(SESSION, headers=bearer(oauth2.token(key=stranger))), "Unable to find matching public key"
    )


def test_token_signed_with_the_wrong_key(api, oauth2):
    impostor = SigningKey("rsa-1", "RS256", SigningKey.rsa("x").private)  # right kid, wrong key
    refused(api.get(SESSION, headers=bearer(oauth2.token(key=impostor))), "Invalid signature")


def test_algorithm_none_is_refused(api, oauth2):
    token = jwt.encode({"iss": oauth2.url, "sub": "x", "aud": "memory-api", "exp": 9999999999}, None, "none")
    refused(api.get(SESSION, headers=bearer(token)), "Unsupported signing algorithm 'none'")


def test_hmac_signed_with_the_public_key_is_refused(api, oauth2, rsa_key):
    public_pem = rsa_key.private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    header = {"alg": "HS256", "kid": "rsa-1", "typ": "JWT"}
    import base64
    import hashlib
    import hmac
    import json

    def b64(data: bytes) -> bytes:
        return base64.urlsafe_b64encode(data).rstrip(b"=")

    claims = {"iss": oauth2.url, "sub": "x", "aud": "memory-api", "exp": int(time.time()) + 60}
    signing_input = b64(json.dumps(header).encode()) + b"." + b64(json.dumps(claims).encode())
    signature = hmac.new(public_pem, signing_input, hashlib.sha256).digest()
    token = (signing_input + b"." + b64(signature)).decode()
    refused(api.get(SESSION, headers=bearer(token)), "Unsupported signing algorithm 'HS256'")


def test_key_rotation_is_picked_up(api, oauth2):
    assert api.get(SESSION, headers=bearer(oauth2.token(scope=SCOPES))).status_code == 404
    rotated = SigningKey.rsa("rsa-2")
    oauth2.keys.append(rotated)
    assert api.get(SESSION, headers=bearer(oauth2.token(key=rotated, scope=SCOPES))).status_code == 404


def test_a_flood_of_unknown_kids_fetches_the_keys_once(api, oauth2):
    api.get(SESSION, headers=bearer(oauth2.token(scope=SCOPES)))
    fetched = oauth2.jwks_requests
    for index in range(20):
        stranger = SigningKey(f"bogus-{index}", "RS256", oauth2.keys[0].private)
        refused(
            api.get(SESSION, headers=bearer(oauth2.token(key=stranger))), "Unable to find matching public key"
        )
    assert oauth2.jwks_requests - fetched <= 1


def test_unreachable_issuer_without_cached_keys_is_503(api, oauth2):
    oauth2.down = True
    response = api.get(SESSION, headers=bearer(oauth2.token(scope=SCOPES)))
    assert response.status_code == 503
    assert response.json()["detail"] == "The token issuer's signing keys cannot be fetched."


def test_cached_keys_keep_working_while_the_issuer_is_down(api, oauth2, settings):
    assert api.get(SESSION, headers=bearer(oauth2.token(scope=SCOPES))).status_code == 404
    oauth2.down = True
    settings.OAUTH2_JWKS_CACHE_SECONDS = 0  # the cache is stale: a refetch is tried and fails
    assert api.get(SESSION, headers=bearer(oauth2.token(scope=SCOPES))).status_code == 404


def test_explicit_jwks_url_skips_discovery(api, oauth2, settings):
    settings.OAUTH2_JWKS_URL = f"{oauth2.url}/jwks.json"
    assert api.get(SESSION, headers=bearer(oauth2.token(scope=SCOPES))).status_code == 404


@pytest.mark.parametrize(
    ("scope", "get", "put", "forget"),
    [
        ("memory:read", 404, 403, 403),
        ("memory:write", 404, 200, 403),
        ("memory:admin", 404, 200, 200),
        ("", 403, 403, 403),
    ],
)
def test_scopes_gate_reads_writes_and_admin(api, oauth2, scope, get, put, forget):
    headers = bearer(oauth2.token(scope=scope))
    assert api.get(SESSION, headers=headers).status_code == get
    assert api.put(SESSION, json={"messages": []}, headers=headers).status_code == put
    response = api.post("/long-term-memory/forget", json={"namespace": "default"}, headers=headers)
    assert response.status_code == forget
    if forget == 403:
        assert "memory:admin" in response.json()["detail"]


def test_scopes_from_scp_and_roles_claims(api, oauth2):
    assert api.get(SESSION, headers=bearer(oauth2.token(scp=["memory:read"]))).status_code == 404
    assert api.get(SESSION, headers=bearer(oauth2.token(roles=["memory:admin"]))).status_code == 404


def test_scope_checks_can_be_turned_off(api, oauth2, settings):
    settings.AUTH_ENFORCE_SCOPES = False
    assert api.put(SESSION, json={}, headers=bearer(oauth2.token())).status_code == 200


def test_tokens_never_appear_in_logs(api, oauth2, caplog):
    caplog.set_level(logging.DEBUG)
    tokens = [oauth2.token(aud="other"), oauth2.token(key=SigningKey.rsa("zzz")), "garbage-token-value"]
    for token in tokens:
        api.get(SESSION, headers=bearer(token))
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert not any(token in logged for token in tokens)
