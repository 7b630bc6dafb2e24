"""Log formatting: text for development, one JSON object per line with LOG_FORMAT=json.

Both formatters stamp the request id (`RequestIdFilter`) and pass their output through
`redact()`, so bearer tokens, API tokens, API keys and passwords in URLs never reach a log
line, whichever logger (ours, Django's, uvicorn's, RQ's, a model SDK's) wrote the record.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from typing import Any

import orjson

from memoryserver.observability.request_id import current_request_id

MASK = "***"
_SECRET_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    # Authorization headers and "Bearer <token>" anywhere.
    (re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9._~+/=-]+"), rf"\1 {MASK}"),
    # JWTs (header.payload.signature), even without "Bearer".
    (re.compile(r"\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*"), MASK),
    # Our API tokens, OpenAI and Anthropic keys.
    (re.compile(r"\bams_[A-Za-z0-9_-]{6,}"), f"ams_{MASK}"),
    (re.compile(r"\bsk-[A-Za-z0-9_-]{12,}"), f"sk-{MASK}"),
    # user:password@ in URLs (redis://:secret@host, https://user:pw@host).
    (re.compile(r"(//)[^/\s@:]*:[^/\s@]*@"), rf"\1{MASK}@"),
    # key=value and "key": "value" where the key names a secret (access_token, client_secret,
    # OPENAI_API_KEY...), but not counts such as input_tokens=120.
    (
        re.compile(
            r"(?i)\b([\w-]*?(?:api[_-]?key|secret(?:[_-]?key)?|private[_-]?key|password|passwd|token"
            r"|authorization|credentials?))(\"?\s*[:=]\s*\"?)(?!\*\*\*)([^\s\"',&}]+)"
        ),
        rf"\1\2{MASK}",
    ),
]
_SECRET_KEY = re.compile(r"(?i)(key|secret|password|passwd|token|authorization|cookie|credentials?)$")

# Attributes every LogRecord has; anything else on a record is an `extra=` field.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "request_id",
    "color_message",  # uvicorn's coloured copy of the message
    "taskName",
}


def redact(text: str) -> str:
    """`text` with every credential-looking value replaced by ***."""
    for pattern, replacement in _SECRET_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RequestIdFilter(logging.Filter):
    """Gives every record `request_id`: the current request's (or job's), else None."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            record.request_id = current_request_id.get()
        return True


class TextFormatter(logging.Formatter):
    """`time LEVEL logger [request id]: message`, redacted."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s%(request_tag)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        request_id = getattr(record, "request_id", None)
        record.request_tag = f" [{request_id}]" if request_id else ""
        return redact(super().format(record))


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request_id, then any extras."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
            "request_id": getattr(record, "request_id", None),
        }
        for name, value in vars(record).items():
            if name not in _STANDARD and name != "request_tag" and name not in entry:
                entry[name] = _safe_extra(name, value)
        if record.exc_info:
            entry["exc_info"] = redact(self.formatException(record.exc_info))
        if record.stack_info:
            entry["stack_info"] = redact(self.formatStack(record.stack_info))
        return orjson.dumps(entry, default=str).decode()


def _safe_extra(name: str, value: Any) -> Any:
    if _SECRET_KEY.search(name):
        return MASK
    if isinstance(value, str):
        return redact(value)
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, list | dict | tuple):
        text = redact(orjson.dumps(value, default=str).decode())
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError:
            return text
    return redact(str(value))


def logging_config(level: str, log_format: str) -> dict[str, Any]:
    """Django's LOGGING for LOG_LEVEL and LOG_FORMAT ("text" or "json"): everything to stderr."""
    formatter = "json" if log_format == "json" else "text"
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": RequestIdFilter}},
        "formatters": {"text": {"()": TextFormatter}, "json": {"()": JsonFormatter}},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": formatter,
                "filters": ["request_id"],
            }
        },
        "root": {"handlers": ["stderr"], "level": level},
        # 4xx answers are the client's business; server errors are still logged.
        "loggers": {
            "django.request": {"level": "ERROR"},
            # The HTTP clients of the model SDKs log every request at INFO.
            "httpx": {"level": "WARNING"},
            "httpx2": {"level": "WARNING"},
            # The MCP SDK logs every request at INFO.
            "mcp": {"level": "WARNING"},
        },
    }
