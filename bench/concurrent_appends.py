"""Benchmark: do concurrent writers of one session lose messages?

Talks to a running server; it is not a test. Start the server, then run the benchmark:

    scripts/serve                                    # in one terminal (PORT=8000 by default)
    .venv/bin/python bench/concurrent_appends.py     # in another

--clients (default 10) threads each add --messages (default 20) messages, one request per
message, to the same fresh session in the namespace "bench-appends", --runs times (default 5)
per method:

- `append`, `v1-append`: the atomic append, `POST /sessions/{id}/messages` and
  `POST /v1/working-memory/{id}/messages`;
- `if-match`, `v1-if-match`: read the session, add the message, `PUT` it back with the read's
  ETag in `If-Match`, and on 412 read again and retry;
- `get-put` (with --naive): read, add, `PUT` without `If-Match`, as the upstream client's
  append does: last writer wins, so this one is expected to lose messages.

Afterwards the session is read whole: a run is correct when every message is there and each
client's messages are in the order it sent them. The script prints one JSON line (per method:
messages kept per run, runs correct, 412 retries, requests per second) and exits with status 1
when an atomic method lost or reordered anything or a request failed.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import httpx

NAMESPACE = "bench-appends"
ATOMIC = ("append", "v1-append", "if-match", "v1-if-match")


@dataclass
class Counters:
    retries: int = 0
    failures: int = 0


def _paths(method: str, session: str) -> tuple[str, str]:
    """(path to read or append to, path to PUT) of a session for a method."""
    if method.startswith("v1"):
        return f"/v1/working-memory/{session}/messages", f"/v1/working-memory/{session}"
    return f"/sessions/{session}/messages", f"/sessions/{session}/memory"


def _add_one(method: str, client: httpx.Client, session: str, text: str, counters: Counters) -> None:
    message = {"role": "user", "content": text}
    append_path, memory_path = _paths(method, session)
    params = {"namespace": NAMESPACE}
    if method.endswith("append"):
        response = client.post(append_path, params=params, json={"messages": [message]})
        counters.failures += response.status_code != 200
        return
    read_params = params if method.startswith("v1") else {**params, "window_size": 10_000}
    while True:
        read = client.get(memory_path, params=read_params)
        messages = [*read.json()["messages"], message] if read.status_code == 200 else [message]
        headers = {"If-Match": read.headers.get("ETag", "*")} if method != "get-put" else {}
        written = client.put(memory_path, params=params, json={"messages": messages}, headers=headers)
        if written.status_code == 412:
            counters.retries += 1
            continue
        counters.failures += written.status_code != 200
        return


def _run(method: str, base: httpx.Client, make: Callable[[], httpx.Client], args: argparse.Namespace) -> dict:
    session = f"race-{uuid.uuid4().hex[:10]}"
    counters = Counters()
    if method != "append" and method != "v1-append":
        base.put(f"/sessions/{session}/memory", params={"namespace": NAMESPACE}, json={"messages": []})

    def client_work(index: int) -> None:
        with make() as client:
            for n in range(args.messages):
                _add_one(method, client, session, f"c{index}-{n}", counters)

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=args.clients) as pool:
        for future in [pool.submit(client_work, index) for index in range(args.clients)]:
            future.result()
    seconds = time.perf_counter() - started
    stored = base.get(f"/sessions/{session}/memory", params={"namespace": NAMESPACE, "window_size": 10_000})
    texts = [m["content"] for m in stored.json()["messages"]]
    in_order = all(
        [t for t in texts if t.startswith(f"c{i}-")] == [f"c{i}-{n}" for n in range(args.messages)]
        for i in range(args.clients)
    )
    base.delete(f"/sessions/{session}/memory", params={"namespace": NAMESPACE})
    return {
        "kept": len(texts),
        "correct": in_order and len(texts) == args.clients * args.messages,
        "retries": counters.retries,
        "failures": counters.failures,
        "writes_per_second": round(args.clients * args.messages / seconds, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--token")
    parser.add_argument("--clients", type=int, default=10)
    parser.add_argument("--messages", type=int, default=20)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--naive", action="store_true", help="also run GET + PUT without If-Match")
    args = parser.parse_args()
    headers = {"Authorization": f"Bearer {args.token}"} if args.token else {}

    def make() -> httpx.Client:
        return httpx.Client(base_url=args.url, headers=headers, timeout=30)

    methods = [*ATOMIC, *(["get-put"] if args.naive else [])]
    figures: dict[str, dict] = {}
    ok = True
    with make() as base:
        for method in methods:
            runs = [_run(method, base, make, args) for _ in range(args.runs)]
            figures[method] = {
                "kept": [run["kept"] for run in runs],
                "runs_correct": sum(run["correct"] for run in runs),
                "retries_412": sum(run["retries"] for run in runs),
                "failed_requests": sum(run["failures"] for run in runs),
                "writes_per_second": sorted(run["writes_per_second"] for run in runs)[len(runs) // 2],
            }
            if method in ATOMIC:
                ok = ok and figures[method]["runs_correct"] == args.runs
            ok = ok and figures[method]["failed_requests"] == 0
    summary = {"clients": args.clients, "messages_per_client": args.messages, **figures}
    sys.stdout.write(json.dumps({**summary, "expected": args.clients * args.messages}) + "\n")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
