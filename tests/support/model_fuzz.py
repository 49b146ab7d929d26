"""A seeded mutation fuzzer of model files, and a runner that classifies what the CLI does
with each mutant.

Corpus: real files of two tiny Keras models (a functional CNN with a residual add, an MLP)
saved as `.keras` and `.h5` and converted to `.tflite` (float and int8) and `.onnx` with
lrf_edge.exporters; built once into a folder and reused.

Mutations: byte-level (truncation, bit flips, runs of 0x00/0xff, 32-bit values written at
random offsets: huge, negative, sign bit) on every format, and structured ones that keep the
container valid so the readers' checks are reached: the flatbuffer's tensors, shapes,
buffers and operator indices (huge and negative dimensions, shapes whose byte count
overflows int32, swapped fields, an operator reading its own output: a cycle); the ONNX
graph's dims, attributes, initializers and node inputs; the Keras JSON config of `.h5` and
`.keras` files (numbers made huge, negative or zero, fields swapped between layers, inbound
nodes pointing at the layer itself or a later one, control characters in the JSON text).

Runner: a worker process imports lrf-edge once and runs `lrf-edge inspect` (then `codegen`
when inspect succeeds) in-process per case, under a per-case alarm and an address-space
limit; the parent kills and restarts it when a case outlives the hard time limit or the
worker dies. Each case ends in one outcome: "ok" (exit 0), "error" (exit 2, one line on
stderr), and the failures "traceback", "multi-line" (exit 2 but not one line), "exit-N",
"hang", "memory" (MemoryError under the limit) or "signal" (the worker died).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import resource
import select
import signal
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

OK, ERROR = "ok", "error"  # every other outcome is a failure
HUGE = [2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1, 2 ** 40, 46341, 65536, 10 ** 9]
NEGATIVE = [-1, -2, -(2 ** 31), -(2 ** 63)]
MEMORY_LIMIT = 6 << 30  # bytes of address space a worker may map (TensorFlow maps ~2 GB)


# -- corpus --------------------------------------------------------------------------------
def _models() -> dict:
    import keras
    rng = np.random.default_rng(0)
    x = keras.Input((8, 8, 2), batch_size=1)
    a = keras.layers.Conv2D(4, 3, padding="same", activation="relu", name="conv")(x)
    b = keras.layers.DepthwiseConv2D(3, padding="same", name="dw")(a)
    y = keras.layers.Add(name="add")([a, b])
    y = keras.layers.MaxPooling2D(2, name="pool")(y)
    y = keras.layers.Flatten(name="flat")(y)
    y = keras.layers.Dense(3, activation="softmax", name="fc")(y)
    cnn = keras.Model(x, y, name="cnn")
    mlp = keras.Sequential([keras.Input((6,), batch_size=1),
                            keras.layers.Dense(5, activation="relu"), keras.layers.Dense(3)],
                           name="mlp")
    for model in (cnn, mlp):
        for layer in model.layers:
            layer.set_weights([rng.normal(0, 0.5, w.shape).astype(np.float32)
                               for w in layer.get_weights()])
    return {"cnn": cnn, "mlp": mlp}


def build_corpus(folder: Path) -> list[Path]:
    """The seed files in `folder` (written once: a later call reads them back)."""
    folder.mkdir(parents=True, exist_ok=True)
    done = folder / "DONE"
    if not done.exists():
        from lrf_edge.exporters import onnx_bytes, tflite_bytes
        for name, model in _models().items():
            model.save(folder / f"{name}.keras")
            model.save(folder / f"{name}.h5")
            (folder / f"{name}.tflite").write_bytes(tflite_bytes(model))
            (folder / f"{name}.onnx").write_bytes(onnx_bytes(model))
            rep = np.random.default_rng(1).normal(size=(8, *model.inputs[0].shape[1:]))
            (folder / f"{name}_int8.tflite").write_bytes(
                tflite_bytes(model, int8=True, representative=rep.astype(np.float32)))
        done.write_text("")
    return sorted(p for p in folder.iterdir() if p.suffix != "")


# -- byte-level mutations ------------------------------------------------------------------
def truncate(buf: bytes, rng: np.random.Generator) -> bytes:
    return buf[:int(rng.integers(0, len(buf)))]


def bit_flips(buf: bytes, rng: np.random.Generator) -> bytes:
    out = bytearray(buf)
    for _ in range(int(rng.integers(1, 9))):
        i = int(rng.integers(0, len(out)))
        out[i] ^= 1 << int(rng.integers(0, 8))
    return bytes(out)


def byte_run(buf: bytes, rng: np.random.Generator) -> bytes:
    out = bytearray(buf)
    i = int(rng.integers(0, len(out)))
    n = int(rng.integers(1, 33))
    out[i:i + n] = bytes([int(rng.choice([0, 0xFF, 0x7F, 0x80]))]) * len(out[i:i + n])
    return bytes(out)


def int32_patch(buf: bytes, rng: np.random.Generator) -> bytes:
    """A huge or negative 32-bit value at a random aligned offset (flatbuffer fields, dims,
    offsets and lengths are little-endian 32-bit)."""
    out = bytearray(buf)
    i = int(rng.integers(0, max(1, len(out) // 4))) * 4
    value = int(rng.choice(HUGE + NEGATIVE)) & 0xFFFFFFFF
    out[i:i + 4] = value.to_bytes(4, "little")
    return bytes(out[:len(buf)])


BYTE_MUTATORS = [truncate, bit_flips, byte_run, int32_patch]


# -- structured mutations ------------------------------------------------------------------
def _bad_int(rng: np.random.Generator) -> int:
    return int(rng.choice(HUGE + NEGATIVE + [0]))


def tflite_mutation(buf: bytes, rng: np.random.Generator) -> bytes:
    """One structural change of the flatbuffer, re-packed."""
    import flatbuffers
    from ai_edge_litert import schema_py_generated as s
    m = s.ModelT.InitFromObj(s.Model.GetRootAs(buf, 0))
    sg = m.subgraphs[0]
    t = sg.tensors[int(rng.integers(0, len(sg.tensors)))]
    o = sg.operators[int(rng.integers(0, len(sg.operators)))]
    kind = int(rng.integers(0, 9))
    if kind == 0 and t.shape is not None and len(t.shape):   # one dimension huge/negative
        t.shape = list(t.shape)
        t.shape[int(rng.integers(0, len(t.shape)))] = int(np.clip(_bad_int(rng), -2 ** 31,
                                                                  2 ** 31 - 1))
    elif kind == 1:                                            # bytes overflow int32
        t.shape = [1, 46341, 46341, 4]
    elif kind == 2:                                            # a cycle
        o.inputs = [int(o.outputs[0])] + list(o.inputs[1:])
    elif kind == 3 and len(o.inputs) > 1:                      # swapped fields
        ins = list(o.inputs)
        ins[0], ins[1] = ins[1], ins[0]
        o.inputs = ins
    elif kind == 4:                                            # indices out of range
        o.inputs = [int(rng.choice([len(sg.tensors) + 3, -7]))] + list(o.inputs[1:])
    elif kind == 5:
        t.buffer = len(m.buffers) + int(rng.integers(0, 5))
    elif kind == 6:
        o.opcodeIndex = len(m.operatorCodes) + int(rng.integers(0, 3))
    elif kind == 7:                                            # a later op's output as input
        late = sg.operators[-1]
        sg.operators[0].inputs = [int(late.outputs[0])] + list(sg.operators[0].inputs[1:])
    else:                                                      # a constant cut short
        full = [b for b in m.buffers if b.data is not None and len(b.data) > 4]
        if full:
            b = full[int(rng.integers(0, len(full)))]
            b.data = np.asarray(b.data)[:int(rng.integers(0, len(b.data)))]
    builder = flatbuffers.Builder(len(buf) + 1024)
    builder.Finish(m.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def onnx_mutation(buf: bytes, rng: np.random.Generator) -> bytes:
    import onnx
    m = onnx.load_from_string(buf)
    g = m.graph
    kind = int(rng.integers(0, 8))
    if kind == 0 and len(g.initializer):                       # initializer dims
        init = g.initializer[int(rng.integers(0, len(g.initializer)))]
        if len(init.dims):
            init.dims[int(rng.integers(0, len(init.dims)))] = _bad_int(rng) % 2 ** 63
    elif kind == 1:                                            # input dims
        dims = g.input[0].type.tensor_type.shape.dim
        dims[int(rng.integers(0, len(dims)))].dim_value = int(rng.choice(HUGE + NEGATIVE))
    elif kind == 2 and len(g.node):                            # a node reads its own output
        n = g.node[int(rng.integers(0, len(g.node)))]
        n.input[0] = n.output[0]
    elif kind == 3 and len(g.node) > 1:                        # the first reads the last
        g.node[0].input[0] = g.node[-1].output[0]
    elif kind == 4:                                            # attributes
        atts = [a for n in g.node for a in n.attribute if a.ints or a.type == a.INT]
        if atts:
            a = atts[int(rng.integers(0, len(atts)))]
            if a.ints:
                a.ints[int(rng.integers(0, len(a.ints)))] = int(rng.choice(HUGE + NEGATIVE + [0]))
            else:
                a.i = int(rng.choice(HUGE + NEGATIVE + [0]))
    elif kind == 5 and len(g.initializer):                     # raw data cut short
        init = g.initializer[int(rng.integers(0, len(g.initializer)))]
        if init.raw_data:
            init.raw_data = init.raw_data[:int(rng.integers(0, len(init.raw_data)))]
    elif kind == 6 and len(g.node) > 1:                        # swapped nodes' inputs
        i, j = rng.choice(len(g.node), 2, replace=False)
        g.node[int(i)].input[0], g.node[int(j)].input[0] = \
            g.node[int(j)].input[0], g.node[int(i)].input[0]
    elif len(g.initializer):                                   # an initializer removed
        del g.initializer[int(rng.integers(0, len(g.initializer)))]
    return m.SerializeToString()


def _json_nodes(obj: object, path: tuple = ()) -> Iterator[tuple[tuple, object]]:
    yield path, obj
    items = obj.items() if isinstance(obj, dict) else enumerate(obj) \
        if isinstance(obj, list) else []
    for k, v in items:
        yield from _json_nodes(v, (*path, k))


def _set(obj: object, path: tuple, value: object) -> None:
    for k in path[:-1]:
        obj = obj[k]
    obj[path[-1]] = value


def config_mutation(config: dict, rng: np.random.Generator) -> str:
    """One change of a Keras JSON config, as JSON text (sometimes made invalid JSON)."""
    nodes = list(_json_nodes(config))
    kind = int(rng.integers(0, 6))
    if kind == 0:                                              # numbers huge/negative/zero
        ints = [(p, v) for p, v in nodes if p and isinstance(v, int) and not isinstance(v, bool)]
        if ints:
            path, _ = ints[int(rng.integers(0, len(ints)))]
            _set(config, path, int(rng.choice(HUGE + NEGATIVE + [0])))
    elif kind == 1:                                            # fields swapped
        leaves = [(p, v) for p, v in nodes if p and not isinstance(v, (dict, list))]
        if len(leaves) > 1:
            i, j = rng.choice(len(leaves), 2, replace=False)
            (pi, vi), (pj, vj) = leaves[int(i)], leaves[int(j)]
            _set(config, pi, vj)
            _set(config, pj, vi)
    elif kind == 2:                                            # a cycle in the graph
        names = [(p, v) for p, v in nodes if len(p) > 1 and p[-1] in (0, "keras_history")
                 and isinstance(v, (str, list))]
        layer_names = [v for p, v in nodes if p and p[-1] == "name" and isinstance(v, str)]
        if names and layer_names:
            path, v = names[int(rng.integers(0, len(names)))]
            target = layer_names[int(rng.integers(0, len(layer_names)))]
            _set(config, path, [target, 0, 0] if isinstance(v, list) else target)
    elif kind == 3:                                            # a subtree deleted
        keyed = [p for p, v in nodes if p and isinstance(p[-1], str)]
        if keyed:
            path = keyed[int(rng.integers(0, len(keyed)))]
            parent = config
            for k in path[:-1]:
                parent = parent[k]
            del parent[path[-1]]
    elif kind == 4:                                            # shapes: dims huge/negative
        shapes = [(p, v) for p, v in nodes if p and isinstance(v, list) and v
                  and all(isinstance(d, int) or d is None for d in v)]
        if shapes:
            path, v = shapes[int(rng.integers(0, len(shapes)))]
            v = list(v)
            v[int(rng.integers(0, len(v)))] = int(rng.choice(HUGE + NEGATIVE + [0]))
            _set(config, path, v)
    text = json.dumps(config)
    if kind == 5:                                              # a raw control character
        i = int(rng.integers(0, len(text)))
        text = text[:i] + chr(int(rng.integers(0, 32))) + text[i:]
    return text


def h5_mutation(path: Path, rng: np.random.Generator) -> None:
    """Change the `.h5` file at `path` in place: its config, or one weight's shape."""
    import h5py
    with h5py.File(path, "r+") as f:
        if rng.random() < 0.75:
            f.attrs["model_config"] = config_mutation(json.loads(f.attrs["model_config"]), rng)
            return
        datasets: list[str] = []
        f.visititems(lambda n, o: datasets.append(n) if isinstance(o, h5py.Dataset) else None)
        name = datasets[int(rng.integers(0, len(datasets)))]
        shape = tuple(int(rng.integers(1, 6)) for _ in range(int(rng.integers(1, 4))))
        del f[name]
        f.create_dataset(name, data=np.zeros(shape, np.float32))


