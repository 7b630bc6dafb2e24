"""Models built once from shipped weights, cached in MODEL_DIR (DATA_DIR/models), and the
onnxruntime steps the builds share (BERT operator fusion, dynamic int8 quantisation).

A build writes into a fresh folder that is renamed into place only when complete, so a
crash never leaves a half-built model behind. The folder's name carries the source file's
digest and the builder's version: an upgraded package or builder builds afresh. Processes
that start together wait on a file lock for one build instead of each building.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

logger = logging.getLogger(__name__)


def _digest(path: Path) -> str:
    sha = hashlib.sha256()
    with path.open("rb") as stream:
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            sha.update(chunk)
    return sha.hexdigest()[:16]


def cached_build(
    cache_dir: Path, name: str, source: Path, version: int, build: Callable[[Path], None]
) -> Path:
    """The folder holding what `build(folder)` wrote from `source`, building it first if needed."""
    folder = cache_dir / f"{name}-{_digest(source)}-v{version}"
    if folder.is_dir():
        return folder
    cache_dir.mkdir(parents=True, exist_ok=True)
    with (cache_dir / f".{name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if folder.is_dir():  # another process built it while this one waited
            return folder
        logger.info("Building %s from %s into %s (once).", name, source, folder)
        work = Path(tempfile.mkdtemp(dir=cache_dir, prefix=f".{name}-"))
        try:
            with _quiet_onnxruntime_tools():
                build(work)
            # mkdtemp makes the folder private to its builder; a build is read by whoever serves
            # (the Docker image builds as root and serves as another user).
            os.chmod(work, 0o755)
            os.rename(work, folder)
        except BaseException:
            shutil.rmtree(work, ignore_errors=True)
            raise
        logger.info("Built %s.", name)
    return folder


@contextmanager
def _quiet_onnxruntime_tools() -> Iterator[None]:
    """Keep onnxruntime's optimiser and quantiser to their errors while a build runs.

    They log a line per fused operator and per tensor (about 90, most on the root logger)
    and advise a pre-processing step these builds do not need; the build's own two lines
    say what happens. Handlers get the filter, since records on the root logger reach no
    logger filter.
    """
    import onnxruntime

    package = os.path.dirname(onnxruntime.__file__) + os.sep

    def keep(record: logging.LogRecord) -> bool:
        return record.levelno >= logging.ERROR or not record.pathname.startswith(package)

    handlers = [*logging.getLogger().handlers, logging.lastResort]
    for handler in handlers:
        if handler is not None:
            handler.addFilter(keep)
    try:
        yield
    finally:
        for handler in handlers:
            if handler is not None:
                handler.removeFilter(keep)


def fused_bert(source: Path, output: Path, heads: int, hidden: int, fuse_embeddings: bool = True) -> None:
    """onnxruntime's BERT optimiser: attention, GELU and skip-layer-norm fusion."""
    from onnxruntime.transformers.fusion_options import FusionOptions
    from onnxruntime.transformers.optimizer import optimize_model

    options = FusionOptions("bert")
    options.enable_embed_layer_norm = fuse_embeddings
    model = optimize_model(
        str(source),
        model_type="bert",
        num_heads=heads,
        hidden_size=hidden,
        optimization_options=options,
        opt_level=0,
    )
    model.save_model_to_file(str(output))


def quantized_int8(source: Path, output: Path, quantize_embeddings: bool = False) -> None:
    """Dynamic int8 quantisation, per output channel, of MatMul and Attention weights (and of
    the embedding table's Gather when asked)."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    operators = ["MatMul", "Attention"] + (["Gather"] if quantize_embeddings else [])
    quantize_dynamic(
        str(source),
        str(output),
        weight_type=QuantType.QInt8,
        per_channel=True,
        op_types_to_quantize=operators,
        # Shape inference stops at the fused (com.microsoft) operators.
        extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
    )
