"""The kernel conformance sweep: seeded random layer shapes per op family, and one runner that
builds many of them into one program per target and compares each with the reference.

A `Case` is one small IR graph (an input, the layer under test and, where the op needs
them, a few helper nodes) with its seeded inputs and one variant: dtype x target x
`--optimize` mode (plus a dense/conv block width, so every block size leaves tails). The
shapes are drawn to reach the kernels' corners: 1D inputs and (k,1) / (1,k) kernels,
dilation, stride 2, odd and 1-3 channels, channel multipliers, 'same', 'valid' and
'causal'; half the cases have a layer before the tested one and, independently, half one
after it, so that its buffers are in the arena (where kernels may write over their input).

`run_cases(cases, target)` generates every case's C under its own prefix (the generated C
exports only `<name>_*` symbols), compiles each file with the target's flags (all targets
have -Wall -Wextra -Werror), links them into one program (host: one shared library called
through ctypes; QEMU targets: one ELF whose harness runs every case's inputs) and checks
int8 bit-exact against lrf_edge.quant.reference and float32 within 1e-5 of the output
scale against the numpy float64 executor (lrf_edge.quant.calibrate.float_forward). One case
whose C does not compile is reported as such and left out of the link; the others still run.
"""

from __future__ import annotations

import ctypes
import subprocess
import tempfile
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from lrf_edge.cgen import CodegenOptions, CSources, generate
from lrf_edge.cgen.render import c_floats
from lrf_edge.ir import ACTIVATIONS, Graph, Node
from lrf_edge.quant import quantize, reference
from lrf_edge.quant.calibrate import float_forward
from lrf_edge.targets import Target, get_target

DTYPES = ("float32", "int8")
TARGETS = ("host", "riscv32", "riscv32f", "cortex-m4")
MODES = ("speed", "size")
BLOCKS = (8, 8, 4, 3, 2, 1)
N_INPUTS = 3          # inputs run per case
N_CALIBRATION = 32    # int8 calibration inputs per case (the run inputs among them)
FLOAT_TOLERANCE = 1e-5  # of the output scale (max |reference|)


def _gcc12_restrict_miscompile(case: "Case") -> bool:
    """A float depthwise 1x1, one channel, multiplier 2, in speed mode, between two arena
    buffers (a layer before and after it): where the sweep met the miscompile below."""
    names = {n.name for n in case.graph}
    return (case.mode == "speed" and {"pre", "post"} <= names
            and case.graph["l"].weights["kernel"].shape == (1, 1, 1, 2))


# What the sweep finds failing and is not fixed yet: (family, dtype, target, predicate, why).
# A listed case may fail (reported "known", with the reason) or pass.
KNOWN_FAILURES: list[tuple[str, str, str, Callable[["Case"], bool], str]] = [
    ("depthwise_conv2d", "float32", "host", _gcc12_restrict_miscompile,
     "host gcc 12.2 (x86-64) -O2 drops the call to the layer function (its IPA-CP clone with "
     "the arena pointers), for some weight values: the next layer reads a stale arena; it "
     "needs together the template's __attribute__((optimize(...))) (no inlining), the "
     "restrict x/y, IPA-CP and loop vectorization; the cross compilers are right")]


@dataclass
class Case:
    """One graph and one variant of the sweep."""

    index: int
    family: str        # the op family (a module of lrf_edge.ir.ops)
    graph: Graph
    x: np.ndarray      # N_CALIBRATION float32 inputs; the first N_INPUTS are run
    dtype: str
    target: str
    mode: str
    block: int
    weight_bits: int = 8  # int8 cases: 4 quantizes the kernels to int4 (packed in the C)

    @property
    def variant(self) -> tuple[str, str, str, str]:
        return (self.family, self.dtype, self.target, self.mode)

    @property
    def name(self) -> str:
        return f"case{self.index}"

    def describe(self) -> str:
        layers = "; ".join(f"{n.op}{n.attrs or ''} {tuple(n.shape)} {n.activation}".strip()
                           for n in self.graph if n.op != "input")
        bits = f" int{self.weight_bits} weights" if self.weight_bits != 8 else ""
        return (f"{self.name} {'/'.join(self.variant)}{bits} block {self.block}: input "
                f"{tuple(self.graph.input_shape)} -> {layers}")

    def known_failure(self) -> str | None:
        """Why the case is listed in KNOWN_FAILURES (None: it must pass)."""
        for family, dtype, target, when, why in KNOWN_FAILURES:
            if (family, dtype, target) == self.variant[:3] and when(self):
                return why
        return None


