"""Django settings, derived from the validated AppConfig (see memoryserver/config.py)."""

from __future__ import annotations

from django.core.management.utils import get_random_secret_key

from memoryserver import __version__
from memoryserver.config import BASE_DIR, load_config
from memoryserver.observability.logs import logging_config

CONFIG = load_config()

ENVIRONMENT = CONFIG.environment
DEBUG = False
SECRET_KEY = CONFIG.secret_key.get_secret_value() if CONFIG.secret_key else get_random_secret_key()
ALLOWED_HOSTS = CONFIG.allowed_hosts
DATA_DIR = CONFIG.data_dir
MODEL_DIR = CONFIG.model_dir or DATA_DIR / "models"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_rq",
    "memoryserver",
    "server",
    "sessions_app",
    "longterm_app",
    "mcp_app",
    "console",
    "summary_views_app",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

# Web console login: OIDC when configured, else Django's own staff login.
OIDC_ENABLED = CONFIG.oidc_rp_client_id is not None
AUTHENTICATION_BACKENDS = ["django.contrib.auth.backends.ModelBackend"]
if OIDC_ENABLED:
    INSTALLED_APPS.append("mozilla_django_oidc")
    AUTHENTICATION_BACKENDS.insert(0, "memoryserver.auth.console.ConsoleOIDCBackend")
    OIDC_RP_CLIENT_ID = CONFIG.oidc_rp_client_id
    OIDC_RP_CLIENT_SECRET = (
        CONFIG.oidc_rp_client_secret.get_secret_value() if CONFIG.oidc_rp_client_secret else ""
    )
    OIDC_OP_AUTHORIZATION_ENDPOINT = CONFIG.oidc_op_authorization_endpoint
    OIDC_OP_TOKEN_ENDPOINT = CONFIG.oidc_op_token_endpoint
    OIDC_OP_USER_ENDPOINT = CONFIG.oidc_op_user_endpoint
    OIDC_OP_JWKS_ENDPOINT = CONFIG.oidc_op_jwks_endpoint
    OIDC_RP_SIGN_ALGO = CONFIG.oidc_rp_sign_algo
    LOGIN_URL = "/oidc/authenticate/"
OIDC_STAFF_EMAILS = [email.lower() for email in CONFIG.oidc_staff_emails]
LOGIN_REDIRECT_URL = "/admin/"

ROOT_URLCONF = "server.urls"
ASGI_APPLICATION = "server.asgi.application"
APPEND_SLASH = False

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# Django's own database holds only users and admin state; memories live in Redis.
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": DATA_DIR / "django.sqlite3",
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

USE_TZ = True
TIME_ZONE = "UTC"
LANGUAGE_CODE = "en-us"
STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"

# Request bodies: the ASGI limit refuses early by Content-Length; this catches the rest.
MAX_REQUEST_BODY_BYTES = CONFIG.max_request_body_bytes
DATA_UPLOAD_MAX_MEMORY_SIZE = CONFIG.max_request_body_bytes

# Redis: one URL by default, or one per role (memoryserver/redis.py, README "Scaling out").
LOCAL_REDIS_PORT = CONFIG.local_redis_port
REDIS_URL = CONFIG.redis_url or f"redis://localhost:{LOCAL_REDIS_PORT}/0"
WORKING_MEMORY_REDIS_URL = CONFIG.working_memory_redis_url
LONG_TERM_MEMORY_REDIS_URL = CONFIG.long_term_memory_redis_url
QUEUE_REDIS_URL = CONFIG.queue_redis_url
# Replicas that must hold a working-memory write before it is acknowledged (Redis WAIT).
WORKING_MEMORY_WAIT_REPLICAS = CONFIG.working_memory_wait_replicas