def keras_mutation(buf: bytes, rng: np.random.Generator) -> bytes:
    """The `.keras` zip with its config.json changed."""
    src = zipfile.ZipFile(io.BytesIO(buf))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as dst:
        for item in src.infolist():
            data = src.read(item)
            if item.filename == "config.json":
                data = config_mutation(json.loads(data), rng).encode()
            dst.writestr(item, data)
    return out.getvalue()


STRUCTURED: dict[str, Callable[[bytes, np.random.Generator], bytes]] = {
    ".tflite": tflite_mutation, ".onnx": onnx_mutation, ".keras": keras_mutation}


def write_cases(corpus: list[Path], n: int, seed: int, folder: Path,
                keras_share: float = 0.15) -> list[Path]:
    """`n` mutants of the corpus files in `folder` (seeded: the same cases every run).
    `.keras` files load through Keras (slow), so they get `keras_share` of the cases."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    keras_files = [p for p in corpus if p.suffix == ".keras"]
    others = [p for p in corpus if p.suffix != ".keras"]
    cases = []
    for i in range(n):
        pool = keras_files if keras_files and rng.random() < keras_share else others
        seed_file = pool[int(rng.integers(0, len(pool)))]
        buf = seed_file.read_bytes()
        out = folder / f"case{i:05d}_{seed_file.stem}{seed_file.suffix}"
        structured = rng.random() < 0.6
        try:
            if structured and seed_file.suffix == ".h5":
                out.write_bytes(buf)
                h5_mutation(out, rng)
            elif structured:
                out.write_bytes(STRUCTURED[seed_file.suffix](buf, rng))
            else:
                mutate = BYTE_MUTATORS[int(rng.integers(0, len(BYTE_MUTATORS)))]
                out.write_bytes(mutate(buf, rng))
        except Exception:  # a mutation the writer itself refuses: a byte-level one instead
            out.write_bytes(bit_flips(buf, rng))
        cases.append(out)
    return cases


# -- the runner ----------------------------------------------------------------------------
class _Hang(BaseException):
    """Raised by the per-case alarm (a BaseException: no `except Exception` swallows it)."""


def _one_case(path: str, workdir: str) -> tuple[str, str]:
    """inspect, then codegen when inspect succeeds, as `lrf-edge` would run them."""
    from lrf_edge.cli.main import main
    for argv in (["inspect", path], ["codegen", path, "-o", workdir]):
        err = io.StringIO()
        try:
            with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
                rc = main(argv)
        except _Hang:
            return "hang", argv[0]
        except MemoryError:
            return "memory", argv[0]
        except SystemExit as exc:
            rc = exc.code if isinstance(exc.code, int) else 1
        except BaseException as exc:  # what the CLI would show as a traceback
            where = exc.__traceback__
            while where.tb_next is not None:
                where = where.tb_next
            frame = f"{where.tb_frame.f_code.co_filename}:{where.tb_lineno}"
            return "traceback", f"{argv[0]}: {type(exc).__name__}: {str(exc)[:160]} at {frame}"
        lines = err.getvalue().strip().splitlines()
        if rc == 2:
            return (ERROR, lines[0]) if len(lines) == 1 else ("multi-line", repr(lines[:3]))
        if rc != 0:
            return f"exit-{rc}", argv[0]
    return OK, ""


def worker(time_limit: float) -> None:
    """Read case paths on stdin, answer one JSON line [outcome, detail] per case."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
    import keras  # noqa: F401  (the .keras cases' loader, imported once)

    from lrf_edge.quiet import quiet
    quiet()

    def alarm(*_: object) -> None:
        raise _Hang()

    signal.signal(signal.SIGALRM, alarm)
    work = tempfile.mkdtemp(prefix="lrf-fuzz-")
    print("ready", flush=True)
    for line in sys.stdin:
        signal.setitimer(signal.ITIMER_REAL, time_limit)
        try:
            outcome = _one_case(line.strip(), work)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        print(json.dumps(outcome), flush=True)