@dataclass
class Outcome:
    """One case's verdict; `detail` says why it failed (generation, compiler, values)."""

    case: Case
    status: str        # "passed", "failed" or "known" (failed, listed in KNOWN_FAILURES)
    detail: str = ""


# -- the graphs ----------------------------------------------------------------------------
def _w(rng: np.random.Generator, *shape: int, fan_in: int = 1) -> np.ndarray:
    return (rng.standard_normal(shape) / np.sqrt(max(fan_in, 1))).astype(np.float32)


def _act(rng: np.random.Generator, softmax: bool = True) -> str:
    acts = [a for a in ACTIVATIONS if softmax or a != "softmax"]
    return str(rng.choice(["linear", "relu", *acts]))


def _image(rng: np.random.Generator, lo: int = 1, hi: int = 9, cmax: int = 9,
           one_d: bool | None = None) -> tuple[int, ...]:
    """An (H, W, C) input, or (T, C) (a sequence: the ops' unit-height image) for one_d;
    1-3 channels half the time; one in six rows up to 24 long (the kernels' interior loops)."""
    one_d = rng.random() < 0.25 if one_d is None else one_d
    c = int(rng.integers(1, 4)) if rng.random() < 0.5 else int(rng.integers(1, cmax + 1))
    w = int(rng.integers(lo, (24 if rng.random() < 1 / 6 else hi) + 1))
    return (w, c) if one_d else (int(rng.integers(lo, hi + 1)), w, c)


def _kernel_size(rng: np.random.Generator, one_d: bool) -> tuple[int, int]:
    """Square, (k,1), (1,k) or any; sometimes long (6-15, as in 1D audio models)."""
    k = int(rng.integers(6, 16)) if rng.random() < 0.15 else int(rng.integers(1, 6))
    if one_d:
        return 1, k
    return [(k, k), (k, 1), (1, k), (int(rng.integers(1, 6)), k)][int(rng.integers(0, 4))]


def _window_attrs(rng: np.random.Generator, shape: tuple[int, ...], k: tuple[int, int],
                  dilated: bool) -> dict[str, Any]:
    """Strides, padding ('causal' too for 1D) and dilation that leave at least one
    output."""
    one_d = len(shape) == 2
    h, w = (1, shape[0]) if one_d else shape[:2]
    d = (1, int(rng.integers(2, 4))) if one_d else (int(rng.integers(1, 4)),
                                                      int(rng.integers(1, 4)))
    dil = d if dilated and rng.random() < 0.3 else (1, 1)
    strides = (1, 1) if dil != (1, 1) else \
        (1 if one_d else int(rng.integers(1, 3)), int(rng.integers(1, 3)))
    fits = (dil[0] * (k[0] - 1) < h) and (dil[1] * (k[1] - 1) < w)
    pads = ["same", "causal"] if one_d else ["same"]
    padding = str(rng.choice(pads if not fits or rng.random() < 0.5 else ["valid"]))
    attrs: dict[str, Any] = {"strides": strides, "padding": padding}
    if dil != (1, 1):
        attrs["dilation"] = dil
    return attrs


def _input(shape: tuple[int, ...]) -> Node:
    return Node("x", "input", attrs={"shape": tuple(shape)})


def dense_case(rng: np.random.Generator) -> list[Node]:
    x, y = int(rng.integers(1, 41)), int(rng.integers(1, 41))
    w = {"kernel": _w(rng, x, y, fan_in=x)}
    if rng.random() < 0.7:
        w["bias"] = _w(rng, y)
    return [_input((x,)), Node("l", "dense", ["x"], weights=w, activation=_act(rng))]


def conv2d_case(rng: np.random.Generator) -> list[Node]:
    shape = _image(rng)
    one_d = len(shape) == 2
    k = _kernel_size(rng, one_d)
    c, n = shape[-1], int(rng.integers(1, 18))
    w = {"kernel": _w(rng, *k, c, n, fan_in=k[0] * k[1] * c)}
    if rng.random() < 0.7:
        w["bias"] = _w(rng, n)
    return [_input(shape), Node("l", "conv2d", ["x"], attrs=_window_attrs(rng, shape, k, True),
                                weights=w, activation=_act(rng, softmax=False))]


