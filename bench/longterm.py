"""Benchmark: long-term memory ingest rate and filtered search latency over HTTP.

Talks to a running server; it is not a test. Start the server, then run the benchmark:

    scripts/serve                          # in one terminal (PORT=8000 by default)
    .venv/bin/python bench/longterm.py     # in another

Options: --url (default http://127.0.0.1:8000), --token (sent as a bearer token),
--count (memories to ingest, default 10000), --batch (memories per POST, default 100; the
server indexes up to 100 before answering, larger calls are queued), --searches (measured
searches, default 500), --warmup (unmeasured searches first, default 20), --mode
(search_mode: semantic, keyword or hybrid; default semantic), --seed (default 7), --keep
(leave the memories in place instead of forgetting the namespace), --settle (before the
searches, wait until the server's background queues are empty, as `GET /info` reports: the
worker has finished enriching what was ingested, so the searches measure a server at rest
rather than one that is also tagging 10,000 new memories).

Ingest: `--count` generated memories (10-25 words from sentence templates over twenty
topics, each memory with 1-3 topics and one of fifty user ids, every text unique) are sent
as `POST /long-term-memory` batches into a fresh namespace `bench-lt-<random>`, one after
another over a single keep-alive connection. The ingest rate is memories per second of wall
clock from the first request to the last response; every batch must answer "ok" with
stored + merged ids accounting for every memory sent, and a filter-only search of the
namespace must then report `total` equal to `--count`.

Search: `POST /long-term-memory/search` with a namespace filter, a `topics` `any` filter of
one or two topics, a generated question as `text` and `limit` 10, sequentially on the same
connection, each timed with time.perf_counter. Every hit must belong to the namespace and
carry one of the requested topics.

At the end the namespace is forgotten (`POST /long-term-memory/forget`, dry_run false)
unless --keep is given. The script prints exactly one JSON line of figures (milliseconds,
memories per second) and exits with status 1 when any request failed or any check did not
hold.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
import uuid
from typing import Any

import httpx
from bench_stats import summarise

# Twenty topics, each with things a user might say about it.
TOPIC_THINGS: dict[str, tuple[str, ...]] = {
    "travel": ("the trip to Lisbon", "a weekend in the Alps", "the flight to Tokyo", "a rail pass for Italy"),
    "food": ("vegetarian ramen", "the new tapas bar", "homemade sourdough", "spicy Sichuan dishes"),
    "work": ("the quarterly roadmap", "a promotion review", "the on-call rotation", "the client demo"),
    "health": ("the dentist appointment", "a knee injury", "seasonal allergies", "the annual checkup"),
    "fitness": ("marathon training", "the morning yoga class", "a new climbing gym", "interval runs"),
    "family": ("the kids' school play", "a visit to grandma", "the family reunion", "a cousin's wedding"),
    "finance": ("the mortgage renewal", "a retirement account", "the monthly budget", "tax paperwork"),
    "music": ("jazz piano lessons", "the Radiohead concert", "an old vinyl collection", "a choir rehearsal"),
    "movies": ("the new Nolan film", "Studio Ghibli classics", "a horror movie marathon", "the film club"),
    "books": ("a Le Guin novel", "the book club pick", "audiobooks on commutes", "a history of Rome"),
    "pets": ("the rescue dog", "a cat with kidney trouble", "the aquarium filter", "puppy obedience class"),
    "home": ("the kitchen renovation", "a leaking roof", "new living room shelves", "the noisy neighbours"),
    "garden": ("tomato seedlings", "the compost heap", "a raised herb bed", "pruning the apple tree"),
    "technology": ("a new laptop", "the home server", "noise-cancelling headphones", "a smart thermostat"),
    "education": ("an evening Spanish course", "the statistics exam", "a coding bootcamp", "a pottery class"),
    "sports": ("the football season", "Sunday tennis matches", "the cycling club", "ski lessons"),
    "shopping": ("a winter coat", "the grocery delivery", "running shoes", "birthday presents"),
    "cars": ("the electric car lease", "winter tyres", "a road trip in the van", "the car service"),
    "weather": ("the heatwave", "a stormy weekend forecast", "the first snow", "endless autumn rain"),
    "art": ("watercolour painting", "the modern art museum", "a photography walk", "a sketching workshop"),
}
TOPICS = tuple(TOPIC_THINGS)
USERS = 50
NAMES = (
    "Ana", "Ben", "Chloe", "Dmitri", "Elena", "Farid", "Grace", "Hiro", "Ines", "Jonas",
    "Kemi", "Liam", "Maya", "Noor", "Oscar", "Priya", "Quentin", "Rosa", "Sven", "Tara",
)  # fmt: skip
WHEN = (
    "next week", "on Friday", "this weekend", "in March", "before the holidays",
    "after the summer", "tomorrow morning", "at the end of the month",
)  # fmt: skip
FEELINGS = ("excited", "worried", "curious", "relieved", "a bit stressed", "happy", "unsure", "motivated")
STATEMENTS = (
    "{name} mentioned being {feeling} about {thing} and wants a reminder {when}.",
    "{name} prefers {thing} over {other} and asked to keep that in mind for future suggestions.",
    "{name} is planning {thing} {when} and would like to compare it with {other}.",
    "Reminder for {name}: sort out {thing} {when}, since it keeps getting postponed.",
    "{name} said {thing} went much better than expected, unlike {other} last time.",
    "{name} spent most of the evening on {thing} and felt {feeling} afterwards.",
    "When talking about {thing}, {name} brought up {other} again and sounded {feeling}.",
    "{name} asked for advice on {thing}; the budget is tight so {other} has to wait.",
    "{name} dislikes {other} but keeps coming back to {thing} {when}.",
    "Last conversation: {name} is {feeling} that {thing} might clash with {other} {when}.",
    "{name} wants to share photos of {thing} with friends {when}.",
    "{name} keeps a checklist for {thing} and {other}, reviewed {when}.",
)
QUESTIONS = (
    "What does {name} think about {thing}?",
    "Any plans involving {thing}?",
    "{thing} preferences",
    "When is {name} dealing with {thing}?",
    "Has the user said anything about {thing} or {other}?",
    "How does {name} feel about {other}?",
    "reminders about {thing} {when}",
    "Which option did {name} prefer, {thing} or {other}?",
)
MIN_WORDS, MAX_WORDS = 10, 25


def _fill(rng: random.Random, template: str, topics: list[str]) -> str:
    primary, others = topics[0], topics[1:] or topics
    thing = rng.choice(TOPIC_THINGS[primary])
    other_pool = [t for topic in others for t in TOPIC_THINGS[topic] if t != thing]
    return template.format(
        name=rng.choice(NAMES),
        thing=thing,
        other=rng.choice(other_pool),
        when=rng.choice(WHEN),
        feeling=rng.choice(FEELINGS),
    )


def memories(rng: random.Random, count: int) -> list[dict[str, Any]]:
    """`count` memories with unique texts per user (so the server merges none of them)."""
    seen: set[tuple[str, str]] = set()
    records: list[dict[str, Any]] = []
    while len(records) < count:
        topics = rng.sample(TOPICS, rng.randint(1, 3))
        user_id = f"user-{rng.randrange(USERS):02d}"
        text = _fill(rng, rng.choice(STATEMENTS), topics)
        suffix = rng.choice(("", f" Noted {rng.choice(WHEN)}.", " Follow up later."))
        text += suffix
        if not MIN_WORDS <= len(text.split()) <= MAX_WORDS or (user_id, text.casefold()) in seen:
            continue
        seen.add((user_id, text.casefold()))
        records.append({"text": text, "topics": topics, "user_id": user_id, "memory_type": "semantic"})
    return records


def search_bodies(rng: random.Random, count: int, namespace: str, mode: str) -> list[dict[str, Any]]:
    bodies = []
    for _ in range(count):
        topics = rng.sample(TOPICS, rng.randint(1, 2))
        bodies.append(
            {
                "text": _fill(rng, rng.choice(QUESTIONS), topics),
                "namespace": {"eq": namespace},
                "topics": {"any": topics},
                "limit": 10,
                "search_mode": mode,
            }
        )
    return bodies


class Runner:
    """Sends requests one at a time, timing them; counts failures and failed checks in `errors`."""

    def __init__(self, client: httpx.Client) -> None:
        self.client = client
        self.errors = 0
        self.problems: list[str] = []

    def fail(self, problem: str) -> None:
        self.errors += 1
        if len(self.problems) < 5:
            self.problems.append(problem)

    def post(self, path: str, body: dict[str, Any]) -> tuple[float, dict[str, Any] | None]:
        """Elapsed milliseconds and the JSON answer (None when the request failed)."""
        content = json.dumps(body).encode()
        start = time.perf_counter()
        try:
            response = self.client.post(path, content=content)
            elapsed_ms = (time.perf_counter() - start) * 1000
            answer = response.json()
        except (httpx.HTTPError, ValueError) as error:
            self.fail(f"POST {path}: {error!r}")
            return (time.perf_counter() - start) * 1000, None
        if response.status_code != 200:
            self.fail(f"POST {path}: HTTP {response.status_code} {response.text[:200]}")
            return elapsed_ms, None
        return elapsed_ms, answer

    def ingest(self, batch: list[dict[str, Any]]) -> float:
        elapsed_ms, answer = self.post("/long-term-memory", {"memories": batch})
        if answer is not None:
            stored, merged = answer.get("stored", []), answer.get("merged", [])
            sent = {record["id"] for record in batch}
            accounted = set(stored) | {item.get("id") for item in merged}
            if answer.get("status") != "ok" or len(stored) + len(merged) != len(batch) or accounted != sent:
                self.fail(f"ingest answer does not account for the batch: {str(answer)[:200]}")
            elif merged:
                self.fail(f"{len(merged)} memories merged as duplicates")
        return elapsed_ms

    def search(self, body: dict[str, Any]) -> float:
        elapsed_ms, answer = self.post("/long-term-memory/search", body)
        if answer is not None:
            wanted = {topic.casefold() for topic in body["topics"]["any"]}
            for hit in answer.get("memories", []):
                topics = {topic.casefold() for topic in hit.get("topics", [])}
                if hit.get("namespace") != body["namespace"]["eq"] or not topics & wanted:
                    self.fail(f"search hit outside the filters: {hit.get('id')}")
                    break
        return elapsed_ms


def json_headers(token: str | None) -> dict[str, str]:
    """Request headers of the benchmarks: JSON bodies, and the bearer token when given."""
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return headers


def finish(result: dict[str, Any], runner: Runner, namespace: str, args: argparse.Namespace) -> int:
    """Print the one JSON line (with the failures and the kept namespace), return the exit status."""
    result |= {
        "errors": runner.errors,
        "problems": runner.problems,
        "namespace": namespace if args.keep else None,
        "url": args.url,
    }
    sys.stdout.write(json.dumps(result) + "\n")
    return 1 if runner.errors else 0


def server_parser(doc: str) -> argparse.ArgumentParser:
    """A benchmark's argument parser, described by its docstring's first line, with the options
    every benchmark takes: --url of the running server and its bearer --token."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000", help="Base URL of the running server.")
    parser.add_argument("--token", default=None, help="Bearer token, when the server requires one.")
    return parser


