"""A scripted OpenAI- and Anthropic-compatible HTTP server for tests (DESIGN.md section 6).

It speaks real HTTP on 127.0.0.1 (a free port, served by a thread), so the real `openai`
and `anthropic` SDKs run unchanged, retries and timeouts included. Routes:

- ``POST /v1/embeddings``: deterministic bag-of-words vectors. Each lower-cased word is
  hashed into one of ``dims`` buckets and the counts are L2-normalised, so texts that share
  words are closer than texts that do not. ``dims`` is the request's ``dimensions`` or else
  ``server.embedding_dims`` (128). ``encoding_format`` "float" and "base64" are honoured.
- ``POST /v1/chat/completions`` (OpenAI) and ``POST /v1/messages`` (Anthropic): scripted
  replies; ``server.default_text`` ("OK") when nothing is scripted. No streaming.
- ``GET /v1/models``: a short model list.

Scripting: ``server.push(*replies)`` queues replies for the chat routes (OpenAI and
Anthropic share one queue, in order); ``server.push(*replies, route="embeddings")`` for
embeddings. Each request takes the next reply of its route:

- ``Reply.text("...")``: the assistant's text.
- ``Reply.json({...})``: structured output. When the request offers tools it is a tool
  call with these arguments (OpenAI ``tool_calls``, Anthropic ``tool_use``; the tool named
  by ``tool_choice``, else the first); otherwise the JSON text is the message content.
- ``Reply.error(429, "slow down")``: that status with the provider's JSON error body and
  ``retry-after-ms: 1`` so SDK retries are quick. The SDKs retry 408/409/429/5xx (twice by
  default): push one error per attempt, e.g. ``server.push(*[Reply.error(500)] * 3)``.
- ``Reply.slow(2.0)`` or ``Reply.slow(2.0, then=Reply.text("late"))``: wait, then answer;
  a client timeout shorter than the wait sees a timeout.
- ``Reply.raw({...}, status=200)``: exactly this JSON body.

Every request is recorded: ``server.requests`` (method, path, lower-cased headers, JSON body)
and ``server.bodies("/v1/embeddings")``. Base URLs: ``server.openai_base_url`` for the
OpenAI SDK (ends in /v1), ``server.anthropic_base_url`` for the Anthropic SDK.

Use the ``fake_openai`` fixture, or ``with FakeOpenAI() as server: ...``.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import itertools
import json
import logging
import re
import struct
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal

import pytest

Route = Literal["chat", "embeddings"]
ReplyKind = Literal["default", "text", "json", "error", "raw"]
log = logging.getLogger(__name__)

_WORD = re.compile(r"[a-z0-9']+")
_OPENAI_ERROR_TYPES = {400: "invalid_request_error", 401: "invalid_api_key", 429: "rate_limit_exceeded"}
_ANTHROPIC_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    429: "rate_limit_error",
    529: "overloaded_error",
}


@dataclass(frozen=True)
class Reply:
    """One scripted answer; build it with the class methods."""

    kind: ReplyKind = "default"
    content: str = ""
    payload: Any = None
    status: int = 200
    delay: float = 0.0
    tool: str | None = None

    @classmethod
    def text(cls, content: str) -> Reply:
        return cls("text", content=content)

    @classmethod
    def json(cls, payload: Any, tool: str | None = None) -> Reply:
        return cls("json", payload=payload, tool=tool)

    @classmethod
    def error(cls, status: int, message: str = "scripted failure") -> Reply:
        return cls("error", content=message, status=status)

    @classmethod
    def slow(cls, seconds: float, then: Reply | None = None) -> Reply:
        return replace(then or cls(), delay=seconds)

    @classmethod
    def raw(cls, body: Any, status: int = 200) -> Reply:
        return cls("raw", payload=body, status=status)


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: Any


def bag_of_words(text: str, dims: int) -> list[float]:
    """The fake embedding of `text`: hashed word counts, unit length (a bucket-0 vector if no words)."""
    vector = [0.0] * dims
    for word in _WORD.findall(text.lower()):
        bucket = int.from_bytes(hashlib.blake2b(word.encode(), digest_size=8).digest(), "big") % dims
        vector[bucket] += 1.0
    norm = sum(value * value for value in vector) ** 0.5
    if norm == 0:
        vector[0] = norm = 1.0
    return [value / norm for value in vector]


@dataclass
class FakeOpenAI:
    """The server; `start()`/`stop()` or use it as a context manager."""

    embedding_dims: int = 128
    default_text: str = "OK"
    requests: list[RecordedRequest] = field(default_factory=list, repr=False)
    _queues: dict[str, deque[Reply]] = field(
        default_factory=lambda: {"chat": deque(), "embeddings": deque()}, repr=False
    )
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _stopping: threading.Event = field(default_factory=threading.Event, repr=False)
    _ids: Iterator[int] = field(default_factory=itertools.count, repr=False)
    _httpd: _Server | None = field(default=None, repr=False)
    _thread: threading.Thread | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        if self._httpd is None:
            raise RuntimeError("The fake server is not running.")
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def openai_base_url(self) -> str:
        return f"{self.url}/v1"

    @property
    def anthropic_base_url(self) -> str:
        return self.url

    def push(self, *replies: Reply, route: Route = "chat") -> None:
        """Queue replies for the chat routes (default) or for embeddings."""
        with self._lock:
            self._queues[route].extend(replies)

    def pending(self, route: Route = "chat") -> int:
        """How many scripted replies have not been used yet."""
        with self._lock:
            return len(self._queues[route])

    def bodies(self, path: str) -> list[Any]:
        """The JSON bodies of the requests to `path`, in arrival order."""
        with self._lock:
            return [request.body for request in self.requests if request.path == path]

    def start(self) -> FakeOpenAI:
        self._stopping.clear()
        self._httpd = _Server(("127.0.0.1", 0), _Handler)
        self._httpd.fake = self
        # A short poll interval makes stop() quick; shutdown() waits for the next poll.
        serve = functools.partial(self._httpd.serve_forever, poll_interval=0.02)
        self._thread = threading.Thread(target=serve, name="fake-openai", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, cut scripted delays short and close every socket."""
        self._stopping.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()  # joins the request threads
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._httpd = self._thread = None

    def __enter__(self) -> FakeOpenAI:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(request)

    def _next_reply(self, route: Route) -> Reply:
        with self._lock:
            queue = self._queues[route]
            return queue.popleft() if queue else Reply()

    def _next_id(self) -> int:
        with self._lock:
            return next(self._ids)