def depthwise_conv2d_case(rng: np.random.Generator) -> list[Node]:
    shape = _image(rng, cmax=17)
    one_d = len(shape) == 2
    k = _kernel_size(rng, one_d)
    c, m = shape[-1], int(rng.choice([1, 1, 2, 3]))
    w = {"kernel": _w(rng, *k, c, m, fan_in=k[0] * k[1])}
    if rng.random() < 0.7:
        w["bias"] = _w(rng, c * m)
    return [_input(shape),
            Node("l", "depthwise_conv2d", ["x"], attrs=_window_attrs(rng, shape, k, False),
                 weights=w, activation=_act(rng, softmax=False))]


def tt_dense_case(rng: np.random.Generator) -> list[Node]:
    from lrf_edge.methods import tt
    cores = int(rng.integers(2, 4))
    rows = [int(v) for v in rng.integers(2, 5, cores)]
    cols = [int(v) for v in rng.integers(2, 5, cores)]
    x, y = int(np.prod(rows)), int(np.prod(cols))
    w = {"kernel": _w(rng, x, y, fan_in=x)}
    if rng.random() < 0.7:
        w["bias"] = _w(rng, y)
    dense = Node("l", "dense", ["x"], weights=w, activation=_act(rng))
    g = Graph([_input((x,)), dense])
    top = tt.max_useful_rank(rows, cols)
    row = tt.solution(g["l"], tt.Params([rows, cols], int(rng.integers(1, top + 1)),
                                        str(rng.choice(tt.ORDERS))))[0]
    return [_input((x,)), *tt.decompose(g["l"], row)]


def pool2d_case(rng: np.random.Generator) -> list[Node]:
    shape = _image(rng, cmax=12)
    op = str(rng.choice(["max_pool2d", "avg_pool2d", "max_pool2d", "avg_pool2d",
                         "global_avg_pool2d", "global_max_pool2d"]))
    if op.startswith("global"):
        return [_input(shape), Node("l", op, ["x"])]
    one_d = len(shape) == 2
    pool = (1, int(rng.integers(1, 4))) if one_d else \
        (int(rng.integers(1, 4)), int(rng.integers(1, 4)))
    strides = (1, int(rng.integers(1, 4))) if one_d else \
        (int(rng.integers(1, 4)), int(rng.integers(1, 4)))
    h, w = (1, shape[0]) if one_d else shape[:2]
    fits = pool[0] <= h and pool[1] <= w
    padding = "same" if not fits or rng.random() < 0.5 else "valid"
    return [_input(shape), Node("l", op, ["x"], attrs={"pool_size": pool, "strides": strides,
                                                      "padding": padding})]


def zero_pad2d_case(rng: np.random.Generator) -> list[Node]:
    shape = _image(rng)
    top, bottom = (0, 0) if len(shape) == 2 else tuple(int(v) for v in rng.integers(0, 3, 2))
    left, right = (int(v) for v in rng.integers(0, 3, 2))
    return [_input(shape),
            Node("l", "zero_pad2d", ["x"], attrs={"padding": ((top, bottom), (left, right))})]


def _branches(rng: np.random.Generator, k: int) -> list[Node]:
    """k activations of x (distinct scales and signs for the binary ops' inputs)."""
    acts = rng.choice(["tanh", "sigmoid", "relu", "hard_swish", "linear"], k)
    return [Node(f"b{i}", "activation", ["x"], activation=str(a)) for i, a in enumerate(acts)]


def add_case(rng: np.random.Generator) -> list[Node]:
    shape = _image(rng) if rng.random() < 0.7 else (int(rng.integers(1, 30)),)
    op = str(rng.choice(["add", "add", "subtract"]))
    k = 1 if op == "subtract" else int(rng.integers(1, 3))
    b = _branches(rng, k)
    return [_input(shape), *b, Node("l", op, ["x", *(n.name for n in b)],
                                    activation=_act(rng, softmax=False))]


def activation_case(rng: np.random.Generator) -> list[Node]:
    shape = (int(rng.integers(1, 40)),) if rng.random() < 0.5 else _image(rng)
    return [_input(shape), Node("l", "activation", ["x"], activation=_act(rng))]


def prelu_case(rng: np.random.Generator) -> list[Node]:
    shape = _image(rng)
    if rng.random() < 0.5:
        return [_input(shape), Node("l", "leaky_relu", ["x"],
                                    attrs={"alpha": float(rng.uniform(0.01, 0.5))})]
    alpha = (shape[-1],) if rng.random() < 0.5 else shape[-2:]
    a = rng.uniform(-0.5, 0.5, alpha).astype(np.float32)
    return [_input(shape), Node("l", "prelu", ["x"], weights={"alpha": a})]


