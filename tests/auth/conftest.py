from __future__ import annotations

from collections.abc import Iterator

import pytest

from memoryserver.auth.jwks import reset_jwks_caches
from tests.auth.issuer import Issuer, SigningKey

SCOPES = "memory:read memory:write memory:admin"


@pytest.fixture(scope="session")
def rsa_key() -> SigningKey:
    return SigningKey.rsa("rsa-1")


@pytest.fixture(scope="session")
def ec_key() -> SigningKey:
    return SigningKey.ec("ec-1")


@pytest.fixture
def issuer(rsa_key: SigningKey, ec_key: SigningKey) -> Iterator[Issuer]:
    server = Issuer(keys=[rsa_key, ec_key]).start()
    yield server
    server.stop()


@pytest.fixture
def oauth2(settings, issuer: Issuer, redis_client) -> Iterator[Issuer]:
    """The API in oauth2 mode against the local issuer (audience `memory-api`)."""
    settings.AUTH_MODE = "oauth2"
    settings.OAUTH2_ISSUER_URL = issuer.url
    settings.OAUTH2_JWKS_URL = None
    settings.OAUTH2_AUDIENCE = "memory-api"
    settings.OAUTH2_ALGORITHMS = ["RS256", "ES256"]
    settings.OAUTH2_JWKS_REFETCH_SECONDS = 30
    reset_jwks_caches()
    yield issuer
    reset_jwks_caches()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
