"""Bearer JWT validation against the issuer's JWKS, with the seed's failure messages."""

from __future__ import annotations

from typing import Any

import jwt
from django.conf import settings

from memoryserver.auth.jwks import jwks_cache
from memoryserver.auth.principal import Principal
from memoryserver.errors import Unauthenticated


def _fail(reason: str) -> Unauthenticated:
    return Unauthenticated(f"Invalid JWT: {reason}")


def _header(token: str) -> dict[str, Any]:
    try:
        header = jwt.get_unverified_header(token)
    except jwt.exceptions.DecodeError:
        raise _fail("Invalid token header") from None
    algorithm = header.get("alg")
    # `none` and HMAC are never accepted: an HMAC "secret" could be the issuer's public key.
    if algorithm not in settings.OAUTH2_ALGORITHMS:
        raise _fail(f"Unsupported signing algorithm '{algorithm}'")
    return header


_CLAIM_ERRORS: list[tuple[type[Exception], str]] = [
    (jwt.exceptions.ExpiredSignatureError, "Token has expired"),
    (jwt.exceptions.InvalidAudienceError, "Invalid audience"),
    (jwt.exceptions.InvalidIssuerError, "Invalid issuer"),
    (jwt.exceptions.ImmatureSignatureError, "Token is not yet valid"),
    (jwt.exceptions.InvalidIssuedAtError, "Invalid issued-at time"),
    (jwt.exceptions.InvalidSignatureError, "Invalid signature"),
]


def _claims(token: str, key: jwt.PyJWK, algorithm: str) -> dict[str, Any]:
    audience = settings.OAUTH2_AUDIENCE
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            key,
            algorithms=[algorithm],
            audience=audience,
            issuer=settings.OAUTH2_ISSUER_URL,
            leeway=settings.OAUTH2_LEEWAY_SECONDS,
            options={"require": ["exp", "iss", "sub"], "verify_aud": audience is not None},
        )
    except jwt.exceptions.MissingRequiredClaimError as error:
        raise _fail(f"Missing required claim '{error.claim}'") from None
    except jwt.exceptions.InvalidTokenError as error:
        for kind, reason in _CLAIM_ERRORS:
            if isinstance(error, kind):
                raise _fail(reason) from None
        raise _fail("Invalid token") from None
    if not isinstance(claims.get("sub"), str) or not claims["sub"]:
        raise _fail("Missing required claim 'sub'")
    return claims


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return value.split()
    if isinstance(value, list):
        return [item for item in value if isinstance(item, str)]
    return []


def principal_from_claims(claims: dict[str, Any]) -> Principal:
    scopes = {*_strings(claims.get("scope")), *_strings(claims.get("scp")), *_strings(claims.get("roles"))}
    scopes |= set(_strings(claims.get("permissions")))
    namespaces = claims.get(settings.OAUTH2_NAMESPACES_CLAIM)
    user_claim = settings.OAUTH2_USER_ID_CLAIM
    user_id = claims.get(user_claim) if user_claim else None
    return Principal(
        subject=claims["sub"],
        method="jwt",
        scopes=frozenset(scopes),
        namespaces=frozenset(_strings(namespaces)) if namespaces is not None else None,
        user_id=str(user_id) if user_id is not None else None,
    )


async def authenticate_jwt(token: str) -> Principal:
    header = _header(token)
    key = await jwks_cache().key(header.get("kid"))
    if key is None:
        raise _fail("Unable to find matching public key")
    return principal_from_claims(_claims(token, key, header["alg"]))