def concat_case(rng: np.random.Generator) -> list[Node]:
    shape = _image(rng)
    b = _branches(rng, int(rng.integers(1, 3)))
    return [_input(shape), *b, Node("l", "concat", ["x", *(n.name for n in b)])]


def multiply_case(rng: np.random.Generator) -> list[Node]:
    shape = _image(rng) if rng.random() < 0.7 else (int(rng.integers(1, 30)),)
    b = _branches(rng, 1)
    return [_input(shape), *b, Node("l", "multiply", ["x", "b0"],
                                    activation=_act(rng, softmax=False))]


def upsample_case(rng: np.random.Generator) -> list[Node]:
    shape = _image(rng, hi=6)
    size = (1, int(rng.integers(1, 4))) if len(shape) == 2 else \
        (int(rng.integers(1, 4)), int(rng.integers(1, 4)))
    return [_input(shape), Node("l", "upsample2d", ["x"], attrs={"size": size})]


def layout_case(rng: np.random.Generator) -> list[Node]:
    """permute (of a unit axis: the only kind the IR has) or reshape, then a dense (so the
    layout op's copy or view is read)."""
    shape = _image(rng, one_d=False)
    if rng.random() < 0.5:
        shape = (*shape[:2], 1)
        dims = [(1, 3, 2), (3, 1, 2)][int(rng.integers(0, 2))]
        mid = Node("p", "permute", ["x"], attrs={"dims": dims})
    else:
        mid = Node("p", "reshape", ["x"], attrs={"target_shape": (shape[0] * shape[1],
                                                                 shape[2])})
    n = int(np.prod(shape))
    return [_input(shape), mid, Node("f", "flatten", ["p"]),
            Node("l", "dense", ["f"], weights={"kernel": _w(rng, n, 5, fan_in=n)})]


def recurrent_case(rng: np.random.Generator) -> list[Node]:
    op = str(rng.choice(["gru", "lstm"]))
    t, c, u = int(rng.integers(1, 7)), int(rng.integers(1, 9)), int(rng.integers(1, 9))
    g = 3 if op == "gru" else 4
    attrs: dict[str, Any] = {"units": u, "return_sequences": bool(rng.random() < 0.5)}
    w = {"kernel": _w(rng, c, g * u, fan_in=c), "recurrent_kernel": _w(rng, u, g * u, fan_in=u)}
    if op == "gru":
        attrs["reset_after"] = bool(rng.random() < 0.7)
        w["bias"] = _w(rng, *((2, g * u) if attrs["reset_after"] else (g * u,)))
    elif rng.random() < 0.8:
        w["bias"] = _w(rng, g * u)
    return [_input((t, c)), Node("l", op, ["x"], weights=w, attrs=attrs)]


FAMILIES: dict[str, Callable[[np.random.Generator], list[Node]]] = {
    "dense": dense_case, "conv2d": conv2d_case, "depthwise_conv2d": depthwise_conv2d_case,
    "tt_dense": tt_dense_case, "pool2d": pool2d_case, "zero_pad2d": zero_pad2d_case,
    "add": add_case, "activation": activation_case, "prelu": prelu_case,
    "concat": concat_case, "multiply": multiply_case, "upsample": upsample_case,
    "layout": layout_case, "recurrent": recurrent_case}


def _in_arena(rng: np.random.Generator, nodes: list[Node]) -> list[Node]:
    """Half the time a tanh before the layers (their input then lives in the arena, where
    kernels may write over it) and, independently, a leaky ReLU after them (injective:
    it hides no error of the layer; its output buffer is then in the arena too)."""
    head, rest = nodes[0], nodes[1:]
    if rng.random() < 0.5:
        pre = Node("pre", "activation", ["x"], activation="tanh")
        rest = [pre, *(Node(n.name, n.op, ["pre" if s == "x" else s for s in n.inputs],
                            attrs=n.attrs, weights=n.weights, activation=n.activation)
                       for n in rest)]
    if rng.random() < 0.5:
        rest.append(Node("post", "leaky_relu", [rest[-1].name], attrs={"alpha": 0.5}))
    return [head, *rest]


