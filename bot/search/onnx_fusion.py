"""Graph rewrites that make the MiniLM encoder cheaper on onnxruntime's CPU kernels.

The packaged model was exported from torch's scaled-dot-product attention: per layer, three
projections, reshapes and transposes, a mask built from `Where`/`IsNaN`, Softmax and two
batched MatMuls. Neither onnxruntime's session optimiser nor its Python `BertOptimizer`
recognises that pattern (the latter also needs sympy), so attention ran as about thirty
small ops per layer. `fuse_encoder` rewrites, on the folded fp32 graph:

- each layer's attention into one `com.microsoft` `Attention` node (Q, K and V weights
  concatenated, the 2-D padding mask as int32), which the dynamic quantiser then turns into
  an int8 `QAttention`;
- each exact-erf GELU (`Div`, `Erf`, `Add`, `Mul`, `Mul`) into one `com.microsoft` `Gelu`.

The arithmetic is the same up to float rounding (cosine 1.0000 to the unfused fp32 model on
corpus papers); measured gains are in docs/search.md. A graph that does not have the
expected shape raises `FusionError`, so a new package version never yields a silently
different model under an old recipe name.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

HEADS = 12
MS_DOMAIN = "com.microsoft"
MASK = "attention_mask_int32"


class FusionError(RuntimeError):
    """The model's graph does not have the shape these rewrites expect."""


def fuse_encoder(source: Path, target: Path) -> None:
    """Write `source` (a folded fp32 BERT-like encoder) with fused attention and GELU."""
    import onnx

    model = onnx.load(str(source))
    graph = model.graph
    weights = {t.name: t for t in graph.initializer}
    made = onnx.helper.make_node("Cast", ["attention_mask"], [MASK], to=onnx.TensorProto.INT32)
    nodes, fused = _fuse_attention(onnx, graph, weights)
    nodes, gelus = _fuse_gelu(onnx, nodes)
    if not fused or not gelus:
        raise FusionError(
            f"{source}: expected attention and GELU patterns, found {len(fused)} and {gelus}"
        )
    graph.initializer.extend(fused)
    _replace_nodes(graph, _topological([made, *nodes], graph))
    if not any(o.domain == MS_DOMAIN for o in model.opset_import):
        model.opset_import.append(onnx.helper.make_opsetid(MS_DOMAIN, 1))
    _prune(graph)
    onnx.checker.check_model(model)
    # onnxruntime's quantiser warns, on the root logger, unless a model went through its
    # pre-processing (shape inference, basic optimisation): the caller's folding and this
    # fusion are that step, and a user's first search should not print the warning.
    onnx.helper.set_model_props(model, {"onnx.quant.pre_process": "onnxruntime.quant"})
    onnx.save(model, str(target))


