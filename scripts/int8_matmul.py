"""Would integer matrix products make the default embedder fast enough? A measurement.

The shipped all-MiniLM-L6-v2 file stores its weights as int8 with a per-column scale, but the
graph turns them back into float32 (``Cast`` then ``Mul``) and onnxruntime multiplies in float.
This script rewrites the graph two ways so that the 36 weight matrix products run on integers,
then compares speed and vectors with the shipped graph (``--save DIR`` keeps the rewritten
files, for ``MiniLMEmbedder(model_path=...)``):

- ``per-tensor``: onnxruntime's fused ``DynamicQuantizeMatMul``, which quantises each
  activation tensor with one scale for the whole batch;
- ``per-token``: each token's activations get their own scale (``ReduceMax`` of ``Abs``), then
  ``MatMulInteger`` (uint8 × int8) and the two scales.

It reports texts per second (batched, as ``Memory.add`` embeds), cosine to the shipped vectors,
and cosine between a text embedded in a batch and alone. Needs the ``onnx`` package, which
memstrata does not depend on::

    pip install onnx && python scripts/int8_matmul.py
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from memstrata.bench import synthetic_texts
from memstrata.embedders.onnx import MiniLMEmbedder, model_file


def _weight_matmuls(graph: Any) -> dict[int, tuple[str, str]]:
    """{node index: (int8 weight name, scale name)} for every ``MatMul(x, Cast(W) * scale)``."""
    producer = {out: node for node in graph.node for out in node.output}
    initial = {init.name: init for init in graph.initializer}
    found = {}
    for k, node in enumerate(graph.node):
        if node.op_type != "MatMul":
            continue
        mul = producer.get(node.input[1])
        if mul is None or mul.op_type != "Mul" or mul.input[1] not in initial:
            continue
        cast = producer.get(mul.input[0])
        if cast is None or cast.op_type != "Cast" or cast.input[0] not in initial:
            continue
        if initial[cast.input[0]].data_type == 3:  # INT8
            found[k] = (cast.input[0], mul.input[1])
    return found


def rewrite(mode: str, out: Path) -> int:
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    model = onnx.load(str(model_file()))
    graph = model.graph
    initial = {init.name: init for init in graph.initializer}
    targets = _weight_matmuls(graph)

    def constant(name: str, value: Any) -> str:
        graph.initializer.append(numpy_helper.from_array(np.asarray(value), name))
        return name

    if mode == "per-token":
        constant("q_axes", np.array([-1], np.int64))
        constant("q_127", np.array(127.0, np.float32))
        constant("q_eps", np.array(1e-12, np.float32))
        constant("q_128", np.array(128.0, np.float32))
        constant("q_zero", np.array(128, np.uint8))
    nodes = []
    for k, node in enumerate(graph.node):
        if k not in targets:
            nodes.append(node)
            continue
        weight, scale = targets[k]
        x, p = node.input[0], f"q{k}_"
        if mode == "per-tensor":
            flat = numpy_helper.to_array(initial[scale]).reshape(-1).astype(np.float32)
            nodes.append(
                helper.make_node(
                    "DynamicQuantizeMatMul",
                    [x, weight, constant(p + "scale", flat)],
                    list(node.output),
                    domain="com.microsoft",
                )
            )
            continue
        nodes += [
            helper.make_node("Abs", [x], [p + "abs"]),
            helper.make_node("ReduceMax", [p + "abs", "q_axes"], [p + "max"], keepdims=1),
            helper.make_node("Max", [p + "max", "q_eps"], [p + "max1"]),
            helper.make_node("Div", [p + "max1", "q_127"], [p + "s"]),
            helper.make_node("Div", [x, p + "s"], [p + "x"]),
            helper.make_node("Round", [p + "x"], [p + "r"]),
            helper.make_node("Add", [p + "r", "q_128"], [p + "u"]),
            helper.make_node("Cast", [p + "u"], [p + "q"], to=TensorProto.UINT8),
            helper.make_node("MatMulInteger", [p + "q", weight, "q_zero"], [p + "i"]),
            helper.make_node("Cast", [p + "i"], [p + "f"], to=TensorProto.FLOAT),
            helper.make_node("Mul", [p + "f", p + "s"], [p + "y"]),
            helper.make_node("Mul", [p + "y", scale], list(node.output)),
        ]
    del graph.node[:]
    graph.node.extend(nodes)
    if mode == "per-tensor":
        model.opset_import.append(helper.make_opsetid("com.microsoft", 1))
    else:
        model.opset_import[0].version = max(model.opset_import[0].version, 18)
    onnx.save(model, str(out))
    return len(targets)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000, help="texts embedded per timing")
    parser.add_argument("--rounds", type=int, default=3, help="timings per graph, interleaved")
    parser.add_argument("--save", metavar="DIR", help="keep the rewritten graphs in DIR")
    args = parser.parse_args()
    texts = list(synthetic_texts(args.n))
    with tempfile.TemporaryDirectory() as scratch:
        tmp = args.save or scratch
        Path(tmp).mkdir(parents=True, exist_ok=True)
        embedders = {"shipped (float products)": MiniLMEmbedder()}
        replaced = {}
        for mode in ("per-tensor", "per-token"):
            path = Path(tmp) / f"{mode}.onnx"
            replaced[mode] = rewrite(mode, path)
            embedders[mode] = MiniLMEmbedder(model_path=path)
        for embedder in embedders.values():
            embedder.embed(texts[:100])
        rates: dict[str, list[float]] = {name: [] for name in embedders}
        vectors = {}
        for _ in range(args.rounds):
            for name, embedder in embedders.items():
                started = time.perf_counter()
                vectors[name] = np.concatenate(
                    [embedder.embed(texts[i : i + 100]) for i in range(0, len(texts), 100)]
                )
                rates[name].append(round(len(texts) / (time.perf_counter() - started), 1))
        shipped = vectors["shipped (float products)"]
        report = {}
        for name, embedder in embedders.items():
            alone = np.concatenate([embedder.embed([t]) for t in texts[:200]])
            to_shipped = (vectors[name] * shipped).sum(axis=1)
            batch_vs_alone = (vectors[name][:200] * alone).sum(axis=1)
            report[name] = {
                "matmuls_on_integers": replaced.get(name, 0),
                "texts_per_s": rates[name],
                "cosine_to_shipped": {
                    "min": float(to_shipped.min()),
                    "mean": float(to_shipped.mean()),
                },
                "cosine_batch_vs_alone": {
                    "min": float(batch_vs_alone.min()),
                    "mean": float(batch_vs_alone.mean()),
                },
            }
    print(
        json.dumps({"texts": args.n, "load_average": os.getloadavg(), "graphs": report}, indent=1)
    )


if __name__ == "__main__":
    main()