def make_cases(n: int, seed: int = 0, families=FAMILIES, dtypes=DTYPES, targets=TARGETS,
               modes=MODES, weight_bits: int = 8) -> list[Case]:
    """n seeded cases, round robin over the families and the variants (dtype x target x
    mode), each with its own graph; the int8 ones with `weight_bits`-bit kernels."""
    variants = [(d, t, m) for t in targets for d in dtypes for m in modes]
    fams = list(families)
    out = []
    for i in range(n):
        rng = np.random.default_rng([seed, i])
        family = fams[i % len(fams)]
        dtype, target, mode = variants[(i // len(fams)) % len(variants)]
        g = Graph(_in_arena(rng, FAMILIES[family](rng)), name=f"case{i}")
        x = rng.standard_normal((N_CALIBRATION, *g.input_shape)).astype(np.float32)
        out.append(Case(i, family, g, x, dtype, target, mode, int(rng.choice(BLOCKS)),
                        weight_bits))
    return out


# -- building and running ------------------------------------------------------------------
@dataclass
class _Built:
    case: Case
    sources: CSources
    expected: np.ndarray
    qg: Any = None


@dataclass
class _Batch:
    target: Target
    work: Path
    built: list[_Built] = field(default_factory=list)
    outcomes: list[Outcome] = field(default_factory=list)

    def fail(self, case: Case, detail: str) -> None:
        known = case.known_failure()
        self.outcomes.append(Outcome(case, "known" if known else "failed",
                                     f"{detail} (known: {known})" if known else detail))


def _generate(case: Case, target: Target) -> _Built:
    x = case.x[:N_INPUTS]
    opts = CodegenOptions(dtype=case.dtype, simd=target.simd, optimize=case.mode,
                          block=case.block)
    if case.dtype == "int8":
        qg = quantize(case.graph, case.x, weight_bits=case.weight_bits)
        return _Built(case, generate(qg, case.name, opts), reference.run(qg, x), qg)
    expected = float_forward(case.graph, x).astype(np.float32)
    return _Built(case, generate(case.graph, case.name, opts), expected)


def _compile_one(target: Target, work: Path, b: _Built) -> str | None:
    d = work / b.case.name
    d.mkdir()
    for fname, text in b.sources.files.items():
        (d / fname).write_text(text)
    proc = subprocess.run([target.cc, *target.cflags, "-I.", "-c", f"{b.case.name}.c", "-o",
                           f"../{b.case.name}.o"], cwd=d, capture_output=True, text=True)
    if proc.returncode == 0:
        return None
    errors = [l for l in proc.stderr.splitlines() if "error" in l]
    return "compile: " + " | ".join(errors[:3] or proc.stderr.splitlines()[-3:])


def _harness(built: list[_Built]) -> str:
    """main() of the QEMU program: every case's inputs through its float API, each output
    printed as float bits (exact)."""
    lines = ["#include <stdint.h>", "#include <stdio.h>", "#include <string.h>"]
    lines += [f'#include "{b.case.name}/{b.case.name}.h"' for b in built]
    lines += ["static void lrf_dump(int c, int n, const float *y, int size)", "{",
              '    printf("R %d %d", c, n);', "    for (int i = 0; i < size; i++) {",
              "        uint32_t u;", "        memcpy(&u, &y[i], sizeof u);",
              '        printf(" %08lx", (unsigned long)u);', "    }", '    printf("\\n");', "}"]
    calls = []
    for b in built:
        s, name = b.sources, b.case.name
        x = b.case.x[:N_INPUTS].reshape(N_INPUTS, -1)
        lines += [f"static const float {name}_x[{N_INPUTS}][{s.input_size}] = {{",
                  ",\n".join("{\n" + c_floats(r) + "\n}" for r in x), "};",
                  f"static float {name}_y[{s.output_size}];"]
        calls += [f"    for (int n = 0; n < {N_INPUTS}; n++) {{",
                  f"        int rc = {name}_infer({name}_x[n], {name}_y);",
                  f'        if (rc) printf("E {b.case.index} %d %d\\n", n, rc);',
                  f"        else lrf_dump({b.case.index}, n, {name}_y, {s.output_size});",
                  "    }"]
    return "\n".join([*lines, "int main(void)", "{", *calls, '    printf("LRF done\\n");',
                      "    return 0;", "}", ""])


def _run_host(batch: _Batch, ok: list[_Built]) -> dict[int, np.ndarray]:
    t = batch.target
    lib = batch.work / "libcases.so"
    t.compile([t.cc, *t.ldflags, *(f"{b.case.name}.o" for b in ok), "-o", lib.name, *t.libs],
              batch.work)
    so = ctypes.CDLL(str(lib))
    ptr = ctypes.POINTER(ctypes.c_float)
    got = {}
    for b in ok:
        fn = getattr(so, f"{b.case.name}_infer")
        fn.argtypes, fn.restype = [ptr, ptr], ctypes.c_int
        x = np.ascontiguousarray(b.case.x[:N_INPUTS].reshape(N_INPUTS, -1))
        y = np.zeros((N_INPUTS, b.sources.output_size), np.float32)
        for i in range(N_INPUTS):
            if fn(x[i].ctypes.data_as(ptr), y[i].ctypes.data_as(ptr)) != 0:
                break
        else:
            got[b.case.index] = y
    return got


def _run_qemu(batch: _Batch, ok: list[_Built]) -> dict[int, np.ndarray]:
    t = batch.target
    (batch.work / "main.c").write_text(_harness(ok))
    t.compile([t.cc, *t.cflags, "-I.", "-c", "main.c", "-o", "main.o"], batch.work)
    elf = batch.work / "cases.elf"
    t.compile([t.cc, *t.ldflags, "main.o", *(f"{b.case.name}.o" for b in ok), "-o", elf.name,
               *t.libs], batch.work)
    log = batch.work / "semihosting.txt"
    cmd = [a.replace("{elf}", str(elf)).replace("{log}", str(log)) for a in t.emulator]
    subprocess.run(cmd, capture_output=True, timeout=t.timeout_s, stdin=subprocess.DEVNULL)
    rows: dict[int, dict[int, np.ndarray]] = {}
    for line in log.read_text().splitlines() if log.exists() else []:
        parts = line.split()
        if parts[:1] == ["R"]:
            bits = np.array([int(v, 16) for v in parts[3:]], np.uint32)
            rows.setdefault(int(parts[1]), {})[int(parts[2])] = bits.view(np.float32)
    return {c: np.stack([r[n] for n in range(N_INPUTS)]) for c, r in rows.items()
            if len(r) == N_INPUTS}


def _compare(b: _Built, got: np.ndarray) -> str | None:
    exp = b.expected.reshape(got.shape)
    if b.case.dtype == "int8":
        bad = np.flatnonzero(got.view(np.uint32) != exp.astype(np.float32).view(np.uint32))
        if len(bad):
            return (f"not bit-exact: {len(bad)} of {got.size} values differ, first at "
                    f"{bad[0]}: {got.flat[bad[0]]!r} != {exp.flat[bad[0]]!r}")
        return None
    scale = max(float(np.abs(exp).max()), 1e-30)
    err = float(np.abs(got.astype(np.float64) - exp).max())
    if not err <= FLOAT_TOLERANCE * scale:
        return f"float error {err:.3g} > {FLOAT_TOLERANCE:g} x output scale {scale:.3g}"
    return None


def run_cases(cases: list[Case], target: str, workdir: str | Path | None = None,
              jobs: int = 2) -> list[Outcome]:
    """Build all `cases` (of one target) into one program, run it, and judge every case."""
    t = get_target(target)
    with tempfile.TemporaryDirectory(prefix="lrf-conformance-") as tmp:
        work = Path(workdir or tmp)
        work.mkdir(parents=True, exist_ok=True)
        batch = _Batch(t, work)
        for case in cases:
            assert case.target == target, (case.target, target)
            try:
                batch.built.append(_generate(case, t))
            except Exception as e:  # noqa: BLE001 (every failure of a case is its outcome)
                batch.fail(case, f"generate: {type(e).__name__}: {e}")
        with ThreadPoolExecutor(jobs) as pool:
            errors = list(pool.map(lambda b: _compile_one(t, work, b), batch.built))
        ok = []
        for b, err in zip(batch.built, errors):
            if err:
                batch.fail(b.case, err)
            else:
                ok.append(b)
        got = (_run_host if t.kind == "host" else _run_qemu)(batch, ok) if ok else {}
        for b in ok:
            if b.case.index not in got:
                batch.fail(b.case, "no output (the inference returned an error or the "
                           "program stopped)")
                continue
            err = _compare(b, got[b.case.index])
            if err:
                batch.fail(b.case, err)
            else:
                batch.outcomes.append(Outcome(b.case, "passed"))
        return batch.outcomes


def tally(outcomes: list[Outcome]) -> Counter:
    """(family, dtype, target, mode, status) -> count."""
    return Counter((*o.case.variant, o.status) for o in outcomes)
