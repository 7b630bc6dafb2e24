"""Benchmark: mixed load from many concurrent clients, then a check that no write was lost.

Talks to a running server (one web process and one worker, e.g. `scripts/serve`); it is
not a test. Options: --url, --token, --clients (32), --seconds (60), --preload (10,000
memories, ingested first into the namespace `bench-load` unless it already holds them),
--seed, --mix (the share of each operation, default put=30,get=30,search=30,create=10;
e.g. --mix get=1 measures working-memory reads alone).

Each client loops for --seconds over its own four sessions, choosing each request at
random: working memory PUT (30 %) and GET (30 %), long-term search (30 %: namespace
filter, a `topics` `any` filter, a generated question, limit 10) and long-term create
(10 %: one new memory). A PUT appends one message to the session (a fresh conversation
after 20) and sends it whole, so the last acknowledged PUT of each session is exactly
what must be stored. Afterwards every session is read back and compared with its last
acknowledged write, and every created memory is fetched: anything missing or different
is a lost write. Prints one JSON line: requests per second, p50/p95/p99 per operation,
errors and lost writes; exits 1 when either is non-zero.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import time
from collections import defaultdict
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
    return parser.parse_args()


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
        self.new_memories = memories(random.Random(rng.random()), 5000)

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
                    self.new_memories = memories(random.Random(self.rng.random()), 5000)
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


async def run(args: argparse.Namespace) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {args.token}"} if args.token else {}
    limits = httpx.Limits(max_connections=args.clients, max_keepalive_connections=args.clients)
    async with httpx.AsyncClient(base_url=args.url, headers=headers, timeout=30, limits=limits) as client:
        rng = random.Random(args.seed)
        preload_s = await preload(client, rng, args.preload)
        load = Load(client, rng, time.perf_counter() + args.seconds, args.mix)
        started = time.perf_counter()
        await asyncio.gather(*(load.client_loop(n) for n in range(args.clients)))
        elapsed = time.perf_counter() - started
        lost = await load.lost_writes()
    requests = sum(len(t) for t in load.timings.values()) + len(load.errors)
    return {
        "bench": "load",
        "clients": args.clients,
        "mix": dict(args.mix),
        "seconds": round(elapsed, 1),
        "requests": requests,
        "requests_per_s": round(requests / elapsed, 1),
        "ms": {operation: summarise(timings) for operation, timings in sorted(load.timings.items())},
        "counts": {operation: len(timings) for operation, timings in sorted(load.timings.items())},
        "errors": len(load.errors),
        "error_samples": load.errors[:5],
        "lost_writes": len(lost),
        "lost_samples": lost[:5],
        "checked": {"sessions": len(load.sessions), "memories": len(load.created)},
        "preload_s": round(preload_s, 1),
        "topics": len(TOPICS),
    }


def main() -> int:
    result = asyncio.run(run(parse_args()))
    sys.stdout.write(json.dumps(result) + "\n")
    return 1 if result["errors"] or result["lost_writes"] else 0


if __name__ == "__main__":
    sys.exit(main())
