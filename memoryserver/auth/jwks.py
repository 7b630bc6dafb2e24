"""The issuer's signing keys (JWKS), fetched over HTTP and cached.

Keys are cached for OAUTH2_JWKS_CACHE_SECONDS. A token naming an unknown `kid` triggers
one refetch (key rotation), but at most once per OAUTH2_JWKS_REFETCH_SECONDS, so a flood
of made-up kids cannot hammer the issuer. When the issuer is down, cached keys keep
answering, however old; only with no usable key at all is the answer 503.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
import jwt
from django.conf import settings

from memoryserver.errors import BackendUnavailable

logger = logging.getLogger(__name__)

FETCH_TIMEOUT_SECONDS = 5.0


@dataclass
class JwksCache:
    issuer: str
    jwks_url: str | None = None
    keys: dict[str, jwt.PyJWK] = field(default_factory=dict)
    # -inf, not 0: time.monotonic() may be smaller than the cache lifetime soon after boot.
    fetched_at: float = float("-inf")
    refetched_for_kid_at: float = float("-inf")
    attempts: int = 0
    _lock: asyncio.Lock | None = None

    async def key(self, kid: str | None) -> jwt.PyJWK | None:
        """The key for `kid` (or the only key when the token names none); None if unknown."""
        stale = time.monotonic() - self.fetched_at > settings.OAUTH2_JWKS_CACHE_SECONDS
        if stale:
            await self._refresh()
        elif self._find(kid) is None and self._may_refetch():
            self.refetched_for_kid_at = time.monotonic()
            await self._refresh()
        return self._find(kid)

    def _find(self, kid: str | None) -> jwt.PyJWK | None:
        if kid is None:
            return next(iter(self.keys.values())) if len(self.keys) == 1 else None
        return self.keys.get(kid)

    def _may_refetch(self) -> bool:
        """One refetch for an unknown kid (a rotation) per OAUTH2_JWKS_REFETCH_SECONDS."""
        return time.monotonic() - self.refetched_for_kid_at >= settings.OAUTH2_JWKS_REFETCH_SECONDS

    async def _refresh(self) -> None:
        if self._lock is None:
            self._lock = asyncio.Lock()
        seen = self.attempts
        async with self._lock:
            if self.attempts != seen:
                return  # another request fetched while this one waited
            self.attempts += 1
            try:
                keys = await self._fetch()
            except (httpx.HTTPError, ValueError, jwt.PyJWKSetError) as error:
                logger.warning("Could not fetch the issuer's keys: %s", type(error).__name__)
                if not self.keys:
                    raise BackendUnavailable("The token issuer's signing keys cannot be fetched.") from None
                # Keep answering from the cached keys; try the issuer again after a pause.
                pause = max(settings.OAUTH2_JWKS_REFETCH_SECONDS, 1)
                self.fetched_at = time.monotonic() - settings.OAUTH2_JWKS_CACHE_SECONDS + pause
                return
            self.keys, self.fetched_at = keys, time.monotonic()

    async def _fetch(self) -> dict[str, jwt.PyJWK]:
        async with httpx.AsyncClient(timeout=FETCH_TIMEOUT_SECONDS) as client:
            url = self.jwks_url or await self._discover(client)
            response = await client.get(url)
            response.raise_for_status()
            document: dict[str, Any] = response.json()
        usable = [key for key in document.get("keys", []) if key.get("use", "sig") == "sig"]
        key_set = jwt.PyJWKSet(usable)
        return {key.key_id or f"#{index}": key for index, key in enumerate(key_set.keys)}

    async def _discover(self, client: httpx.AsyncClient) -> str:
        """jwks_uri from the OIDC discovery document, else the conventional location."""
        base = self.issuer.rstrip("/")
        try:
            response = await client.get(f"{base}/.well-known/openid-configuration")
            if response.status_code == 200:
                self.jwks_url = str(response.json()["jwks_uri"])
                return self.jwks_url
        except (httpx.HTTPError, ValueError, KeyError):
            pass
        return f"{base}/.well-known/jwks.json"


_caches: dict[tuple[str, str | None], JwksCache] = {}


def jwks_cache() -> JwksCache:
    """The cache for the configured issuer (one per issuer and JWKS URL, per process)."""
    issuer: str = settings.OAUTH2_ISSUER_URL or ""
    key = (issuer, settings.OAUTH2_JWKS_URL)
    cache = _caches.get(key)
    if cache is None:
        cache = _caches[key] = JwksCache(issuer, settings.OAUTH2_JWKS_URL)
    return cache


def reset_jwks_caches() -> None:
    _caches.clear()
