"""Benchmark: background enrichment (entity tagging) against the ingest it follows.

Talks to a running server and its worker; it is not a test. Start the server, then:

    .venv/bin/python bench/enrichment.py --url http://127.0.0.1:8000

Ingest: `--count` memories (default 2,000; bench/longterm.py's generator: 10-25 words, each
naming one of twenty people, and places, bands or films) are sent as `POST /long-term-memory`
batches of 100 into a fresh namespace, one after another over one keep-alive connection. The
acknowledged-ingest rate is memories per second until the last batch is answered.

Enrichment: every `--poll` seconds (default 0.5) the script counts the namespace's memories
tagged with one of the twenty people (`entities: {"any": [...]}`) and reads the extraction
queue's depth from `GET /info`. Enrichment is done when the queue is empty and the count has
not moved for three polls (or after `--timeout` seconds); the enrichment rate is memories
per second from the first batch sent to the moment the count reached its final value, so a
worker that keeps up with ingest gives about the ingest rate.

Run it twice to see what enrichment costs ingest: once as the server starts by default
(entities tagged by the local model when no chat model is configured) and once with
`ENTITY_EXTRACTOR=off`. The script prints one JSON line (the server's `entities` feature as
/info states it, both rates, the share of memories tagged with their person, `errors`) and
forgets the namespace unless --keep is given; it exits with status 1 when a request failed.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
import uuid
from typing import Any

import httpx
from longterm import NAMES, Runner, finish, forget, json_headers, memories, server_parser, timed_ingest


def parse_args() -> argparse.Namespace:
    parser = server_parser(__doc__)
    parser.add_argument("--count", type=int, default=2_000, help="Memories to ingest.")
    parser.add_argument("--poll", type=float, default=0.5, help="Seconds between progress checks.")
    parser.add_argument("--timeout", type=float, default=600.0, help="Give up on enrichment after this.")
    parser.add_argument("--seed", type=int, default=5, help="Seed of the generated texts.")
    parser.add_argument("--keep", action="store_true", help="Do not forget the namespace at the end.")
    args = parser.parse_args()
    if args.count < 1 or args.poll <= 0:
        parser.error("--count must be at least 1 and --poll positive")
    return args


def tagged(runner: Runner, namespace: str) -> int | None:
    body = {"namespace": {"eq": namespace}, "entities": {"any": list(NAMES)}, "limit": 1}
    _, answer = runner.post("/long-term-memory/search", body)
    return None if answer is None else int(answer["total"])


def info(client: httpx.Client) -> dict[str, Any]:
    response = client.get("/info")
    response.raise_for_status()
    return dict(response.json())


def main() -> int:
    args = parse_args()
    namespace = f"bench-enrich-{uuid.uuid4().hex[:10]}"
    records = memories(random.Random(args.seed), args.count)
    for number, record in enumerate(records):
        record |= {"id": f"e{number:07d}", "namespace": namespace}
    headers = json_headers(args.token)

    with httpx.Client(base_url=args.url.rstrip("/"), headers=headers, timeout=120.0) as client:
        runner = Runner(client)
        entities_feature = info(client)["features"]["entities"]
        started = time.perf_counter()
        try:
            ingest_s, _ = timed_ingest(runner, records, 100)
            final, reached, still = 0, time.perf_counter(), 0
            while time.perf_counter() - started < args.timeout and still < 3:
                time.sleep(args.poll)
                count = tagged(runner, namespace)
                waiting = info(client)["queues"].get("extraction", 0)
                if count is None:
                    break
                if count != final:
                    final, reached, still = count, time.perf_counter(), 0
                elif waiting == 0:
                    still += 1
            enriched_s = reached - started
        finally:
            if not args.keep:
                forget(runner, namespace, args.count)

    result = {
        "bench": "enrichment",
        "entities": entities_feature,
        "memories": args.count,
        "ingest_per_s": round(args.count / ingest_s, 1),
        "tagged_with_their_person": round(final / args.count, 3),
        "enriched_per_s": round(args.count / enriched_s, 1) if final else 0.0,
        "enrichment_done_s": round(enriched_s, 2) if final else None,
    }
    return finish(result, runner, namespace, args)


if __name__ == "__main__":
    sys.exit(main())
