"""The upstream server's published OpenAPI document: the contract /v1 is served to."""

from __future__ import annotations

from pathlib import Path

UPSTREAM_OPENAPI = Path(__file__).with_name("upstream-openapi.json")