def _fuse_attention(onnx: Any, graph: Any, weights: dict[str, Any]) -> tuple[list[Any], list[Any]]:
    """Nodes with one `Attention` per layer in place of its self-attention, and the
    concatenated QKV initializers. The old ops are left dangling for `_prune`."""
    to_array = onnx.numpy_helper.to_array
    producer = {out: n for n in graph.node for out in n.output}
    adds = {i: n for n in graph.node if n.op_type == "Add" for i in n.input if i in weights}
    layers = sorted(
        {
            name.split(".attention.self.")[0]
            for name in weights
            if name.endswith(".attention.self.query.bias")
        }
    )
    replaced: set[str] = set()
    new_nodes, initializers = [], []
    for index, layer in enumerate(layers):
        parts = []
        for part in ("query", "key", "value"):
            add = adds.get(f"{layer}.attention.self.{part}.bias")
            matmul = producer.get(add.input[0]) if add is not None else None
            if add is None or matmul is None or matmul.op_type != "MatMul":
                raise FusionError(f"{layer}: no MatMul + Add for the {part} projection")
            parts.append((matmul, add))
        source = parts[0][0].input[0]
        if any(m.input[0] != source for m, _ in parts):
            raise FusionError(f"{layer}: Q, K and V do not share one input")
        out_add = adds.get(f"{layer}.attention.output.dense.bias")
        out_matmul = producer.get(out_add.input[0]) if out_add is not None else None
        if out_matmul is None or out_matmul.op_type != "MatMul":
            raise FusionError(f"{layer}: no output projection after the attention")
        context = out_matmul.input[0]
        w = np.concatenate([to_array(weights[m.input[1]]) for m, _ in parts], axis=1)
        b = np.concatenate([to_array(weights[a.input[1]]) for _, a in parts])
        w_name, b_name = f"fused_attention_{index}_qkv_weight", f"fused_attention_{index}_qkv_bias"
        initializers.append(onnx.numpy_helper.from_array(w.astype(np.float32), w_name))
        initializers.append(onnx.numpy_helper.from_array(b.astype(np.float32), b_name))
        # The export scales Q and K by 32**-0.25 each: 1/sqrt(head size), Attention's default.
        new_nodes.append(
            onnx.helper.make_node(
                "Attention",
                [source, w_name, b_name, MASK],
                [context],
                name=f"fused_attention_{index}",
                domain=MS_DOMAIN,
                num_heads=HEADS,
            )
        )
        replaced.add(context)
    kept = [n for n in graph.node if not replaced.intersection(n.output)]
    return kept + new_nodes, initializers


def _fuse_gelu(onnx: Any, nodes: list[Any]) -> tuple[list[Any], int]:
    """Nodes with `Gelu(x)` for each `x * 0.5 * (1 + erf(x / sqrt 2))`."""
    producer = {out: n for n in nodes for out in n.output}
    consumers: dict[str, list[Any]] = {}
    for node in nodes:
        for name in node.input:
            consumers.setdefault(name, []).append(node)

    def only_consumer(node: Any, op: str) -> Any:
        found = consumers.get(node.output[0], [])
        return found[0] if len(found) == 1 and found[0].op_type == op else None

    gelus: dict[str, str] = {}
    for erf in (n for n in nodes if n.op_type == "Erf"):
        div = producer.get(erf.input[0])
        add = only_consumer(erf, "Add")
        half = only_consumer(add, "Mul") if add is not None else None
        out = only_consumer(half, "Mul") if half is not None else None
        if div is None or div.op_type != "Div" or out is None or div.input[0] not in out.input:
            continue
        gelus[out.output[0]] = div.input[0]
    kept = [n for n in nodes if n.output[0] not in gelus]
    made = [
        onnx.helper.make_node("Gelu", [x], [y], name=f"fused_gelu_{i}", domain=MS_DOMAIN)
        for i, (y, x) in enumerate(gelus.items())
    ]
    return kept + made, len(made)


def _topological(nodes: Iterable[Any], graph: Any) -> list[Any]:
    ready = {i.name for i in graph.input} | {t.name for t in graph.initializer} | {""}
    ready |= {out for n in nodes if n.op_type == "Constant" for out in n.output}
    ordered: list[Any] = []
    pending = list(nodes)
    while pending:
        waiting = []
        for node in pending:
            if ready.issuperset(node.input):
                ordered.append(node)
                ready.update(node.output)
            else:
                waiting.append(node)
        if len(waiting) == len(pending):
            raise FusionError(f"unresolved inputs after fusion: {waiting[0].name}")
        pending = waiting
    return ordered


def _replace_nodes(graph: Any, nodes: list[Any]) -> None:
    del graph.node[:]
    graph.node.extend(nodes)


def _prune(graph: Any) -> None:
    """Drop nodes and initializers that no graph output depends on."""
    needed = {o.name for o in graph.output}
    kept = []
    for node in reversed(list(graph.node)):
        if needed.intersection(node.output):
            kept.append(node)
            needed.update(node.input)
    _replace_nodes(graph, kept[::-1])
    used = [t for t in graph.initializer if t.name in needed]
    del graph.initializer[:]
    graph.initializer.extend(used)
