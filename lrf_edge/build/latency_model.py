"""A per-target latency model: instructions of each layer from its kind, MACs, shapes and
weight bytes, calibrated from QEMU micro-benchmarks and refit from measured finalists.

For one layer of op `op`, instructions = coef[op] . features(layer), with the features

    macs          multiply-accumulates (the loop nest the kernel runs, from lrf_edge.ir.ops)
    iters         inner-loop passes: MACs / output channels x passes of B outputs (the dense
                  and conv kernels compute B = 8 outputs per pass; a narrow tail costs more
                  per MAC)
    weight_bytes  bytes of weights the layer streams from flash
    out_size      output elements (stores, activations, bias)
    in_size       input elements (loads of pooling/padding; zero-padding copies)
    transc        outputs through expf/tanhf (sigmoid, tanh, softmax)
    1             the call and loop set-up

fitted by non-negative least squares on relative error, separately for each op. Views
(flatten, reshape) cost nothing. The instructions outside the layers (the counter reads around each
profiled layer; the int8 float API quantizes the input and dequantizes the output: soft
float on rv32imac) are a + b x layers + c x input size + d x output size. The model also predicts the model's own code bytes from
`code_features` (layers, block loops and unrolled lanes of the dense/conv/TT kernels, the
softmax code) and the stack inference needs, from the same builds.

Calibration builds a few small graphs that exercise every op the code generator supports at
varied shapes, runs each once under QEMU (one ELF per graph, per-layer instruction counts
from the harness), and caches the samples and coefficients under
$LRF_EDGE_CACHE/latency/<target>-<key>.json, where the key hashes the compiler's version,
the target's flags and the kernel templates: a new toolchain or kernel recalibrates.

Each dtype has its own model: the int8 kernels (codegen/kernels_q8.py) run other
instructions per MAC than the float ones (rv32imac: ~3.6 for an int8 dense, ~180 with soft
float) and emit other code, so `dtype="int8"` calibrates on the same graphs quantized
(calibrated on random inputs), counts the int8 code and weight bytes, and caches under
$LRF_EDGE_CACHE/latency/<target>-int8-<key>.json, the key hashing the int8 templates. The
weight_bytes feature is then the int8 constants' bytes.

`calibrated(target, dtype=...)` returns the cached model (calibrating first if needed);
`LatencyModel.refit(samples)` adds measured layers of real candidates (weighted above the
micro-benchmarks) and refits; `predict_latency` in lrf_edge.dse.latency uses a cached model
when one exists for the target.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import subprocess
import tempfile
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Callable

import numpy as np

from lrf_edge.errors import LrfError
from lrf_edge.ir import Graph, Node

FEATURES = ("macs", "iters", "weight_bytes", "out_size", "in_size", "transc", "one")
VIEWS = ("input", "flatten", "reshape")
TRANSCENDENTAL = ("sigmoid", "tanh", "softmax")
BLOCK = 8  # CodegenOptions.block default: outputs per pass of dense/conv kernels
MEASURED_WEIGHT = 4.0  # a measured finalist layer counts as this many micro-benchmark samples
VERSION = 3  # bump when the features or the benchmark graphs change
CODE_FEATURES = ("one", "layers", "loops", "lanes", "softmax")
DTYPES = ("float32", "int8")


def layer_features(node: Node, block: int = BLOCK, dtype: str = "float32") -> np.ndarray:
    """The feature vector of one layer (see the module docstring); int8: weight_bytes are
    the layer's int8 constants."""
    macs = node.macs
    out_size = math.prod(node.shape) if node.shape else 0
    in_size = sum(math.prod(s) for s in node.in_shapes)
    iters = 0.0
    if macs and node.op in ("dense", "conv2d", "depthwise_conv2d"):
        n = node.shape[-1]
        passes = n // block + (1 if n % block else 0)
        iters = macs / n * passes
    elif macs:
        iters = macs / max(1, node.shape[-1] if node.shape else 1)
    transc = out_size if node.activation in TRANSCENDENTAL else 0
    wbytes = node.weight_bytes
    if dtype == "int8" and wbytes:
        from lrf_edge.quant import int8_weight_bytes
        wbytes = int8_weight_bytes([node])
    return np.array([macs, iters, wbytes, out_size, in_size, transc, 1.0], float)


def code_layers(graph: Graph) -> int:
    """Layers that emit a C function (views do not)."""
    return sum(1 for n in graph if n.op not in VIEWS)