def parse_args() -> argparse.Namespace:
    parser = server_parser(__doc__)
    parser.add_argument("--count", type=int, default=10_000, help="Memories to ingest.")
    parser.add_argument("--batch", type=int, default=100, help="Memories per POST (at most 100).")
    parser.add_argument("--searches", type=int, default=500, help="Measured searches.")
    parser.add_argument("--warmup", type=int, default=20, help="Unmeasured searches first.")
    parser.add_argument("--mode", choices=("semantic", "keyword", "hybrid"), default="semantic")
    parser.add_argument("--seed", type=int, default=7, help="Seed of the generated texts.")
    parser.add_argument("--keep", action="store_true", help="Do not forget the namespace at the end.")
    parser.add_argument("--settle", action="store_true", help="Wait for empty background queues first.")
    args = parser.parse_args()
    if args.count < 1 or args.searches < 1 or args.warmup < 0 or not 1 <= args.batch <= 100:
        parser.error("--count and --searches must be at least 1, --warmup at least 0, --batch 1-100")
    return args


def timed_ingest(runner: Runner, records: list[dict[str, Any]], size: int) -> tuple[float, list[float]]:
    """Wall-clock seconds of the whole ingest, and each batch's milliseconds."""
    batches = [records[start : start + size] for start in range(0, len(records), size)]
    start = time.perf_counter()
    batch_ms = [runner.ingest(batch) for batch in batches]
    return time.perf_counter() - start, batch_ms


