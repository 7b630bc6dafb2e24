"""Benchmark: mixed load from many concurrent clients, then a check that no write was lost.

Talks to a running server (one web process and one worker, e.g. `scripts/serve`); it is
not a test. Options: --url, --token, --clients (32), --seconds (60), --preload (10,000
memories, ingested first into the namespace `bench-load` unless it already holds them),
--seed, --mix (the share of each operation, default put=30,get=30,search=30,create=10;
e.g. --mix get=1 measures working-memory reads alone), --processes (1: the client processes
the clients are spread over; one asyncio loop serving 32 clients at 450 requests/s is itself
saturated, and a response then waits in the client's own queue: at 450 requests/s an
independent client saw GET p99 42 ms where the loop's own clients saw 308 ms).

Each client loops for --seconds over its own four sessions, choosing each request at
random: working memory PUT (30 %) and GET (30 %), long-term search (30 %: namespace
filter, a `topics` `any` filter, a generated question, limit 10) and long-term create (10
%: one new memory, a text new on every run). A PUT appends one message to the session (a
fresh conversation after 20) and sends it whole, so the last acknowledged PUT of each
session is exactly what must be stored. Afterwards every session is read back and compared
with its last acknowledged write, and every created memory is fetched: anything missing or
different is a lost write. Prints one JSON line: requests per second, p50/p95/p99 per
operation, errors and lost writes; exits 1 when either is non-zero.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import random
import sys
import time
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

import httpx
from bench_stats import summarise
from longterm import TOPICS, memories, search_bodies

NAMESPACE = "bench-load"
MIX = "put=30,get=30,search=30,create=10"
OPERATIONS = ("put", "get", "search", "create")
WINDOW = 20
SESSIONS_PER_CLIENT = 4


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--token")
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--preload", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--mix", type=mix, default=mix(MIX))
    parser.add_argument("--processes", type=int, default=1, help="client processes sharing --clients")
    args = parser.parse_args()
    if not 1 <= args.processes <= args.clients:
        parser.error("--processes must be between 1 and --clients")
    return args


def mix(text: str) -> list[tuple[str, int]]:
    """ "put=30,get=30" -> [("put", 30), ("get", 30)]."""
    shares = []
    for part in text.split(","):
        name, _, weight = part.partition("=")
        if name not in OPERATIONS or not weight.isdigit() or int(weight) < 1:
            wanted = ", ".join(OPERATIONS)
            raise argparse.ArgumentTypeError(f"expected operation=weight, operations {wanted}: {part!r}")
        shares.append((name, int(weight)))
    return shares


def fresh_memories() -> list[dict[str, Any]]:
    """Memories to create, different on every run (seeded by the system): a run against a
    server that kept the last run's would otherwise only merge exact duplicates."""
    return memories(random.Random(), 5000)


class Load:
    def __init__(
        self, client: httpx.AsyncClient, rng: random.Random, deadline: float, shares: list[tuple[str, int]]
    ) -> None:
        self.client = client
        self.operations = [name for name, weight in shares for _ in range(weight)]
        self.rng = rng
        self.deadline = deadline
        self.timings: dict[str, list[float]] = defaultdict(list)
        self.errors: list[str] = []
        self.sessions: dict[str, list[dict[str, Any]]] = {}  # last acknowledged messages
        self.created: dict[str, str] = {}  # id -> text
        self.searches = search_bodies(rng, 2000, NAMESPACE, "semantic")
        self.new_memories = fresh_memories()

    async def request(self, operation: str, method: str, path: str, **kwargs: Any) -> httpx.Response | None:
        started = time.perf_counter()
        try:
            response = await self.client.request(method, path, **kwargs)
        except httpx.HTTPError as error:
            self.errors.append(f"{operation}: {type(error).__name__}")
            return None
        self.timings[operation].append((time.perf_counter() - started) * 1000)
        if response.status_code >= 300:
            self.errors.append(f"{operation}: {response.status_code} {response.text[:200]}")
            return None
        return response

    async def client_loop(self, number: int) -> None:
        conversations: dict[str, list[dict[str, Any]]] = {
            f"load-{number}-{i}": [] for i in range(SESSIONS_PER_CLIENT)
        }
        sequence = 0
        while time.perf_counter() < self.deadline:
            operation = self.rng.choice(self.operations)
            session = self.rng.choice(list(conversations))
            if operation == "put" or (operation == "get" and session not in self.sessions):
                sequence += 1
                messages = conversations[session] if len(conversations[session]) < WINDOW else []
                messages = [*messages, {"role": "user", "content": f"client {number} says {sequence}"}]
                response = await self.request(
                    "put",
                    "PUT",
                    f"/sessions/{session}/memory",
                    json={"messages": messages},
                    params={"namespace": NAMESPACE},
                )
                if response is not None:
                    conversations[session] = response.json()["messages"]
                    self.sessions[session] = conversations[session]
            elif operation == "get":
                await self.request(
                    "get", "GET", f"/sessions/{session}/memory", params={"namespace": NAMESPACE}
                )
            elif operation == "search":
                await self.request(
                    "search", "POST", "/long-term-memory/search", json=self.rng.choice(self.searches)
                )
            else:
                if not self.new_memories:  # a create-only mix can use them all up
                    self.new_memories = fresh_memories()
                record = {**self.new_memories.pop(), "namespace": NAMESPACE}
                response = await self.request(
                    "create", "POST", "/long-term-memory", json={"memories": [record]}
                )
                if response is not None:
                    for memory_id in response.json()["stored"]:
                        self.created[memory_id] = record["text"]

    async def lost_writes(self) -> list[str]:
        lost = []
        for session, messages in self.sessions.items():
            response = await self.client.get(
                f"/sessions/{session}/memory", params={"namespace": NAMESPACE, "window_size": WINDOW + 1}
            )
            stored = response.json()["messages"] if response.status_code == 200 else None
            if stored is None or [m["id"] for m in stored] != [m["id"] for m in messages]:
                lost.append(f"session {session}")
        ids = list(self.created)
        for memory_id in ids:
            response = await self.client.get(
                f"/long-term-memory/{memory_id}", params={"namespace": NAMESPACE}
            )
            if response.status_code != 200 or response.json()["text"] != self.created[memory_id]:
                lost.append(f"memory {memory_id}")
        return lost