def _loops(node: Node, block: int) -> list[int]:
    """Widths of the unrolled block loops a layer's kernel emits (dense/conv: outputs in
    passes of `block` and a narrower tail; TT: the same per step)."""
    from lrf_edge.codegen.kernels import blocks
    if node.op in ("dense", "conv2d") or (node.op == "depthwise_conv2d"
                                          and node.weights["kernel"].shape[-1] == 1):
        return [b["width"] for b in blocks(node.shape[-1], block)]
    if node.op == "tt_dense":
        from lrf_edge.methods.tt import tt_steps
        a = node.attrs
        out = []
        for st in tt_steps(a["row_dims"], a["col_dims"], a["ranks"], a.get("order", "rl")):
            out += [b["width"] for b in blocks(st["q"] if st["p"] == 1 else st["p"], block)]
        return out
    return []


def io_features(graph: Graph) -> list[float]:
    """[1, layers, input size, output size]: what the instructions outside the layers grow
    with (the profiled ELF's counter reads around each layer; the int8 float API's input
    quantization and output dequantization)."""
    return [1.0, float(code_layers(graph)), float(math.prod(graph.input_shape)),
            float(math.prod(graph.output_shape))]


def code_features(graph: Graph, block: int = BLOCK) -> list[float]:
    """What the model's code size grows with: a constant, layers with code, unrolled block
    loops, their lanes (each lane repeats the MAC and the requantize/store code), and
    layers with a softmax."""
    layers = loops = lanes = softmax = 0
    for n in graph:
        if n.op in VIEWS:
            continue
        w = _loops(n, block)
        layers, loops, lanes = layers + 1, loops + len(w), lanes + sum(w)
        softmax += n.activation == "softmax"
    return [1.0, float(layers), float(loops), float(lanes), float(softmax)]


@dataclass
class Sample:
    op: str
    features: list[float]
    instructions: float
    weight: float = 1.0
    source: str = "bench"   # 'bench' (micro-benchmark) or 'measured' (a finalist)