def check_total(runner: Runner, namespace: str, expected: int) -> None:
    _, answer = runner.post("/long-term-memory/search", {"namespace": {"eq": namespace}, "limit": 1})
    if answer is not None and answer.get("total") != expected:
        runner.fail(f"namespace holds {answer.get('total')} memories, expected {expected}")


def settle(client: httpx.Client, timeout: float = 600.0) -> float:
    """Wait until /info reports no job waiting in any queue, then two seconds more (for the
    jobs already taken); return the seconds waited."""
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        if not any(client.get("/info").json().get("queues", {}).values()):
            break
        time.sleep(0.5)
    time.sleep(2.0)
    return time.perf_counter() - started


def forget(runner: Runner, namespace: str, expected: int) -> None:
    _, answer = runner.post("/long-term-memory/forget", {"namespace": namespace, "dry_run": False})
    if answer is not None and answer.get("deleted") != expected:
        runner.fail(f"forget deleted {answer.get('deleted')} memories, expected {expected}")


def main() -> int:
    args = parse_args()
    rng = random.Random(args.seed)
    namespace = f"bench-lt-{uuid.uuid4().hex[:12]}"
    records = memories(rng, args.count)
    for number, record in enumerate(records):
        record |= {"id": f"m{number:07d}", "namespace": namespace}
    searches = search_bodies(rng, args.warmup + args.searches, namespace, args.mode)
    headers = json_headers(args.token)

    with httpx.Client(base_url=args.url.rstrip("/"), headers=headers, timeout=120.0) as client:
        runner = Runner(client)
        try:
            ingest_s, batch_ms = timed_ingest(runner, records, args.batch)
            check_total(runner, namespace, args.count)
            settled_s = settle(client) if args.settle else None
            for body in searches[: args.warmup]:
                runner.search(body)
            search_ms = [runner.search(body) for body in searches[args.warmup :]]
        finally:
            if not args.keep:
                forget(runner, namespace, args.count)

    result = {
        "bench": "longterm",
        "memories": args.count,
        "batch": args.batch,
        "ingest_s": round(ingest_s, 3),
        "ingest_per_s": round(args.count / ingest_s, 1),
        "ingest_batch_ms": summarise(batch_ms),
        "searches": args.searches,
        "search_ms": summarise(search_ms),
        "mode": args.mode,
        "settled_s": None if settled_s is None else round(settled_s, 1),
    }
    return finish(result, runner, namespace, args)


if __name__ == "__main__":
    sys.exit(main())
