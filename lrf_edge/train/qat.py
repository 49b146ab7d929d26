"""Quantization-aware fine-tuning: train through the numerics the int8 C will compute.

Post-training quantization of a fine-tuned model loses what the training never saw: int4
weights (15 levels per channel) and 8-bit activations. Here the forward pass of training
is the deployed model's, so the fine-tuned int8/int4 candidate is the one measured:

- weights: before each batch the kernels (and biases) of the weighted layers are replaced
  by their deployed values, `quantize` of the current float weights dequantized (per-channel
  scales at each layer's bits, TFLite's bias-fitting, int32 biases); after the batch the
  update the optimizer made to those values is added to the float weights (the
  straight-through estimator with float shadow weights, BinaryConnect's rule). It needs no
  change to any layer, so every op with a kernel trains the same way;
- activations: the output of every node that requantizes (and the input) passes through
  `FakeQuant`, rounding to the int8 grid the quantizer picks for it (its calibrated scale and
  zero point, re-read from the calibration batch each epoch as the weights move), with the
  gradient passed straight through;
- scores: every epoch is scored as deployed, `quantize` (calibrated as the build's PTQ does)
  run by the bit-exact reference, so the never-lose rule of finetune (best validation epoch,
  the post-training start counting as epoch 0) holds for the int8 model itself.

The recurrent kernels are quantized when deployed but trained in float here (their int8
arithmetic keeps fixed state scales the fake quantization does not model); their epochs are
still scored as deployed.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import keras
import numpy as np

from lrf_edge.errors import LrfError
from lrf_edge.ir import Graph, Node
from lrf_edge.quant import QuantizedGraph, WeightBits, quantize, reference
from lrf_edge.quant.ops import op_module
from lrf_edge.quant.qgraph import QLayer
from lrf_edge.train.builders import BUILDERS

@dataclass(frozen=True)
class Qat:
    """The deployed int8 model a fine-tuning aims at: weight bits (one width, or per layer:
    quant.WeightBits) and the calibration batch the quantizer reads."""

    weight_bits: WeightBits
    calibration: np.ndarray

    def key(self) -> dict[str, Any]:
        """What a stored score depends on (the calibration batch is the build's data)."""
        bits = self.weight_bits
        return {"weight_bits": bits if isinstance(bits, int) else dict(sorted(bits.items())),
                "calibration": int(len(self.calibration))}


@keras.saving.register_keras_serializable(package="lrf_edge")
class FakeQuant(keras.layers.Layer):
    """Rounds to an int8 grid (scale, zero point), saturating, with the gradient passed
    straight through; the grid is set with `set_grid` (not trained)."""

    def build(self, input_shape: Any) -> None:
        self.scale = self.add_weight(shape=(), initializer="ones", trainable=False,
                                     name="scale")
        self.zero_point = self.add_weight(shape=(), initializer="zeros", trainable=False,
                                          name="zero_point")

    def set_grid(self, scale: float, zero_point: int) -> None:
        self.scale.assign(float(scale))
        self.zero_point.assign(float(zero_point))

    def call(self, x: Any) -> Any:
        ops = keras.ops
        t = x / self.scale
        q = ops.clip(ops.sign(t) * ops.floor(ops.abs(t) + 0.5) + self.zero_point, -128, 127)
        y = (q - self.zero_point) * self.scale
        return x + ops.stop_gradient(y - x)


def deployed_weights(node: Node, layer: QLayer) -> dict[str, np.ndarray]:
    """The float values the int8 C computes with for a node's kernel and bias (weights times
    their per-channel scale, int32 bias times the accumulator's scale), in the node's layout;
    {} for an op training does not follow."""
    out: dict[str, np.ndarray] = {}
    if layer.kernel is not None:
        n = layer.w_scale.size
        k = layer.kernel.astype(np.float64).reshape(-1, n) * layer.w_scale
        out["kernel"] = k.reshape(node.weights["kernel"].shape)
        if layer.bias is not None:
            out["bias"] = layer.bias * layer.inputs[0].scale * layer.w_scale
    order = node.attrs.get("order", "rl")
    for st in layer.steps:
        g = st.g.astype(np.float64) * st.g_scale[:, None]      # G' (q, m)
        r0, x, y, r1 = node.weights[f"core{st.k}"].shape
        out[f"core{st.k}"] = (g.reshape(r0, y, x, r1).transpose(0, 2, 1, 3) if order == "rl"
                              else g.reshape(y, r1, r0, x).transpose(2, 3, 0, 1))
        if st.bias is not None:
            out["bias"] = (st.bias * (st.inp.scale * st.g_scale)[None, :, None]).reshape(-1)
    return out


def to_keras_qat(graph: Graph) -> tuple[Any, dict[str, FakeQuant]]:
    """The graph as a Keras model whose requantized values (the input's, and every output
    of an op that requantizes but the model's own) pass through a FakeQuant, and those
    layers by node name."""
    tensors: dict[str, Any] = {}
    fakes: dict[str, FakeQuant] = {}
    inp = None
    for node in graph:
        if node.is_input:
            inp = keras.Input(shape=node.shape, name=node.name)
            y = inp
        else:
            build = BUILDERS.get(node.op)
            if build is None:
                raise LrfError(f"layer '{node.name}': no Keras builder for op '{node.op}'")
            y = build(node, [tensors[s] for s in node.inputs])
        if node.name != graph.output and (node.is_input or op_module(node).REQUANTIZES):
            fakes[node.name] = FakeQuant(name=f"{node.name}_fake_quant")
            y = fakes[node.name](y)
        tensors[node.name] = y
    return keras.Model(inp, tensors[graph.output], name=graph.name), fakes


def _variable_map(graph: Graph, model: Any) -> list[tuple[Any, str, str]]:
    """(Keras variable, node name, weight key) of every node weight, matched by value in
    the layer of the node's name (the builders set them from the graph)."""
    out = []
    for node in graph:
        if not node.weights:
            continue
        free = list(model.get_layer(node.name).weights)
        for key, w in node.weights.items():
            flat = np.asarray(w).reshape(-1)
            match = next((v for v in free if int(np.prod(v.shape)) == flat.size
                          and np.array_equal(np.asarray(v).reshape(-1), flat)), None)
            if match is None:
                raise LrfError(f"layer '{node.name}': quantization-aware fine-tuning cannot "
                               f"follow its weight '{key}' in the Keras model")
            free.remove(match)
            out.append((match, node.name, key))
    return out


class QatModel:
    """A graph trained as deployed: the Keras model with fake quantization, the graph kept
    in step with its float weights, and the deployed int8 model of those weights."""

    def __init__(self, graph: Graph, qat: Qat):
        self.graph = copy.deepcopy(graph)
        self.qat = qat
        self.model, self.fakes = to_keras_qat(self.graph)
        self.vars = _variable_map(self.graph, self.model)
        self.ranges = None   # the int8 model's calibrated ranges, set by deployed()
        qg = self.deployed()
        # the nodes whose deployed weights training follows: a per-channel kernel or TT steps
        layers = {n for n, layer in qg.layers.items() if layer.kernel is not None or layer.steps}
        self.followed = [i for i, (_, name, _k) in enumerate(self.vars) if name in layers]

    def sync(self) -> None:
        """The graph's weights from the model's (float) variables."""
        for v, name, key in self.vars:
            node = self.graph[name]
            node.weights[key] = np.asarray(v).reshape(node.weights[key].shape)

    def deployed(self) -> QuantizedGraph:
        """The int8 model of the current weights, calibrated as the build's PTQ does; the
        fake quantization takes its grids (and the weights their ranges) from it."""
        self.sync()
        qg = quantize(self.graph, self.qat.calibration, weight_bits=self.qat.weight_bits)
        self.ranges = qg.ranges
        for name, fake in self.fakes.items():
            p = qg.tensors[name]
            fake.set_grid(p.scale, p.zero_point)
        return qg

    def predict_deployed(self, x: np.ndarray) -> np.ndarray:
        """The deployed model's outputs (the bit-exact int8 reference)."""
        return reference.run(self.deployed(), np.asarray(x, np.float32))

    def fake_weights(self) -> list[np.ndarray]:
        """Deployed values of the followed variables at the current ranges."""
        self.sync()
        qg = quantize(self.graph, ranges=self.ranges, weight_bits=self.qat.weight_bits)
        values = {}
        for name in {self.vars[i][1] for i in self.followed}:
            values[name] = deployed_weights(self.graph[name], qg.layers[name])
        out = []
        for i in self.followed:
            v, name, key = self.vars[i]
            w = values[name].get(key)
            out.append(np.asarray(v) if w is None else w.reshape(v.shape).astype(np.float32))
        return out

    def callback(self) -> keras.callbacks.Callback:
        return _ShadowWeights(self)

    def copy_to(self, model: Any) -> None:
        """Set a plain model of the same graph (train.to_keras) to these float weights."""
        for layer in model.layers:
            if layer.weights:
                layer.set_weights(self.model.get_layer(layer.name).get_weights())


class _ShadowWeights(keras.callbacks.Callback):
    """Each batch runs on the deployed weights; its update goes to the float weights."""

    def __init__(self, qm: QatModel):
        super().__init__()
        self.qm = qm
        self._float: list[np.ndarray] = []
        self._fake: list[np.ndarray] = []

    def on_train_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        qm = self.qm
        self._float = [np.asarray(qm.vars[i][0]).copy() for i in qm.followed]
        self._fake = qm.fake_weights()
        for i, w in zip(qm.followed, self._fake):
            qm.vars[i][0].assign(w)

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        qm = self.qm
        for i, f, q in zip(qm.followed, self._float, self._fake):
            v = qm.vars[i][0]
            v.assign(f + (np.asarray(v) - q))