@dataclass
class LatencyModel:
    target: str
    key: str
    samples: list[Sample] = field(default_factory=list)
    coef: dict[str, list[float]] = field(default_factory=dict)
    # code: (code_features, bytes, weight); io: ([1, input, output size], instructions, w)
    code_samples: list[tuple[list[float], int, float]] = field(default_factory=list)
    code_coef: list[float] = field(default_factory=lambda: [512.0, 300.0, 0.0, 0.0, 0.0])
    stack_bytes: int = 256
    dtype: str = "float32"
    io_samples: list[tuple[list[float], float, float]] = field(default_factory=list)
    io_coef: list[float] = field(default_factory=lambda: [0.0, 0.0, 0.0, 0.0])

    # -- fitting -----------------------------------------------------------------------
    def fit(self) -> "LatencyModel":
        from scipy.optimize import nnls
        ops = sorted({s.op for s in self.samples})
        self.coef = {}
        for op in ops:
            rows = [s for s in self.samples if s.op == op]
            a = np.array([s.features for s in rows], float)
            y = np.array([s.instructions for s in rows], float)
            w = np.array([s.weight for s in rows], float) / np.maximum(y, 1.0)
            scale = np.maximum(np.abs(a).max(axis=0), 1.0)
            sol, _ = nnls(a / scale * w[:, None], y * w, maxiter=5000)
            self.coef[op] = (sol / scale).tolist()
        for attr, samples in (("code_coef", self.code_samples),
                              ("io_coef", self.io_samples)):
            if samples:
                a = np.array([f for f, _, _ in samples], float)
                y = np.array([b for _, b, _ in samples], float)
                w = np.array([wt for _, _, wt in samples], float) / np.maximum(y, 1.0)
                scale = np.maximum(np.abs(a).max(axis=0), 1.0)
                sol, _ = nnls(a / scale * w[:, None], y * w, maxiter=5000)
                setattr(self, attr, (sol / scale).tolist())
        return self

    def refit(self, graph: Graph, layer_instructions: dict[str, int], code_bytes: int | None
              = None, stack_bytes: int | None = None, total: int | None = None
              ) -> "LatencyModel":
        """Add one measured candidate (its per-layer counts, code size and, with `total`,
        the instructions outside the layers) and refit."""
        for node in graph:
            if node.name in layer_instructions and node.op not in VIEWS:
                feats = layer_features(node, dtype=self.dtype).tolist()
                dup = [s for s in self.samples if s.source == "measured" and s.op == node.op
                       and s.features == feats]
                if not dup:
                    self.samples.append(Sample(node.op, feats,
                                               float(layer_instructions[node.name]),
                                               MEASURED_WEIGHT, "measured"))
        if code_bytes is not None:
            entry = (code_features(graph), int(code_bytes), MEASURED_WEIGHT)
            if entry not in self.code_samples:
                self.code_samples.append(entry)
        if total is not None:
            entry = (io_features(graph), float(total - sum(layer_instructions.values())),
                     MEASURED_WEIGHT)
            if entry not in self.io_samples:
                self.io_samples.append(entry)
        if stack_bytes is not None:
            self.stack_bytes = max(self.stack_bytes, int(stack_bytes))
        return self.fit()

    # -- prediction --------------------------------------------------------------------
    def layer(self, node: Node) -> float:
        if node.op in VIEWS:
            return 0.0
        coef = self.coef.get(node.op)
        if coef is None:  # an op the micro-benchmarks lack: the dense cost per MAC
            coef = self.coef.get("dense", [0.0] * len(FEATURES))
        return float(np.dot(coef, layer_features(node, dtype=self.dtype)))

    def predict(self, graph: Graph) -> float:
        """Predicted instructions of one inference (the layers + the API around them)."""
        return float(sum(self.layer(n) for n in graph)) + self.io(graph)

    def io(self, graph: Graph) -> float:
        """Instructions outside the layers: input/output conversion of the float API."""
        return float(np.dot(self.io_coef, io_features(graph)))

    def layers(self, graph: Graph) -> dict[str, float]:
        return {n.name: self.layer(n) for n in graph if n.op not in VIEWS}

    def code_bytes(self, graph: Graph) -> float:
        """Predicted bytes of the model's own code (text and non-weight constants)."""
        return float(np.dot(self.code_coef, code_features(graph)))

    def weight_bytes(self, graph: Graph) -> int:
        """Flash bytes of the weights in this model's dtype: 4 per float32 weight; int8: 1
        per weight + int32 biases, multipliers, shifts and tables (quant.int8_weight_bytes)."""
        if self.dtype == "int8":
            from lrf_edge.quant import int8_weight_bytes
            return int8_weight_bytes(graph)
        return graph.weight_bytes

    def flash(self, graph: Graph) -> float:
        """Predicted flash: weights + code."""
        return self.weight_bytes(graph) + self.code_bytes(graph)

    # -- persistence -------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        return {"version": VERSION, "target": self.target, "key": self.key,
                "samples": [vars(s) for s in self.samples], "coef": self.coef,
                "code_samples": [list(c) for c in self.code_samples],
                "code_coef": list(self.code_coef), "stack_bytes": self.stack_bytes,
                "dtype": self.dtype, "io_samples": [list(c) for c in self.io_samples],
                "io_coef": list(self.io_coef)}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> "LatencyModel":
        if d.get("version") != VERSION:
            raise ValueError("an older latency model format")
        m = cls(d["target"], d["key"], [Sample(**s) for s in d["samples"]], d["coef"],
                [tuple(c) for c in d["code_samples"]], list(d["code_coef"]),
                int(d["stack_bytes"]), d.get("dtype", "float32"),
                [tuple(c) for c in d.get("io_samples", [])],
                list(d.get("io_coef", [0.0, 0.0, 0.0, 0.0])))
        return m

    def errors(self, source: str = "bench") -> dict[str, float]:
        """Mean and max relative error of the fit on its samples of one source."""
        errs = []
        for s in self.samples:
            if s.source == source:
                pred = float(np.dot(self.coef[s.op], s.features))
                errs.append(abs(pred - s.instructions) / max(s.instructions, 1.0))
        return {"mean": float(np.mean(errs)) if errs else 0.0,
                "max": float(np.max(errs)) if errs else 0.0, "n": len(errs)}


# -- the cache -------------------------------------------------------------------------
def cache_root() -> Path:
    from lrf_edge.examples import cache_dir
    path = cache_dir() / "latency"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _check_dtype(dtype: str) -> None:
    if dtype not in DTYPES:
        raise LrfError(f"unknown dtype '{dtype}'; valid: {', '.join(DTYPES)}")