class Runner:
    """The parent side: one worker at a time, restarted after a hang or a death."""

    def __init__(self, time_limit: float = 10.0, startup_s: float = 300.0):
        self.time_limit, self.startup_s = time_limit, startup_s
        self.proc: subprocess.Popen | None = None

    def _start(self) -> None:
        cmd = [sys.executable, "-c", "import sys; sys.path.insert(0, sys.argv[1]); "
               "import model_fuzz; model_fuzz.worker(float(sys.argv[2]))",
               str(Path(__file__).parent), str(self.time_limit)]
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, text=True, bufsize=1)
        if self._read(self.startup_s) != "ready":
            raise RuntimeError("the fuzz worker did not start")

    def _read(self, timeout: float) -> str | None:
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        return self.proc.stdout.readline().strip() if ready else None

    def run(self, path: Path) -> tuple[str, str]:
        if self.proc is None or self.proc.poll() is not None:
            self._start()
        self.proc.stdin.write(f"{path}\n")
        self.proc.stdin.flush()
        answer = self._read(self.time_limit * 3)
        if answer:
            return tuple(json.loads(answer))
        self.proc.kill()
        self.proc.wait()
        code = self.proc.returncode
        self.proc = None
        return ("hang", "killed after the hard limit") if answer is None else \
            ("signal", f"worker ended with {code}")

    def close(self) -> None:
        if self.proc is not None:
            self.proc.stdin.close()
            self.proc.wait(timeout=30)
            self.proc = None


def run_cases(cases: list[Path], time_limit: float = 10.0) -> list[tuple[Path, str, str]]:
    """(case, outcome, detail) of each case, in order."""
    runner = Runner(time_limit)
    try:
        return [(path, *runner.run(path)) for path in cases]
    finally:
        runner.close()


def failures(results: list[tuple[Path, str, str]]) -> list[str]:
    """One line per case that ended neither in success nor in a one-line error."""
    return [f"{outcome}: {path.name}: {detail}" for path, outcome, detail in results
            if outcome not in (OK, ERROR)]
