"""Slow clients are cut off: stalled headers and stalled bodies get 408 and a closed connection.

A real `agent-memory api` process (uvicorn with the project's protocol) is driven over raw
sockets, with both timeouts set to one second, while a normal client keeps being served.
"""

from __future__ import annotations

import json
import signal
import socket
import statistics
import time
from collections.abc import Iterator

import httpx
import pytest

from server.localredis import LocalRedis, free_port
from tests.reliability.processes import base_env, kill, spawn, wait_until_up

TIMEOUT_S = 1.0
# How late a cut-off may come: the event loop's timer plus a loaded two-core machine.
SLACK_S = 1.5


@pytest.fixture(scope="module")
def server(redis_server: LocalRedis, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    """(host, port) of `agent-memory api` with one-second header and body timeouts."""
    data_dir = tmp_path_factory.mktemp("slow-clients")
    log = data_dir / "api.log"
    env = base_env(
        redis_server.url,
        data_dir,
        REQUEST_HEADER_TIMEOUT_SECONDS=str(TIMEOUT_S),
        REQUEST_BODY_TIMEOUT_SECONDS=str(TIMEOUT_S),
    )
    port = free_port()
    args = ["-m", "server.cli", "api", "--host", "127.0.0.1", "--port", str(port), "--no-migrate"]
    process = spawn(args, env, log)
    try:
        wait_until_up(process, f"http://127.0.0.1:{port}", log)
        yield "127.0.0.1", port
    finally:
        kill(process, signal.SIGTERM)


def _connect(server: tuple[str, int]) -> socket.socket:
    sock = socket.create_connection(server, timeout=10)
    sock.settimeout(TIMEOUT_S + SLACK_S + 3)
    return sock


def _read_until_closed(sock: socket.socket) -> tuple[bytes, float]:
    """Everything the server sends until it closes the connection, and when it closed (monotonic)."""
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data, time.monotonic()


def _status_and_body(data: bytes) -> tuple[int, dict[str, object]]:
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), json.loads(body)


POST_HEAD = (
    b"POST /long-term-memory HTTP/1.1\r\nHost: test\r\n"
    b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n"
)


def test_a_stalled_body_gets_408_after_the_timeout(server: tuple[str, int]) -> None:
    with _connect(server) as sock:
        sock.sendall(POST_HEAD + b'{"memories": [')
        start = time.monotonic()
        data, closed = _read_until_closed(sock)
    status, body = _status_and_body(data)
    assert status == 408
    assert body["status_code"] == 408 and "REQUEST_BODY_TIMEOUT_SECONDS" in str(body["detail"])
    assert TIMEOUT_S - 0.1 <= closed - start <= TIMEOUT_S + SLACK_S


@pytest.mark.parametrize(
    "sent",
    [b"", b"POST /long-term-memory HTT", b"GET /health HTTP/1.1\r\nHost: test\r\n"],
    ids=["nothing", "mid-request-line", "mid-headers"],
)
def test_stalled_headers_are_cut_off_after_the_timeout(server: tuple[str, int], sent: bytes) -> None:
    with _connect(server) as sock:
        start = time.monotonic()
        sock.sendall(sent)
        data, closed = _read_until_closed(sock)
    assert TIMEOUT_S - 0.1 <= closed - start <= TIMEOUT_S + SLACK_S
    assert _status_and_body(data)[0] == 408


def test_headers_trickled_byte_by_byte_still_meet_the_deadline(server: tuple[str, int]) -> None:
    """Slowloris: a byte every 0.2 s keeps the socket busy but does not extend the deadline."""
    request = b"GET /health HTTP/1.1\r\nHost: test\r\nX-Padding: " + b"a" * 40 + b"\r\n\r\n"
    with _connect(server) as sock:
        start = time.monotonic()
        try:
            for byte in request:
                sock.sendall(bytes([byte]))
                time.sleep(0.2)
        except OSError:  # reset by the server once it gave up
            pass
        data, closed = _read_until_closed(sock)
    assert closed - start <= TIMEOUT_S + SLACK_S
    assert _status_and_body(data)[0] == 408


def test_a_body_sent_slowly_but_in_time_reaches_the_application(server: tuple[str, int]) -> None:
    body = b'{"memories": "not a list"}'
    head = (
        b"POST /long-term-memory HTTP/1.1\r\nHost: test\r\nConnection: close\r\n"
        b"Content-Type: application/json\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n"
    )
    with _connect(server) as sock:
        sock.sendall(head + body[:10])
        time.sleep(TIMEOUT_S / 2)
        sock.sendall(body[10:])
        data, _ = _read_until_closed(sock)
    # The view validated it (a chunked 422): the whole body got through.
    assert data.startswith(b"HTTP/1.1 422 ") and b'"status_code":422' in data, data


def _read_response(sock: socket.socket) -> int:
    """One response (Content-Length or chunked) off a kept-alive connection; returns its status."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, "the server closed the connection"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lengths = [
        line.split(b":", 1)[1] for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")
    ]
    complete = (lambda: len(body) >= int(lengths[0])) if lengths else (lambda: body.endswith(b"0\r\n\r\n"))
    while not complete():
        chunk = sock.recv(65536)
        assert chunk, "the server closed the connection"
        body += chunk
    return int(head.split(b" ", 2)[1])


def test_keep_alive_connections_may_idle_longer_than_the_header_timeout(server: tuple[str, int]) -> None:
    """The header deadline starts with a request's first byte, not when the connection went idle."""
    request = b"GET /health HTTP/1.1\r\nHost: test\r\n\r\n"
    with _connect(server) as sock:
        sock.sendall(request)
        assert _read_response(sock) == 200
        time.sleep(TIMEOUT_S + 0.5)  # under uvicorn's keep-alive timeout (5 s)
        sock.sendall(request)
        assert _read_response(sock) == 200


def _health_latencies(server: tuple[str, int], count: int, seconds: float) -> list[float]:
    """Up to `count` sequential GET /health timings (seconds), for at most `seconds`."""
    latencies: list[float] = []
    end = time.monotonic() + seconds
    with httpx.Client(base_url=f"http://{server[0]}:{server[1]}", timeout=10) as client:
        while len(latencies) < count and time.monotonic() < end:
            start = time.perf_counter()
            assert client.get("/health").status_code == 200
            latencies.append(time.perf_counter() - start)
    return latencies


def test_slow_clients_do_not_slow_down_the_others(server: tuple[str, int]) -> None:
    baseline = statistics.median(_health_latencies(server, 50, 10))
    slow = []
    try:
        for number in range(40):
            sock = _connect(server)
            sock.sendall(POST_HEAD if number % 2 else b"GET /health HTTP/1.1\r\nHost: te")
            slow.append(sock)
        opened = time.monotonic()
        # Measured while all forty are still connected (they are cut off after TIMEOUT_S).
        during = _health_latencies(server, 50, TIMEOUT_S * 0.7)
        for sock in slow:
            data, closed = _read_until_closed(sock)
            assert _status_and_body(data)[0] == 408
            assert closed - opened <= TIMEOUT_S + SLACK_S
    finally:
        for sock in slow:
            sock.close()
    assert len(during) >= 5 and statistics.median(during) <= baseline * 3 + 0.02, (baseline, during)