def toolchain_key(target_name: str, dtype: str = "float32") -> str:
    """Hash of the compiler's version, the target's flags and the kernel templates (the
    int8 kernels' for dtype int8)."""
    from lrf_edge.codegen import KERNELS
    from lrf_edge.targets import get_target
    _check_dtype(dtype)
    t = get_target(target_name)
    try:
        version = subprocess.run([t.cc, "--version"], capture_output=True, text=True,
                                 timeout=30).stdout.splitlines()[0]
    except (OSError, IndexError, subprocess.TimeoutExpired):
        version = "unknown"
    h = hashlib.sha256()
    h.update(json.dumps([VERSION, t.name, version, t.cflags, t.ldflags, t.libs,
                         sorted(KERNELS)]).encode())
    tpl = resources.files("lrf_edge.templates")
    names = {k.template for k in KERNELS.values() if k.template} | {
        "common.j2", "model.c.j2", "harness_main.c", t.counter_header}
    if dtype == "int8":
        from lrf_edge.codegen.kernels_q8 import KERNELS_Q8
        h.update(json.dumps(["int8", sorted(KERNELS_Q8)]).encode())
        names = {k.template for k in KERNELS_Q8.values() if k.template} | {
            "common_q8.j2", "model_q8.c.j2", "harness_main.c", t.counter_header}
    for name in sorted(n for n in names if n):
        item = tpl / name
        if item.is_file():
            h.update(name.encode())
            h.update(item.read_bytes())
    return h.hexdigest()[:16]


def cache_path(target_name: str, dtype: str = "float32") -> Path:
    infix = "" if dtype == "float32" else f"{dtype}-"
    return cache_root() / f"{target_name}-{infix}{toolchain_key(target_name, dtype)}.json"


def cached(target_name: str, dtype: str = "float32") -> LatencyModel | None:
    """The cached calibration of this target, toolchain and dtype, or None."""
    try:
        path = cache_path(target_name, dtype)
        model = LatencyModel.from_json(json.loads(path.read_text()))
        return model if model.dtype == dtype else None
    except (OSError, ValueError, KeyError, TypeError, LrfError):
        return None


def save(model: LatencyModel, path: Path | None = None) -> Path:
    path = path or cache_path(model.target, model.dtype)
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    tmp.write_text(json.dumps(model.to_json(), indent=1))
    os.replace(tmp, path)
    return path


def calibrated(target_name: str, progress: Callable[[str], None] | None = None,
               dtype: str = "float32") -> LatencyModel:
    """The target's latency model of one dtype: from the cache, or calibrated now and
    cached."""
    model = cached(target_name, dtype)
    if model is None:
        model = calibrate(target_name, progress, dtype)
        save(model)
    return model


# -- micro-benchmarks ------------------------------------------------------------------
def _rng_weights(rng: np.random.Generator, *shape: int) -> np.ndarray:
    return (rng.standard_normal(shape) * 0.2).astype(np.float32)


def _dense_chain(name: str, n_in: int, layers: list[tuple[int, str]], seed: int) -> Graph:
    rng = np.random.default_rng(seed)
    nodes = [Node("x", "input", attrs={"shape": (n_in,)})]
    prev, width = "x", n_in
    for i, (n, act) in enumerate(layers):
        nodes.append(Node(f"d{i}", "dense", [prev], weights={
            "kernel": _rng_weights(rng, width, n), "bias": _rng_weights(rng, n)},
            activation=act))
        prev, width = f"d{i}", n
    return Graph(nodes, name)


def _conv(rng, name, prev, k, c, n, act="relu", padding="same", strides=(1, 1)) -> Node:
    return Node(name, "conv2d", [prev], attrs={"padding": padding, "strides": strides},
                weights={"kernel": _rng_weights(rng, k, k, c, n), "bias": _rng_weights(rng, n)},
                activation=act)


def _dw(rng, name, prev, k, c, act="relu", padding="same") -> Node:
    return Node(name, "depthwise_conv2d", [prev], attrs={"padding": padding,
                                                          "strides": (1, 1)},
                weights={"kernel": _rng_weights(rng, k, k, c, 1), "bias": _rng_weights(rng, c)},
                activation=act)


def _dense_graphs() -> list[Graph]:
    return [_dense_chain("bench_dense_a", 200, [(64, "relu"), (13, "linear"), (120, "relu"),
                                                (37, "tanh"), (256, "relu"), (8, "linear"),
                                                (96, "relu"), (300, "relu"), (10, "softmax")],
                         1),
            _dense_chain("bench_dense_b", 784, [(50, "relu"), (17, "relu"), (33, "sigmoid"),
                                                (5, "linear"), (100, "relu"), (24, "relu"),
                                                (160, "relu"), (1, "linear")], 2)]