class _Server(ThreadingHTTPServer):
    fake: FakeOpenAI
    daemon_threads = False  # so server_close() waits for the request threads

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gave up (timeout) closes its socket mid-answer; that is expected here.
        log.debug("fake OpenAI server: request from %s failed", client_address, exc_info=True)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    timeout = 10  # a stalled client cannot keep server_close() waiting forever

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("fake OpenAI server: " + format, *args)

    def _headers(self) -> dict[str, str]:
        return {name.lower(): value for name, value in self.headers.items()}

    def do_GET(self) -> None:
        self.server.fake._record(RecordedRequest("GET", self.path, self._headers(), None))
        if self.path == "/v1/models":
            models = ["gpt-4o-mini", "text-embedding-3-small", "claude-3-5-haiku-latest"]
            self._send(200, {"object": "list", "data": [{"id": m, "object": "model"} for m in models]})
        else:
            self._send(404, _openai_error(404, f"No route GET {self.path}"))

    def do_POST(self) -> None:
        fake = self.server.fake
        length = int(self.headers.get("Content-Length") or 0)
        try:
            body = json.loads(self.rfile.read(length) or b"null")
        except ValueError:
            self._send(400, _openai_error(400, "The body is not JSON."))
            return
        path = self.path.split("?", 1)[0]  # e.g. Anthropic's /v1/messages?beta=true
        fake._record(RecordedRequest("POST", path, self._headers(), body))
        routes: dict[str, tuple[Route, Any]] = {
            "/v1/embeddings": ("embeddings", _embeddings),
            "/v1/chat/completions": ("chat", _chat_completion),
            "/v1/messages": ("chat", _anthropic_message),
        }
        if path not in routes:
            self._send(404, _openai_error(404, f"No route POST {path}"))
            return
        if not isinstance(body, dict):
            self._send(400, _openai_error(400, "The body must be a JSON object."))
            return
        route, answer = routes[path]
        reply = fake._next_reply(route)
        if reply.delay and fake._stopping.wait(reply.delay):
            return
        anthropic = path == "/v1/messages"
        if reply.kind == "raw":
            self._send(reply.status, reply.payload)
        elif reply.kind == "error":
            error = _anthropic_error if anthropic else _openai_error
            self._send(reply.status, error(reply.status, reply.content), {"retry-after-ms": "1"})
        elif body.get("stream"):
            self._send(400, _openai_error(400, "The fake server does not stream."))
        else:
            status, answer_body = answer(fake, body, reply)
            self._send(status, answer_body)

    def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            log.debug("fake OpenAI server: the client left before the answer")