DEFAULT_NAMESPACE = CONFIG.default_namespace
WINDOW_SIZE = CONFIG.window_size
SUMMARIZATION_THRESHOLD = CONFIG.summarization_threshold
ENABLE_DISCRETE_MEMORY_EXTRACTION = CONFIG.enable_discrete_memory_extraction
ENABLE_TOPIC_EXTRACTION = CONFIG.enable_topic_extraction
ENABLE_NER = CONFIG.enable_ner
TOPIC_MODEL = CONFIG.topic_model
NER_MODEL_PATH = CONFIG.ner_model_path
ENTITY_EXTRACTOR = CONFIG.entity_extractor
WORKER_NICENESS = CONFIG.worker_niceness
ENRICHMENT_CPU_SHARE = CONFIG.enrichment_cpu_share
WEB_WORKERS = CONFIG.web_workers
COMPACTION_DISTANCE_THRESHOLD = CONFIG.compaction_distance_threshold
SEARCH_INDEX_CHECK_SECONDS = CONFIG.search_index_check_seconds
SUMMARY_VIEW_REFRESH_MINUTES = CONFIG.summary_view_refresh_minutes
DISABLE_AUTH = CONFIG.disable_auth
AUTH_MODE = CONFIG.effective_auth_mode
AUTH_ENFORCE_SCOPES = CONFIG.auth_enforce_scopes
OAUTH2_ISSUER_URL = CONFIG.oauth2_issuer_url
OAUTH2_AUDIENCE = CONFIG.oauth2_audience
OAUTH2_JWKS_URL = CONFIG.oauth2_jwks_url
OAUTH2_ALGORITHMS = CONFIG.oauth2_algorithms
OAUTH2_LEEWAY_SECONDS = CONFIG.oauth2_leeway_seconds
OAUTH2_JWKS_CACHE_SECONDS = CONFIG.oauth2_jwks_cache_seconds
OAUTH2_JWKS_REFETCH_SECONDS = CONFIG.oauth2_jwks_refetch_seconds
OAUTH2_NAMESPACES_CLAIM = CONFIG.oauth2_namespaces_claim
OAUTH2_USER_ID_CLAIM = CONFIG.oauth2_user_id_claim
HOST = CONFIG.host
PORT = CONFIG.port
MCP_HOST = CONFIG.mcp_host
MCP_PORT = CONFIG.mcp_port
MCP_NAMESPACE = CONFIG.mcp_namespace
MCP_USER_ID = CONFIG.mcp_user_id

GENERATION_MODEL = CONFIG.generation_model
FAST_MODEL = CONFIG.fast_model
LLM_PROVIDER = CONFIG.llm_provider
LLM_TIMEOUT_SECONDS = CONFIG.llm_timeout_seconds
LLM_MAX_RETRIES = CONFIG.llm_max_retries
EMBEDDING_PROVIDER = CONFIG.embedding_provider
EMBEDDING_MODEL = CONFIG.embedding_model
EMBEDDING_BASE_URL = CONFIG.embedding_base_url
EMBEDDING_DIMENSIONS = CONFIG.embedding_dimensions
EMBEDDING_BATCH_SIZE = CONFIG.embedding_batch_size
EMBEDDING_TIMEOUT_SECONDS = CONFIG.embedding_timeout_seconds
EMBEDDING_THREADS = CONFIG.embedding_threads
OPENAI_API_KEY = CONFIG.openai_api_key
OPENAI_API_BASE = CONFIG.openai_api_base
ANTHROPIC_API_KEY = CONFIG.anthropic_api_key
ANTHROPIC_API_BASE = CONFIG.anthropic_api_base

# Background work (django-rq), on the queue Redis (QUEUE_REDIS_URL, else REDIS_URL).
TASK_QUEUES = ("summarization", "extraction", "default")
RQ_QUEUES = {name: {"URL": QUEUE_REDIS_URL or REDIS_URL, "DEFAULT_TIMEOUT": 300} for name in TASK_QUEUES}

REST_FRAMEWORK = {
    "DEFAULT_RENDERER_CLASSES": ["rest.renderers.ORJSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "rest.renderers.JSONOnlyNegotiation",
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": [],
    "UNAUTHENTICATED_USER": None,
    "EXCEPTION_HANDLER": "rest.errors.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Agent Memory Server",
    "DESCRIPTION": "Working memory and long-term memory for AI agents, backed by Redis.",
    "VERSION": __version__,
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Request and response bodies are pydantic models, whose JSON Schema is 2020-12 (OpenAPI 3.1).
    "OAS_VERSION": "3.1.0",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "rest.openapi.add_error_responses",
        "rest.openapi.add_bearer_security",
    ],
}

LOG_FORMAT = CONFIG.log_format
LOGGING = logging_config(CONFIG.log_level, CONFIG.log_format)

# Observability (memoryserver/observability): /metrics auth and optional tracing.
METRICS_PUBLIC = CONFIG.metrics_public
OTEL_EXPORTER_OTLP_ENDPOINT = CONFIG.otel_exporter_otlp_endpoint
OTEL_SERVICE_NAME = CONFIG.otel_service_name