def benchmark_graphs() -> list[Graph]:
    """Small graphs covering the supported ops at varied shapes (one ELF each)."""
    from lrf_edge.codegen import KERNELS
    g = _dense_graphs()
    rng = np.random.default_rng(3)
    nodes = [Node("x", "input", attrs={"shape": (20, 20, 3)}),
             _conv(rng, "c0", "x", 3, 3, 8),
             _conv(rng, "c1", "c0", 1, 8, 5, "linear"),
             _conv(rng, "c2", "c1", 3, 5, 12, padding="valid"),
             _dw(rng, "dw0", "c2", 3, 12),
             _conv(rng, "c3", "dw0", 1, 12, 16),
             Node("p0", "max_pool2d", ["c3"], attrs={"pool_size": (2, 2), "strides": (2, 2),
                                                      "padding": "valid"}),
             Node("z0", "zero_pad2d", ["p0"], attrs={"padding": ((1, 1), (1, 1))}),
             _conv(rng, "c4", "z0", 5, 16, 6, padding="valid"),
             _dw(rng, "dw1", "c4", 3, 6, "linear", padding="valid"),
             _conv(rng, "c5", "dw1", 1, 6, 24),
             Node("p1", "avg_pool2d", ["c5"], attrs={"pool_size": (2, 2), "strides": (2, 2),
                                                      "padding": "valid"}),
             Node("a0", "activation", ["p1"], activation="relu"),
             Node("g0", "global_avg_pool2d", ["a0"]),
             Node("d0", "dense", ["g0"], weights={"kernel": _rng_weights(rng, 24, 10)},
                  activation="softmax")]
    g.append(Graph(nodes, "bench_conv_a"))
    rng = np.random.default_rng(4)
    nodes = [Node("x", "input", attrs={"shape": (14, 14, 4)}),
             _conv(rng, "c0", "x", 5, 4, 9),
             _conv(rng, "c1", "c0", 3, 9, 14, strides=(2, 2)),
             _conv(rng, "c2", "c1", 1, 14, 3, "linear"),
             _dw(rng, "dw0", "c2", 5, 3),
             _conv(rng, "c3", "dw0", 3, 3, 20, padding="valid"),
             _conv(rng, "c4", "c3", 1, 20, 32),
             Node("p0", "max_pool2d", ["c4"], attrs={"pool_size": (2, 2), "strides": (2, 2),
                                                      "padding": "valid"}),
             _dw(rng, "dw1", "p0", 3, 32),
             _conv(rng, "c5", "dw1", 3, 32, 7, padding="same"),
             Node("a0", "activation", ["c5"], activation="sigmoid"),
             Node("f0", "flatten", ["a0"]),
             Node("d0", "dense", ["f0"], weights={"kernel": _rng_weights(rng, 28, 10)},
                  activation="linear")]
    g.append(Graph(nodes, "bench_conv_b"))
    if "tt_dense" in KERNELS:  # the TT kernel, when the code generator has one
        g.extend(_tt_graphs())
    return g


def _tt_graphs() -> list[Graph]:
    from lrf_edge.compress.family import family
    out = []
    from lrf_edge.methods import METHODS
    for graph, ranks in zip(_dense_graphs(), ((1, 2, 4, 8), (2, 3, 6, 12))):
        k = 0
        for node in list(graph):
            if node.op != "dense" or min(node.weights["kernel"].shape) < 8:
                continue
            try:
                rows = family(node, "tt")
            except Exception:  # noqa: BLE001 - a layer without a TT shape stays dense
                continue
            if len(rows) == 0:
                continue
            row = rows[min(ranks[k % len(ranks)] - 1, len(rows) - 1)]
            graph = graph.replace(node.name, METHODS["tt"].decompose(node, row))
            k += 1
        graph.name += "_tt"
        out.append(graph)
    return out


@dataclass
class Measured:
    """One graph built and run under QEMU: what the latency model and the bundle need."""

    graph: Graph
    layer_instructions: dict[str, int]
    total: int
    code_bytes: int       # model code + non-weight constants
    flash_bytes: int      # model code + rodata (weights included), as compiled
    weight_bytes: int
    arena_bytes: int
    stack_bytes: int
    sizes: dict[str, int]
    outputs: np.ndarray
    elf: Path | None = None
    dtype: str = "float32"


