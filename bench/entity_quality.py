"""Benchmark: how well the server's entity tagging finds the names in a labelled sample.

Talks to a running server and its worker; it is not a test. Start the server (with or
without a chat model: it measures whichever tags entities, as `GET /info` states), then:

    .venv/bin/python bench/entity_quality.py --url http://127.0.0.1:8000

The sample (`bench/data/entities_sample.jsonl`, 40 short memories in the style agents store,
written for this benchmark) lists for each text the names a reader would tag: people,
organisations, places, nationalities and groups, events, products, works, laws and
languages; no dates, times or amounts. The memories are stored in a fresh namespace, the
script waits until no background job is waiting, reads each memory's `entities` and scores
them against the labels, ignoring case: precision, recall and F1 over all names, and the
share of memories tagged exactly. It prints one JSON line (with the names missed and the
extra ones found) and forgets the namespace unless --keep is given.
"""

from __future__ import annotations

import argparse
import json
import sys
import uuid
from pathlib import Path
from typing import Any

import httpx
from longterm import Runner, finish, forget, json_headers, server_parser, settle

SAMPLE = Path(__file__).with_name("data") / "entities_sample.jsonl"


def parse_args() -> argparse.Namespace:
    parser = server_parser(__doc__)
    parser.add_argument("--sample", type=Path, default=SAMPLE, help="Labelled JSONL: text, entities.")
    parser.add_argument("--keep", action="store_true", help="Do not forget the namespace at the end.")
    return parser.parse_args()


def score(labelled: list[tuple[set[str], set[str]]]) -> dict[str, Any]:
    """Micro precision/recall/F1 of (expected, found) name sets, already case-folded."""
    hits = sum(len(expected & found) for expected, found in labelled)
    found_total = sum(len(found) for _, found in labelled)
    expected_total = sum(len(expected) for expected, _ in labelled)
    precision = hits / found_total if found_total else 1.0
    recall = hits / expected_total if expected_total else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    exact = sum(expected == found for expected, found in labelled) / len(labelled)
    return {
        "precision": round(precision, 3),
        "recall": round(recall, 3),
        "f1": round(f1, 3),
        "exact": round(exact, 3),
    }


def main() -> int:
    args = parse_args()
    sample = [json.loads(line) for line in args.sample.read_text().splitlines() if line.strip()]
    namespace = f"bench-entities-{uuid.uuid4().hex[:10]}"
    records = [
        {"id": f"n{i:03d}", "text": item["text"], "namespace": namespace} for i, item in enumerate(sample)
    ]
    with httpx.Client(
        base_url=args.url.rstrip("/"), headers=json_headers(args.token), timeout=120.0
    ) as client:
        runner = Runner(client)
        feature = client.get("/info").json()["features"]["entities"]
        runner.ingest(records)
        settle(client)
        labelled, missed, extra = [], [], []
        for record, item in zip(records, sample, strict=True):
            response = client.get(f"/long-term-memory/{record['id']}", params={"namespace": namespace})
            if response.status_code != 200:
                runner.fail(f"GET {record['id']}: HTTP {response.status_code}")
                continue
            found = {name.casefold() for name in response.json()["entities"]}
            expected = {name.casefold() for name in item["entities"]}
            labelled.append((expected, found))
            missed += sorted(expected - found)
            extra += sorted(found - expected)
        if not args.keep:
            forget(runner, namespace, len(records))
    result = {"bench": "entity_quality", "entities": feature, "memories": len(sample)}
    result |= score(labelled) if labelled else {}
    result |= {"missed": missed, "extra": extra}
    return finish(result, runner, namespace, args)


if __name__ == "__main__":
    sys.exit(main())