async def preload(client: httpx.AsyncClient, rng: random.Random, count: int) -> float:
    listing = await client.post("/long-term-memory/search", json={"namespace": {"eq": NAMESPACE}, "limit": 1})
    have = listing.json()["total"] if listing.status_code == 200 else 0
    if have >= count:
        return 0.0
    started = time.perf_counter()
    records = [{**record, "namespace": NAMESPACE} for record in memories(rng, count - have)]
    for start in range(0, len(records), 100):
        response = await client.post("/long-term-memory", json={"memories": records[start : start + 100]})
        response.raise_for_status()
    return time.perf_counter() - started


@dataclass
class Share:
    """What one client process measured."""

    timings: dict[str, list[float]]
    errors: list[str]
    lost: list[str]
    sessions: int
    memories: int
    elapsed: float


def client_process(args: argparse.Namespace, process: int, start_at: float) -> Share:
    """Run this process's share of the clients (numbered apart from the other processes')
    from `start_at` (time.time()) for --seconds, then check their writes."""
    numbers = range(process, args.clients, args.processes)
    return asyncio.run(_client_process(args, process, numbers, start_at))


async def _client_process(args: argparse.Namespace, process: int, numbers: range, start_at: float) -> Share:
    limits = httpx.Limits(max_connections=len(numbers), max_keepalive_connections=len(numbers))
    async with httpx.AsyncClient(
        base_url=args.url, headers=headers(args), timeout=30, limits=limits
    ) as client:
        # The requests are generated first; then every process runs the same window.
        wait = start_at - time.time()
        deadline = time.perf_counter() + max(0.0, wait) + args.seconds
        load = Load(client, random.Random(f"{args.seed}/{process}"), deadline, args.mix)
        if wait < 0:
            sys.stderr.write(f"client process {process} started {-wait:.1f} s late\n")
        await asyncio.sleep(max(0.0, start_at - time.time()))
        started = time.perf_counter()
        await asyncio.gather(*(load.client_loop(n) for n in numbers))
        elapsed = time.perf_counter() - started
        lost = await load.lost_writes()
    return Share(dict(load.timings), load.errors, lost, len(load.sessions), len(load.created), elapsed)


def headers(args: argparse.Namespace) -> dict[str, str]:
    return {"Authorization": f"Bearer {args.token}"} if args.token else {}


async def preloaded(args: argparse.Namespace) -> float:
    async with httpx.AsyncClient(base_url=args.url, headers=headers(args), timeout=30) as client:
        return await preload(client, random.Random(args.seed), args.preload)


def run(args: argparse.Namespace) -> dict[str, Any]:
    preload_s = asyncio.run(preloaded(args))
    start_at = time.time() + 1.0  # every process starts its clients at the same moment
    if args.processes == 1:
        shares = [client_process(args, 0, start_at)]
    else:
        with ProcessPoolExecutor(args.processes, mp_context=multiprocessing.get_context("spawn")) as pool:
            start_at += 2.0  # the children's imports
            futures = [pool.submit(client_process, args, p, start_at) for p in range(args.processes)]
            shares = [future.result() for future in futures]
    timings: dict[str, list[float]] = defaultdict(list)
    for share in shares:
        for operation, values in share.timings.items():
            timings[operation] += values
    errors = [error for share in shares for error in share.errors]
    lost = [item for share in shares for item in share.lost]
    elapsed = max(share.elapsed for share in shares)
    requests = sum(len(t) for t in timings.values()) + len(errors)
    return {
        "bench": "load",
        "clients": args.clients,
        "processes": args.processes,
        "mix": dict(args.mix),
        "seconds": round(elapsed, 1),
        "requests": requests,
        "requests_per_s": round(requests / elapsed, 1),
        "ms": {operation: summarise(values) for operation, values in sorted(timings.items())},
        "counts": {operation: len(values) for operation, values in sorted(timings.items())},
        "errors": len(errors),
        "error_samples": errors[:5],
        "lost_writes": len(lost),
        "lost_samples": lost[:5],
        "checked": {
            "sessions": sum(share.sessions for share in shares),
            "memories": sum(share.memories for share in shares),
        },
        "preload_s": round(preload_s, 1),
        "topics": len(TOPICS),
    }


def main() -> int:
    result = run(parse_args())
    sys.stdout.write(json.dumps(result) + "\n")
    return 1 if result["errors"] or result["lost_writes"] else 0


if __name__ == "__main__":
    sys.exit(main())