def stack_usage(target: Any, workdir: Path, model_c: str) -> int:
    """Stack bytes of one inference: the infer function's frame plus its deepest callee's
    (gcc -fstack-usage; layer functions are leaves)."""
    t = target
    proc = subprocess.run([t.cc, *t.cflags, "-fstack-usage", "-I.", "-c", model_c, "-o",
                           "stack_probe.o"], cwd=workdir, capture_output=True, text=True)
    su = workdir / "stack_probe.su"
    if proc.returncode != 0 or not su.exists():
        return 0
    frames: dict[str, int] = {}
    for line in su.read_text().splitlines():
        parts = line.split("\t")
        if len(parts) >= 2 and parts[1].strip().isdigit():
            frames[parts[0].rsplit(":", 1)[-1]] = int(parts[1])
    # the entry points: <name>_infer, and for int8 the <name>_infer_q8 it calls
    entry = [k for k in frames if k.endswith("_infer") or k.endswith("_infer_q8")]
    others = max((v for k, v in frames.items() if k not in entry), default=0)
    return sum(frames[k] for k in entry) + others


def measure(graph: Any, target_name: str, inputs: np.ndarray | None = None,
            workdir: str | Path | None = None, name: str = "model",
            timeout: float | None = None) -> Measured:
    """Generate C for `graph` (a Graph: float32; a lrf_edge.quant.QuantizedGraph: int8),
    build it for the target with the profiling harness, run it under QEMU and return
    per-layer instructions, sizes and outputs (of the float API)."""
    from lrf_edge import qemu
    from lrf_edge.codegen import CodegenOptions, generate
    from lrf_edge.targets import get_target
    target = get_target(target_name)
    dtype = "float32" if isinstance(graph, Graph) else "int8"
    src = generate(graph, name, CodegenOptions(dtype=dtype))
    graph = graph if dtype == "float32" else graph.graph
    if inputs is None:
        inputs = np.random.default_rng(0).random((1, *graph.input_shape), np.float32)
    tmp = None
    if workdir is None:
        tmp = tempfile.TemporaryDirectory(prefix="lrf-measure-")
        workdir = tmp.name
    try:
        build = target.build(src, inputs, workdir=workdir)
        m = qemu.run(build, timeout)
        stack = stack_usage(target, Path(workdir), f"{src.name}.c")
    finally:
        if tmp is not None:
            tmp.cleanup()
    sizes = build.sizes
    flash = sizes["model_code_bytes"] + sizes["model_rodata_bytes"]
    return Measured(graph=graph, layer_instructions=m.layer_instructions, total=m.total,
                    code_bytes=flash - src.weight_bytes, flash_bytes=flash,
                    weight_bytes=src.weight_bytes, arena_bytes=src.arena_bytes,
                    stack_bytes=stack, sizes=dict(sizes), outputs=m.outputs,
                    elf=None if tmp is not None else build.elf, dtype=dtype)


def calibrate(target_name: str, progress: Callable[[str], None] | None = None,
              dtype: str = "float32") -> LatencyModel:
    """Run the micro-benchmarks under QEMU and fit the model (not cached; see calibrated).
    int8: each graph quantized on 64 random inputs (seeded) first."""
    from lrf_edge.targets import get_target
    _check_dtype(dtype)
    target = get_target(target_name)
    if target.kind != "qemu":
        raise LrfError(f"target '{target_name}' has no emulator to calibrate a latency model "
                       "on; choose riscv32, riscv32f or cortex-m4")
    target.check_toolchain()
    say = progress or (lambda msg: None)
    model = LatencyModel(target_name, toolchain_key(target_name, dtype), dtype=dtype)
    stack = 0
    for graph in benchmark_graphs():
        model_in: Any = graph
        if dtype == "int8":
            from lrf_edge.quant import quantize
            rng = np.random.default_rng(5)
            model_in = quantize(graph, rng.random((64, *graph.input_shape), np.float32))
        m = measure(model_in, target_name)
        say(f"calibration {graph.name} ({dtype}): {len(m.layer_instructions)} layers, "
            f"{m.total:,} instructions, code {m.code_bytes} B")
        for node in graph:
            if node.name in m.layer_instructions and node.op not in VIEWS:
                model.samples.append(Sample(node.op, layer_features(node, dtype=dtype)
                                            .tolist(),
                                            float(m.layer_instructions[node.name])))
        model.code_samples.append((code_features(graph), m.code_bytes, 1.0))
        model.io_samples.append((io_features(graph),
                                 float(m.total - sum(m.layer_instructions.values())), 1.0))
        stack = max(stack, m.stack_bytes)
    model.stack_bytes = stack or model.stack_bytes
    return model.fit()
