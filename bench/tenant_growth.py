"""Benchmark: does one tenant's search slow down as other tenants' memories grow?

Talks to a running server; it is not a test. Start a server with an empty Redis, then:

    .venv/bin/python bench/tenant_growth.py --url http://127.0.0.1:8000

Steps, all over one keep-alive connection with the request shapes of bench/longterm.py:
1. `--count` memories (default 10,000) into a fresh namespace `bench-tg-<random>`;
   then `--searches` filtered searches of it (namespace + topics, `--mode`, default hybrid,
   after `--warmup` unmeasured ones): the "alone" figures.
2. `--others` memories (default 100,000) into `--other-namespaces` other namespaces (default
   10), in batches of 100: the rest of a multi-tenant server.
3. As many searches of the first namespace again: the "among others" figures.
Then every namespace is forgotten unless --keep is given.

The rounds ask different questions drawn from the same generator (the server's query
cache would answer repeated ones without embedding them).

The script prints one JSON line: both rounds' latency percentiles (ms), the growth of p50
and p95 in percent, the ingest rates, and `errors`; it exits with status 1 when any request
failed or any check did not hold.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
import uuid
from typing import Any

import httpx
from bench_stats import summarise
from longterm import (
    Runner,
    check_total,
    finish,
    forget,
    json_headers,
    memories,
    search_bodies,
    server_parser,
    timed_ingest,
)

MODES = ("semantic", "keyword", "hybrid")


def parse_args() -> argparse.Namespace:
    parser = server_parser(__doc__)
    parser.add_argument("--count", type=int, default=10_000, help="Memories of the measured tenant.")
    parser.add_argument("--others", type=int, default=100_000, help="Memories of the other tenants.")
    parser.add_argument("--other-namespaces", type=int, default=10, help="How many other tenants.")
    parser.add_argument("--searches", type=int, default=300, help="Measured searches per round.")
    parser.add_argument("--warmup", type=int, default=20, help="Unmeasured searches before each round.")
    parser.add_argument("--mode", choices=MODES, default="hybrid")
    parser.add_argument("--seed", type=int, default=11, help="Seed of the generated texts.")
    parser.add_argument("--keep", action="store_true", help="Do not forget the namespaces at the end.")
    args = parser.parse_args()
    if min(args.count, args.others, args.other_namespaces, args.searches) < 1 or args.warmup < 0:
        parser.error("--count, --others, --other-namespaces and --searches must be at least 1")
    return args


def tenant(rng: random.Random, namespace: str, count: int, prefix: str) -> list[dict[str, Any]]:
    records = memories(rng, count)
    for number, record in enumerate(records):
        record |= {"id": f"{prefix}{number:07d}", "namespace": namespace}
    return records


def measured(runner: Runner, bodies: list[dict[str, Any]], warmup: int) -> dict[str, float]:
    for body in bodies[:warmup]:
        runner.search(body)
    return summarise([runner.search(body) for body in bodies[warmup:]])


def growth(before: float, after: float) -> float:
    return round(100.0 * (after - before) / before, 1) if before else 0.0


def main() -> int:
    args = parse_args()
    rng = random.Random(args.seed)
    run = uuid.uuid4().hex[:10]
    measured_ns = f"bench-tg-{run}"
    others = [f"bench-tg-{run}-other-{n:02d}" for n in range(args.other_namespaces)]
    share = -(-args.others // len(others))
    bodies = search_bodies(rng, args.warmup + args.searches, measured_ns, args.mode)
    again = search_bodies(rng, args.warmup + args.searches, measured_ns, args.mode)
    headers = json_headers(args.token)

    stored: dict[str, int] = {}
    with httpx.Client(base_url=args.url.rstrip("/"), headers=headers, timeout=120.0) as client:
        runner = Runner(client)
        try:
            own_s, _ = timed_ingest(runner, tenant(rng, measured_ns, args.count, "t"), 100)
            stored[measured_ns] = args.count
            check_total(runner, measured_ns, args.count)
            alone = measured(runner, bodies, args.warmup)
            started, left = time.perf_counter(), args.others
            for number, namespace in enumerate(others):
                count = min(share, left)
                if count <= 0:
                    break
                timed_ingest(runner, tenant(rng, namespace, count, f"o{number:02d}-"), 100)
                stored[namespace], left = count, left - count
            others_s = time.perf_counter() - started
            among = measured(runner, again, args.warmup)
        finally:
            if not args.keep:
                for namespace, count in stored.items():
                    forget(runner, namespace, count)

    result = {
        "bench": "tenant_growth",
        "mode": args.mode,
        "memories": args.count,
        "other_memories": args.others,
        "other_namespaces": len(others),
        "searches": args.searches,
        "alone_ms": alone,
        "among_others_ms": among,
        "p50_growth_pct": growth(alone["p50"], among["p50"]),
        "p95_growth_pct": growth(alone["p95"], among["p95"]),
        "ingest_per_s": round(args.count / own_s, 1),
        "others_ingest_per_s": round(args.others / others_s, 1),
    }
    return finish(result, runner, measured_ns, args)


if __name__ == "__main__":
    sys.exit(main())
