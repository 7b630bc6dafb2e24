"""Benchmark: recall of LoCoMo's evidence turns through the long-term memory search API.

Talks to a running server; it is not a test. Start the server, then run the benchmark:

    scripts/serve                                # in one terminal (PORT=8000 by default)
    .venv/bin/python bench/locomo_recall.py      # in another

Data: LoCoMo's `locomo10.json` (--data; default ../shared/bench/locomo10.json beside the
repository) and `locomo10.qrels.jsonl` (--qrels; default beside the data file), whose 1,536
questions of categories 1-4 with cleaned evidence ids are the ones asked.

Ingest: every dialogue turn of each of the ten conversations becomes one memory in the
conversation's own namespace `locomo-<run>-<sample_id>`, sent with `POST /long-term-memory`
in batches of 100 over one keep-alive connection: id = the turn's dia_id (e.g. "D1:3"),
memory_type "episodic", session_id "session_<n>", created_at = the session's date_time
("1:56 pm on 8 May, 2023", read as UTC), as a client storing a chat would. --text-format
decides the text: "raw" (the turn), "speaker" ("<speaker>: <turn>", the default) or
"speaker-date" ("<speaker> (8 May 2023): <turn>", a date pasted into the text). With
--captions, a turn that shares an image gets its BLIP caption
appended as " [shares a photo of <caption>]". Turns the server merges as exact duplicates
(same text but for case and spacing) count as found when the memory they were merged into
is; the merges it reports must be the ones expected.

Questions: each question is sent as `text` to `POST /long-term-memory/search` with a
namespace filter and `limit` 10, sequentially, once per mode of --modes (default: the
server's default mode, no search_mode sent; semantic, keyword, hybrid; default all four).
--hybrid-alpha takes one or more weights of the semantic
ranking; each runs as its own hybrid pass, named "hybrid@<alpha>" when it is given (plain
"hybrid" uses the server's default). recall@k is the fraction of a question's evidence
dia_ids among the top k hits, averaged over questions, overall and per category
(1 multi-hop, 2 temporal, 3 open-domain, 4 single-hop).

Other options: --url (default http://127.0.0.1:8000), --token (bearer token),
--search-options JSON (merged into every search, e.g. '{"session_context": false}'), --keep (leave
the namespaces in place; by default they are forgotten at the end), --reuse RUN (ask the
questions against namespaces kept by an earlier run with the same --text-format and
--captions, without ingesting). The script prints exactly one JSON line and exits with status
1 when any request failed or any check did not hold.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from bench_stats import summarise

REPOSITORY = Path(__file__).resolve().parent.parent
DEFAULT_DATA = REPOSITORY / ".." / "shared" / "bench" / "locomo10.json"
QRELS_NAME = "locomo10.qrels.jsonl"
CATEGORIES = (1, 2, 3, 4)
# "default" sends no search_mode: the server's default mode.
MODES = ("default", "semantic", "keyword", "hybrid")
TEXT_FORMATS = ("raw", "speaker", "speaker-date")
LIMIT = 10
BATCH = 100
# --search-options: more fields of every search request (e.g. {"session_context": false}).
EXTRA: dict[str, Any] = {}
MONTH_NAMES = "january february march april may june july august september october november december"
MONTHS = {name: number for number, name in enumerate(MONTH_NAMES.split(), start=1)}
DATE_TIME = re.compile(r"\s*(\d{1,2}):(\d{2})\s*([ap]m)\s+on\s+(\d{1,2})\s+([A-Za-z]+),?\s+(\d{4})\s*", re.I)
CAPTION_PREFIX = re.compile(r"^(a )?(photo|photograph|photography|picture|image) of ", re.I)


@dataclass(frozen=True)
class SessionTime:
    epoch: float
    label: str  # "8 May 2023"


@dataclass(frozen=True)
class Turn:
    dia_id: str
    session: int
    speaker: str
    text: str
    caption: str | None
    time: SessionTime


@dataclass(frozen=True)
class Question:
    sample_id: str
    category: int
    text: str
    evidence: frozenset[str]


@dataclass
class Conversation:
    sample_id: str
    turns: list[Turn]
    namespace: str = ""
    # kept memory id -> ids of turns the server merged into it (exact duplicates)
    aliases: dict[str, list[str]] = field(default_factory=dict)


def parse_session_time(value: str) -> SessionTime:
    """'1:56 pm on 8 May, 2023' as epoch seconds (UTC) and '8 May 2023'."""
    match = DATE_TIME.fullmatch(value)
    if match is None or match.group(5).lower() not in MONTHS:
        raise ValueError(f"unknown session date_time {value!r}")
    hour, minute, half, day, month_name, year = match.groups()
    hour_24 = int(hour) % 12 + (12 if half.lower() == "pm" else 0)
    moment = datetime(int(year), MONTHS[month_name.lower()], int(day), hour_24, int(minute), tzinfo=UTC)
    return SessionTime(moment.timestamp(), f"{int(day)} {month_name.capitalize()} {year}")


def load_conversations(path: Path) -> list[Conversation]:
    conversations = []
    for sample in json.loads(path.read_text()):
        body = sample["conversation"]
        sessions = sorted(
            int(key.split("_")[1])
            for key, value in body.items()
            if re.fullmatch(r"session_\d+", key) and value
        )
        turns = []
        for number in sessions:
            when = parse_session_time(body[f"session_{number}_date_time"])
            for turn in body[f"session_{number}"]:
                caption = turn.get("blip_caption") or None
                turns.append(Turn(turn["dia_id"], number, turn["speaker"], turn["text"], caption, when))
        conversations.append(Conversation(sample["sample_id"], turns))
    return conversations


def load_questions(path: Path) -> list[Question]:
    questions = []
    with path.open() as lines:
        for line in lines:
            if not line.strip():
                continue
            item = json.loads(line)
            if item["category"] in CATEGORIES and item["evidence"]:
                questions.append(
                    Question(
                        item["sample_id"], item["category"], item["question"], frozenset(item["evidence"])
                    )
                )
    return questions


def memory_text(turn: Turn, text_format: str, captions: bool) -> str:
    text = " ".join(turn.text.split())
    if captions and turn.caption:
        text += f" [shares a photo of {CAPTION_PREFIX.sub('', turn.caption.strip())}]"
    if text_format == "speaker":
        return f"{turn.speaker}: {text}"
    if text_format == "speaker-date":
        return f"{turn.speaker} ({turn.time.label}): {text}"
    return text


def memory(turn: Turn, namespace: str, text_format: str, captions: bool) -> dict[str, Any]:
    return {
        "id": turn.dia_id,
        "text": memory_text(turn, text_format, captions),
        "memory_type": "episodic",
        "namespace": namespace,
        "session_id": f"session_{turn.session}",
        "created_at": turn.time.epoch,
    }


class Client:
    """POSTs JSON over one keep-alive connection; counts failures and failed checks in `errors`."""

    def __init__(self, http: httpx.Client) -> None:
        self.http = http
        self.errors = 0
        self.problems: list[str] = []

    def fail(self, problem: str) -> None:
        self.errors += 1
        if len(self.problems) < 5:
            self.problems.append(problem)

    def post(self, path: str, body: dict[str, Any]) -> dict[str, Any] | None:
        try:
            response = self.http.post(path, content=json.dumps(body).encode())
            answer: dict[str, Any] = response.json()
        except (httpx.HTTPError, ValueError) as error:
            self.fail(f"POST {path}: {error!r}")
            return None
        if response.status_code != 200:
            self.fail(f"POST {path}: HTTP {response.status_code} {response.text[:200]}")
            return None
        return answer


def expected_aliases(records: list[dict[str, Any]]) -> dict[str, list[str]]:
    """Which turns the server will merge into which (same text but for case and spacing, same owner)."""
    first: dict[str, str] = {}
    aliases: dict[str, list[str]] = {}
    for record in records:
        kept = first.setdefault(" ".join(record["text"].split()).casefold(), record["id"])
        if kept != record["id"]:
            aliases.setdefault(kept, []).append(record["id"])
    return aliases


def ingest(client: Client, conversation: Conversation, records: list[dict[str, Any]]) -> None:
    stored = 0
    aliases: dict[str, list[str]] = {}
    for start in range(0, len(records), BATCH):
        batch = records[start : start + BATCH]
        answer = client.post("/long-term-memory", {"memories": batch})
        if answer is None:
            continue
        merged = {item["id"]: item["into"] for item in answer.get("merged", [])}
        if answer.get("status") != "ok" or set(answer.get("stored", [])) | set(merged) != {
            record["id"] for record in batch
        }:
            client.fail(f"ingest answer does not account for the batch: {str(answer)[:200]}")
        stored += len(answer.get("stored", []))
        for sent, kept in merged.items():
            aliases.setdefault(kept, []).append(sent)
    if aliases != conversation.aliases:
        client.fail(f"{conversation.namespace}: merged {aliases}, expected {conversation.aliases}")
    answer = client.post(
        "/long-term-memory/search", {"namespace": {"eq": conversation.namespace}, "limit": 1}
    )
    if answer is not None and answer.get("total") != stored:
        client.fail(f"{conversation.namespace} holds {answer.get('total')} memories, expected {stored}")


@dataclass(frozen=True)
class Pass:
    name: str
    mode: str
    alpha: float | None


@dataclass
class Outcome:
    recalls: dict[int, list[tuple[float, float]]] = field(default_factory=lambda: defaultdict(list))
    timings: list[float] = field(default_factory=list)


def recall(found: list[set[str]], evidence: frozenset[str], k: int) -> float:
    hits: set[str] = set().union(*found[:k])
    return len(evidence & hits) / len(evidence)


def ask(
    client: Client, search: Pass, conversation: Conversation, question: Question, outcome: Outcome
) -> None:
    body: dict[str, Any] = {
        "text": question.text,
        "namespace": {"eq": conversation.namespace},
        "limit": LIMIT,
    }
    if search.mode != "default":
        body["search_mode"] = search.mode
    if search.alpha is not None:
        body["hybrid_alpha"] = search.alpha
    body.update(EXTRA)
    start = time.perf_counter()
    answer = client.post("/long-term-memory/search", body)
    outcome.timings.append((time.perf_counter() - start) * 1000)
    hits = [] if answer is None else [hit["id"] for hit in answer.get("memories", [])]
    found = [{hit, *conversation.aliases.get(hit, [])} for hit in hits]
    outcome.recalls[question.category].append(
        (recall(found, question.evidence, 5), recall(found, question.evidence, 10))
    )


def figures(outcome: Outcome, search: Pass) -> dict[str, Any]:
    def means(pairs: list[tuple[float, float]]) -> dict[str, Any]:
        return {
            "recall@5": round(statistics.fmean(p[0] for p in pairs), 4),
            "recall@10": round(statistics.fmean(p[1] for p in pairs), 4),
            "questions": len(pairs),
        }

    every = [pair for category in CATEGORIES for pair in outcome.recalls[category]]
    result = means(every)
    del result["questions"]
    if search.alpha is not None:
        result["hybrid_alpha"] = search.alpha
    result["by_category"] = {str(c): means(outcome.recalls[c]) for c in CATEGORIES if outcome.recalls[c]}
    result["query_ms"] = summarise(outcome.timings)
    return result


def passes(modes: list[str], alphas: list[float] | None) -> list[Pass]:
    chosen: list[Pass] = []
    for mode in dict.fromkeys(modes):
        if mode == "hybrid" and alphas:
            chosen.extend(Pass(f"hybrid@{alpha:g}", mode, alpha) for alpha in dict.fromkeys(alphas))
        else:
            chosen.append(Pass(mode, mode, None))
    return chosen


def unit_interval(value: str) -> float:
    number = float(value)
    if not 0 <= number <= 1:
        raise argparse.ArgumentTypeError("must be between 0 and 1")
    return number


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000", help="Base URL of the running server.")
    parser.add_argument("--token", default=None, help="Bearer token, when the server requires one.")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="locomo10.json")
    parser.add_argument("--qrels", type=Path, default=None, help=f"default: {QRELS_NAME} beside --data")
    parser.add_argument("--text-format", choices=TEXT_FORMATS, default="speaker")
    parser.add_argument("--captions", action="store_true", help="Append shared images' BLIP captions.")
    parser.add_argument("--modes", nargs="+", choices=MODES, default=list(MODES))
    parser.add_argument("--hybrid-alpha", nargs="+", type=unit_interval, default=None, metavar="ALPHA")
    parser.add_argument(
        "--search-options", type=json.loads, default={}, help="JSON merged into every search body."
    )
    parser.add_argument("--keep", action="store_true", help="Do not forget the namespaces at the end.")
    parser.add_argument("--reuse", metavar="RUN", default=None, help="Query namespaces kept by run RUN.")
    args = parser.parse_args()
    args.data = args.data.resolve()
    args.qrels = (args.qrels or args.data.with_name(QRELS_NAME)).resolve()
    for path in (args.data, args.qrels):
        if not path.is_file():
            parser.error(f"{path} is not a file (see --data and --qrels)")
    if args.reuse is not None and not re.fullmatch(r"[A-Za-z0-9_.:@-]{1,100}", args.reuse):
        parser.error("--reuse takes the run id of an earlier run (letters, digits and _ . : @ -)")
    return args


def run_questions(
    client: Client, searches: list[Pass], conversations: dict[str, Conversation], questions: list[Question]
) -> dict[str, Outcome]:
    outcomes = {}
    for search in searches:
        outcome = outcomes[search.name] = Outcome()
        for question in questions:
            ask(client, search, conversations[question.sample_id], question, outcome)
    return outcomes


def main() -> int:
    args = parse_args()
    EXTRA.update(args.search_options)
    conversations = {c.sample_id: c for c in load_conversations(args.data)}
    questions = [q for q in load_questions(args.qrels) if q.sample_id in conversations]
    run = args.reuse or uuid.uuid4().hex[:8]
    records = {}
    for conversation in conversations.values():
        conversation.namespace = f"locomo-{run}-{conversation.sample_id}"
        records[conversation.sample_id] = [
            memory(turn, conversation.namespace, args.text_format, args.captions)
            for turn in conversation.turns
        ]
        conversation.aliases = expected_aliases(records[conversation.sample_id])
    searches = passes(args.modes, args.hybrid_alpha)
    headers = {"Content-Type": "application/json"}
    if args.token:
        headers["Authorization"] = f"Bearer {args.token}"

    ingest_s = 0.0
    with httpx.Client(base_url=args.url.rstrip("/"), headers=headers, timeout=120.0) as http:
        client = Client(http)
        try:
            if not args.reuse:
                start = time.perf_counter()
                for conversation in conversations.values():
                    ingest(client, conversation, records[conversation.sample_id])
                ingest_s = time.perf_counter() - start
            outcomes = run_questions(client, searches, conversations, questions)
        finally:
            if not args.keep:
                for conversation in conversations.values():
                    client.post(
                        "/long-term-memory/forget", {"namespace": conversation.namespace, "dry_run": False}
                    )

    turns = sum(len(c.turns) for c in conversations.values())
    result = {
        "bench": "locomo_recall",
        "text_format": args.text_format,
        "captions": args.captions,
        "conversations": len(conversations),
        "turns": turns,
        "merged": sum(len(v) for c in conversations.values() for v in c.aliases.values()),
        "questions": len(questions),
        "search_options": args.search_options,
        "modes": {search.name: figures(outcomes[search.name], search) for search in searches},
        "ingest_s": round(ingest_s, 3),
        "ingest_per_s": round(turns / ingest_s, 1) if ingest_s else None,
        "query_ms_p50": summarise([ms for outcome in outcomes.values() for ms in outcome.timings])["p50"],
        "errors": client.errors,
        "problems": client.problems,
        "run": run if args.keep or args.reuse else None,
        "url": args.url,
    }
    sys.stdout.write(json.dumps(result) + "\n")
    return 1 if client.errors else 0


if __name__ == "__main__":
    sys.exit(main())
