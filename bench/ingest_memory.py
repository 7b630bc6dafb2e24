"""Benchmark: resident memory of the web process while long-term memories are ingested.

Talks to a running server; it is not a test. Start the server, note the pid of its web
process (`agent-memory api`), then run the benchmark on the same machine:

    PORT=8031 LOCAL_REDIS_PORT=6431 DISABLE_AUTH=true scripts/serve     # in one terminal
    .venv/bin/python bench/ingest_memory.py --url http://127.0.0.1:8031 \\
        --pid "$(pgrep -f 'agent-memory api' | head -1)"                # in another

Options: --url (default http://127.0.0.1:8000), --token (sent as a bearer token), --pid
(the web process whose VmRSS is sampled; required), --count (memories, default 100000),
--batch (memories per POST, default 100), --sample-every (memories between samples,
default 5000), --seed (default 7), --keep (leave the memories in place).

Memories have mixed lengths: 8-190 words of generated text (about 10-250 tokens of the
local model, so runs of every padded shape up to the model's 256-token limit), built from
sentence templates over twenty topics plus a random word salad, every text unique. They go
into a fresh namespace `bench-mem-<random>` as `POST /long-term-memory` batches, one after
another over one keep-alive connection. Before the first batch, every `--sample-every`
memories and after the last, the server's VmRSS and VmHWM (peak) are read from
/proc/<pid>/status. Every batch must answer "ok" with every id stored or merged.

At the end the namespace is forgotten unless --keep is given. The script prints exactly
one JSON line (RSS in MiB, memories per second) and exits with status 1 when any request
failed.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
from longterm import STATEMENTS, TOPICS, USERS, Runner, _fill, finish, server_parser

MIN_WORDS, MAX_WORDS = 8, 190
# Plain words for the varied filler, so lengths are not only multiples of a template.
_WORD_TEXT = (
    "after again almost already always another answer around asked back because before began "
    "being below better between both bring brought called came change city close come could "
    "country course different does during early earth enough even every example family father "
    "few find first follow food form found four friends gave give going good great group grow "
    "hand hard head hear help here high home house however important keep kind knew know land "
    "large last learn leave left letter life light line little live long look made make many "
    "might mile miss more morning most mother mountain move much music must name near need never "
    "next night nothing number often once only open order other over own page paper part people "
    "picture place plant play point possible present problem question quickly quite rather read "
    "really right river room round said same school science second seemed sentence several short "
    "should show side since small something sometimes song soon sound spell stand start state "
    "still story study such sure take talk tell than their them there these thing think those "
    "thought three through time together took tree turn under until upon usually very walk want "
    "watch water weather week well went were where which while white whole why without word work "
    "world would write year young"
)
WORDS = tuple(_WORD_TEXT.split())


def text_of(rng: random.Random, words: int) -> str:
    """About `words` words: template sentences about random topics, then filler words."""
    parts: list[str] = []
    count = 0
    while count < words:
        if rng.random() < 0.6:
            sentence = _fill(rng, rng.choice(STATEMENTS), rng.sample(TOPICS, rng.randint(1, 3)))
        else:
            sentence = " ".join(rng.choices(WORDS, k=rng.randint(4, 14))).capitalize() + "."
        parts.append(sentence)
        count += len(sentence.split())
    return " ".join(" ".join(parts).split()[:words])


def memories(rng: random.Random, count: int) -> list[dict[str, Any]]:
    """`count` memories of mixed lengths, no two texts alike."""
    seen: set[str] = set()
    records: list[dict[str, Any]] = []
    while len(records) < count:
        text = text_of(rng, rng.randint(MIN_WORDS, MAX_WORDS))
        if text.casefold() in seen:
            continue
        seen.add(text.casefold())
        records.append(
            {"text": text, "user_id": f"user-{rng.randrange(USERS):02d}", "memory_type": "semantic"}
        )
    return records


def memory_mib(pid: int) -> dict[str, float]:
    """VmRSS and VmHWM (peak RSS) of `pid`, in MiB."""
    figures = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            figures[name] = round(int(value.split()[0]) / 1024, 1)
    return figures


def parse_args() -> argparse.Namespace:
    parser = server_parser(__doc__)
    parser.add_argument("--pid", type=int, required=True, help="Pid of the web process to sample.")
    parser.add_argument("--count", type=int, default=100_000, help="Memories to ingest.")
    parser.add_argument("--batch", type=int, default=100, help="Memories per POST (at most 100).")
    parser.add_argument("--sample-every", type=int, default=5000, help="Memories between RSS samples.")
    parser.add_argument("--seed", type=int, default=7, help="Seed of the generated texts.")
    parser.add_argument("--keep", action="store_true", help="Do not forget the namespace at the end.")
    args = parser.parse_args()
    if args.count < 1 or args.sample_every < 1 or not 1 <= args.batch <= 100:
        parser.error("--count and --sample-every must be at least 1, --batch 1-100")
    if not Path(f"/proc/{args.pid}/status").is_file():
        parser.error(f"--pid {args.pid}: no such process on this machine")
    return args


def main() -> int:
    args = parse_args()
    rng = random.Random(args.seed)
    namespace = f"bench-mem-{uuid.uuid4().hex[:12]}"
    records = memories(rng, args.count)
    for number, record in enumerate(records):
        record |= {"id": f"r{number:07d}", "namespace": namespace}
    headers = {"Content-Type": "application/json"}
    if args.token:
        headers["Authorization"] = f"Bearer {args.token}"

    samples: list[dict[str, float]] = [{"memories": 0, **memory_mib(args.pid)}]
    with httpx.Client(base_url=args.url.rstrip("/"), headers=headers, timeout=300.0) as client:
        runner = Runner(client)
        start = time.perf_counter()
        next_sample = args.sample_every
        try:
            for offset in range(0, len(records), args.batch):
                runner.ingest(records[offset : offset + args.batch])
                done = min(offset + args.batch, len(records))
                if done >= next_sample or done == len(records):
                    samples.append({"memories": done, **memory_mib(args.pid)})
                    next_sample += args.sample_every
            ingest_s = time.perf_counter() - start
        finally:
            if not args.keep:
                runner.post("/long-term-memory/forget", {"namespace": namespace, "dry_run": False})

    rss = [sample["VmRSS"] for sample in samples]
    result = {
        "bench": "ingest_memory",
        "memories": args.count,
        "batch": args.batch,
        "ingest_s": round(ingest_s, 1),
        "ingest_per_s": round(args.count / ingest_s, 1),
        "rss_start_mib": rss[0],
        "rss_end_mib": rss[-1],
        "rss_max_mib": max(rss),
        "peak_hwm_mib": samples[-1].get("VmHWM"),
        "samples": samples,
    }
    return finish(result, runner, namespace, args)


if __name__ == "__main__":
    sys.exit(main())