def _openai_error(status: int, message: str) -> dict[str, Any]:
    kind = _OPENAI_ERROR_TYPES.get(status, "server_error" if status >= 500 else "invalid_request_error")
    return {"error": {"message": message, "type": kind, "param": None, "code": None}}


def _anthropic_error(status: int, message: str) -> dict[str, Any]:
    kind = _ANTHROPIC_ERROR_TYPES.get(status, "api_error")
    return {"type": "error", "error": {"type": kind, "message": message}}


def _words(value: Any) -> int:
    """A rough token count of any JSON value, for `usage`."""
    return len(_WORD.findall(json.dumps(value).lower()))


def _embeddings(fake: FakeOpenAI, body: Any, reply: Reply) -> tuple[int, Any]:
    if reply.kind != "default":
        return 500, _openai_error(500, f"A {reply.kind!r} reply cannot answer /v1/embeddings.")
    texts = body.get("input")
    texts = [texts] if isinstance(texts, str) else texts
    if not isinstance(texts, list) or not texts:
        return 400, _openai_error(400, "'input' must be a string or a non-empty list.")
    dims = body.get("dimensions") or fake.embedding_dims
    data = []
    for index, text in enumerate(texts):
        vector = bag_of_words(text if isinstance(text, str) else json.dumps(text), dims)
        encoded: Any = vector
        if body.get("encoding_format") == "base64":
            encoded = base64.b64encode(struct.pack(f"<{dims}f", *vector)).decode()
        data.append({"object": "embedding", "index": index, "embedding": encoded})
    usage = {"prompt_tokens": _words(texts), "total_tokens": _words(texts)}
    return 200, {"object": "list", "data": data, "model": body.get("model"), "usage": usage}


def _tool_name(reply: Reply, body: dict[str, Any], anthropic: bool) -> str | None:
    """The tool a structured reply calls, or None when the request offers no tools."""
    tools = body.get("tools") or []
    if not tools:
        return None
    if reply.tool:
        return reply.tool
    choice = body.get("tool_choice")
    if isinstance(choice, dict):
        named = choice.get("name") if anthropic else (choice.get("function") or {}).get("name")
        if named:
            return str(named)
    first = tools[0]
    return str(first.get("name") if anthropic else (first.get("function") or {}).get("name"))


def _reply_text(fake: FakeOpenAI, reply: Reply) -> str:
    return json.dumps(reply.payload) if reply.kind == "json" else (reply.content or fake.default_text)


def _chat_completion(fake: FakeOpenAI, body: Any, reply: Reply) -> tuple[int, Any]:
    number = fake._next_id()
    tool = _tool_name(reply, body, anthropic=False) if reply.kind == "json" else None
    message: dict[str, Any] = {"role": "assistant", "content": None, "refusal": None}
    if tool:
        arguments = json.dumps(reply.payload)
        call = {
            "id": f"call_fake_{number}",
            "type": "function",
            "function": {"name": tool, "arguments": arguments},
        }
        message["tool_calls"] = [call]
    else:
        message["content"] = _reply_text(fake, reply)
    prompt, completion = _words(body.get("messages")), _words(message)
    return 200, {
        "id": f"chatcmpl-fake-{number}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body.get("model"),
        "choices": [
            {
                "index": 0,
                "message": message,
                "finish_reason": "tool_calls" if tool else "stop",
                "logprobs": None,
            }
        ],
        "usage": {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
        },
    }


def _anthropic_message(fake: FakeOpenAI, body: Any, reply: Reply) -> tuple[int, Any]:
    number = fake._next_id()
    tool = _tool_name(reply, body, anthropic=True) if reply.kind == "json" else None
    if tool:
        content = [{"type": "tool_use", "id": f"toolu_fake_{number}", "name": tool, "input": reply.payload}]
    else:
        content = [{"type": "text", "text": _reply_text(fake, reply)}]
    return 200, {
        "id": f"msg_fake_{number}",
        "type": "message",
        "role": "assistant",
        "model": body.get("model"),
        "content": content,
        "stop_reason": "tool_use" if tool else "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": _words(body.get("messages")), "output_tokens": _words(content)},
    }


@pytest.fixture
def fake_openai() -> Iterator[FakeOpenAI]:
    """A running fake OpenAI/Anthropic server, stopped after the test."""
    with FakeOpenAI() as server:
        yield server
