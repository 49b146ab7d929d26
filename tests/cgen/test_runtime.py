"""The C runtime (templates/runtime/lrf_*.h) as C: runtime_driver.c, compiled against the
headers, runs every fixed-point helper, the int8 softmax, both paddings and the float API's
I/O conversions (float and integer-only) on seeded random and edge inputs (INT32_MIN/MAX,
rounding ties, negative shifts, saturation, NaN, infinities, subnormals) and compares each
result with the numpy reference of lrf_edge.quant, bit for bit: on the host (gcc) and, slow,
under QEMU on riscv32 (no FPU) and cortex-m4 (with the Arm DSP shims)."""

from __future__ import annotations

import re
import subprocess
from importlib import resources
from pathlib import Path

import numpy as np
import pytest

from lrf_edge.cgen.generator import significand
from lrf_edge.quant import QParams
from lrf_edge.quant import softmax as sm
from lrf_edge.quant.fixedpoint import (INT32_MAX, INT32_MIN, mbqm, requantize,
                                       rounding_divide_by_pot, saturating_shift_left, srdhm,
                                       wrap32)
from lrf_edge.quant.ops.pool2d import _avg_round
from lrf_edge.targets import Target, get_target
from toolchain import need

N = 1500  # random cases per function, besides the edge cases
EDGES = np.array([INT32_MIN, INT32_MIN + 1, -(1 << 30), -65536, -257, -1, 0, 1, 255,
                  1 << 30, INT32_MAX - 1, INT32_MAX], np.int64)
SOFTMAX_VALUES = 16  # values of one softmax case (rows x n)
PAD_VALUES = 8 * 8 * 4  # values of one padded output (h, w, c <= 4, pads <= 2)


def _int32(rng: np.random.Generator, n: int) -> np.ndarray:
    """Full-range int32 values, accumulator-sized ones and the edges."""
    full = rng.integers(INT32_MIN, INT32_MAX, n // 2, endpoint=True)
    small = rng.integers(-(1 << 20), 1 << 20, n - n // 2)
    return np.concatenate([EDGES, full, small])


def _multipliers(rng: np.random.Generator, n: int) -> np.ndarray:
    """Q0.31 multipliers as QuantizeMultiplier gives them, [2^30, 2^31), 2^30 (ties: the
    product is then a power of two times x) and 0 (a zero multiplier)."""
    m = rng.integers(1 << 30, INT32_MAX, n, endpoint=True)
    m[::7] = 1 << 30
    m[::53] = 0
    m[1::29] = INT32_MAX
    return m


def _bits(f: np.ndarray) -> np.ndarray:
    return np.asarray(f, np.float32).view(np.int32).astype(np.int64)


def _float_inputs(rng: np.random.Generator, inv: np.float32) -> np.ndarray:
    """Inputs of quantize: the rounding ties of x * inv and their neighbours, zeros,
    subnormals, huge values, infinities, NaN and random values."""
    ties = (np.arange(-140, 140, dtype=np.float32) + np.float32(0.5)) / inv
    near = [np.nextafter(ties, np.float32(np.inf)), np.nextafter(ties, np.float32(-np.inf))]
    special = np.array([0.0, -0.0, 1e-40, -1e-40, 1e-30, 1e30, -1e30, np.inf, -np.inf,
                        np.nan, 3.4e38], np.float32)
    return np.concatenate([ties, *near, special,
                           rng.standard_normal(300).astype(np.float32) * np.float32(200) / inv])


Cases = dict[str, tuple[np.ndarray | None, np.ndarray]]


def cases(seed: int = 0) -> Cases:
    """name -> (inputs, expected outputs), one row per case: what runtime_driver.c runs
    (inputs None: the driver reuses another function's)."""
    rng = np.random.default_rng(seed)
    out: Cases = {}
    x = _int32(rng, N)
    n = len(x)
    m = _multipliers(rng, n)
    s = rng.integers(-31, 30, n, endpoint=True)
    out["mbqm"] = (np.stack([x, m, s], 1), mbqm(x, m, s))
    s_neg = rng.integers(-31, -1, n, endpoint=True)
    out["mbqm_small"] = (np.stack([x, m, s_neg], 1), mbqm(x, m, s_neg))
    out["mbqm_dbl"] = (np.stack([x, m, s], 1), mbqm(x, m, s, "double"))
    m2 = wrap32(2 * m)  # 2 m as the unsigned word lrf_srdhm32 takes
    out["srdhm32"] = (np.stack([x, m2], 1), srdhm(x, m))
    out["mbqm_dbl32"] = _dbl32_cases(rng, x, m)
    ea, eb = (v.ravel() for v in np.meshgrid(EDGES, EDGES))  # every pair of edges
    a, b = np.concatenate([ea, x]), np.concatenate([eb, rng.permutation(x)])
    out["srdhm"] = (np.stack([a, b], 1), srdhm(a, b))
    e = rng.integers(0, 31, n, endpoint=True)
    out["rdbp"] = (np.stack([x, e], 1), rounding_divide_by_pot(x, e))
    zp = rng.integers(-128, 127, n, endpoint=True)
    lo = rng.integers(-128, 0, n, endpoint=True)
    hi = np.maximum(lo, rng.integers(-10, 127, n, endpoint=True))
    for name, rounding in (("requant", "single"), ("requant_dbl", "double")):
        # where the scaled value plus the zero point fits int32: beyond, the C overflows
        # (as TFLite's kernels do; a real layer's accumulator is far from it)
        ok = np.abs(mbqm(x, m, s, rounding)) <= INT32_MAX - 128
        args = (x[ok], m[ok], s[ok], zp[ok], lo[ok], hi[ok])
        out[name] = (np.stack(args, 1), requantize(*args, rounding=rounding))
    # 16x8: int64 accumulators of |x| < 2^47 (passed as high and low words), shifts < 8,
    # where the result fits int32 (TFLite's range); int16 outputs of an int32 sum
    x64 = rng.integers(-(1 << 47), 1 << 47, n)
    s64 = rng.integers(-31, 7, n, endpoint=True)
    ok = np.abs(x64 * (m / 2.0 ** 31) * 2.0 ** s64) < 2 ** 30
    words = [x64[ok] >> 32, wrap32(x64[ok])]
    out["mbqm_wide"] = (np.stack([*words, m[ok], s64[ok]], 1), mbqm(x64[ok], m[ok], s64[ok],
                                                                    "wide"))
    lo16 = rng.integers(-32768, 0, n, endpoint=True)
    hi16 = np.maximum(lo16, rng.integers(-100, 32767, n, endpoint=True))
    want = np.clip(mbqm(x64[ok], m[ok], s64[ok], "wide"), lo16[ok], hi16[ok])
    out["requant_wide"] = (np.stack([*words, m[ok], s64[ok], lo16[ok], hi16[ok]], 1), want)
    ok = np.abs(mbqm(x, m, s)) <= INT32_MAX - 128
    out["requant16"] = (np.stack([x[ok], m[ok], s[ok], lo16[ok], hi16[ok]], 1),
                        np.clip(mbqm(x[ok], m[ok], s[ok]), lo16[ok], hi16[ok]))
    count = rng.integers(1, 4096, n, endpoint=True)
    mean = rng.integers(-128, 127, n, endpoint=True) * count
    mean[::3] += count[::3] // 2  # ties of the rounding for even counts
    mean[1::3] += rng.integers(-128, 127, len(mean[1::3]), endpoint=True)
    out["div_round"] = (np.stack([mean, count], 1), _avg_round(mean, count))
    shl = rng.integers(0, 31, n, endpoint=True)
    out["sat_shl"] = (np.stack([x, shl], 1),
                      np.concatenate([saturating_shift_left(x[i:i + 1], int(k))
                                      for i, k in enumerate(shl)]))
    neg = -np.abs(np.concatenate([x, [INT32_MIN, -(1 << 24), -(1 << 26), -(1 << 26) - 1]]))
    out["exp_neg"] = (neg[:, None], sm.exp_on_negative_values(neg))
    pos = np.concatenate([[1, 2, 3, (1 << 19), (1 << 19) + 1, INT32_MAX],
                          rng.integers(1, INT32_MAX, n, endpoint=True),
                          rng.integers(1 << 19, 16 << 19, n)])
    r, over = sm.reciprocal(pos, 12)
    out["reciprocal"] = (pos[:, None], np.stack([r, over], 1))
    out["softmax"] = _softmax_cases(rng)
    out["pad"], out["zero_pad"] = _pad_cases(rng)
    out["quantize"], out["dequantize"] = _io_cases(rng)
    out["dsp"] = _dsp_cases(rng, x, m)
    return out


def _dbl32_cases(rng: np.random.Generator, x: np.ndarray, m: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray]:
    """x, 2 m, e, r = 2^(e-1) + zp 2^e -> mbqm_dbl(x, m, -e) + zp, for shifts e in [1, 30]
    (half of them <= 4, and multipliers of 2^30 among m: ties of both roundings) where the
    kernels use it: the sum cannot overflow (common.fast_requant_dbl's condition)."""
    n = len(x)
    e = np.where(np.arange(n) % 2 == 0, rng.integers(1, 4, n, endpoint=True),
                 rng.integers(1, 30, n, endpoint=True))
    zp = rng.integers(-128, 127, n, endpoint=True)
    k = (2 * zp + 1) << e
    r = k >> 1
    t = srdhm(x, m)
    ok = (np.abs(k) <= INT32_MAX) & (np.abs(t) + np.abs(r) + 1 <= INT32_MAX)
    want = mbqm(x, m, -e, "double") + zp
    return np.stack([x, wrap32(2 * m), e, r], 1)[ok], want[ok, None]


def _softmax_cases(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """rows, n, multiplier, left shift, diff_min, values -> the int8 softmax of each row."""
    ins, wants = [], []
    for i in range(300):
        rows = 1 + i % 2
        n = int(rng.integers(1, SOFTMAX_VALUES // rows, endpoint=True))
        p = sm.params(float(np.float32(10.0 ** rng.uniform(-3, 0))))
        q = rng.integers(-128, 127, (rows, n), endpoint=True)
        if i % 5 == 0:
            q[:, : n // 2] = 127  # ties at the maximum
        ins.append([rows, n, p["multiplier"], p["left_shift"], p["diff_min"], *q.ravel()])
        wants.append(sm.softmax_q8(q, p).ravel())
    return _pad_rows(ins), _pad_rows(wants)


def _pad_cases(rng: np.random.Generator) -> tuple[tuple[np.ndarray | None, np.ndarray], ...]:
    """h, w, c, t, b, l, r, z, values -> padded with z (int8) and, from the same inputs, with
    zeros (float)."""
    ins, with_z, with_zero = [], [], []
    for _ in range(120):
        h, w, c = (int(v) for v in rng.integers(1, 4, 3, endpoint=True))
        t, b, l, r = (int(v) for v in rng.integers(0, 2, 4, endpoint=True))
        z = int(rng.integers(-128, 127, endpoint=True))
        x = rng.integers(-128, 127, (h, w, c), endpoint=True)
        width = ((t, b), (l, r), (0, 0))
        ins.append([h, w, c, t, b, l, r, z, *x.ravel()])
        with_z.append(np.pad(x, width, constant_values=z).ravel())
        with_zero.append(np.pad(x, width).ravel())
    return (_pad_rows(ins), _pad_rows(with_z)), (None, _pad_rows(with_zero))


def _io_cases(rng: np.random.Generator) -> tuple[tuple[np.ndarray, np.ndarray], ...]:
    """The float API's conversions for calibrated-like scales and for scales whose products
    often tie (1 / scale = 12; an output significand of 2^24 - 19904 with zero point -128:
    products up to 2^32), each with its significand and exponent as the generator gives
    (quantize: x bits, inv bits, inv significand, exponent, zero point, index of the set)."""
    scales = [np.float32(1 / np.float32(12.0)), np.float32(16757312 * 2.0 ** -27),
              *(np.float32(v) for v in 10.0 ** rng.uniform(-4, 1, 6))]
    q_in, q_want, d_in, d_want = [], [], [], []
    for k, scale in enumerate(scales):
        zp = -128 if k == 1 else int(rng.integers(-128, 127, endpoint=True))
        qp = QParams(float(scale), zp)
        inv = np.float32(1.0 / qp.scale)
        im, ie = significand(inv)
        x = _float_inputs(rng, inv)
        q_in.append(np.stack(np.broadcast_arrays(_bits(x), _bits(inv), im, ie, zp, k), 1))
        q_want.append(qp.quantize(x)[:, None])
        sm_, se = significand(np.float32(qp.scale))
        q = np.arange(-128, 128)
        d_in.append(np.stack(np.broadcast_arrays(q, zp, _bits(scale), sm_, se), 1))
        d_want.append(_bits(qp.dequantize(q))[:, None])
    return ((np.concatenate(q_in), np.concatenate(q_want)),
            (np.concatenate(d_in), np.concatenate(d_want)))


def _dsp_cases(rng: np.random.Generator, x: np.ndarray, m: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray]:
    """bytes b0..b3, a, m, r -> the word they make, its bytes 1 and 3 sign-extended into
    the halves (SXTB16 ROR 8), hi(a m) + r (SMMLA), its rounded form (SMMLAR), bytes 0
    and 2 sign-extended into the halves (SXTB16: lrf_unpack_s8x4's first word), and
    r + (a >> 31) (lrf_add_sign)."""
    n = len(x)
    b = rng.integers(-128, 127, (n, 4), endpoint=True)
    b[:4] = [[-128, -128, -128, -128], [127, 127, 127, 127], [0, -1, 0, -1], [1, 127, -1, -128]]
    word = wrap32(sum((b[:, k] & 0xFF) << (8 * k) for k in range(4)))
    sx = wrap32((b[:, 1] & 0xFFFF) | ((b[:, 3] & 0xFFFF) << 16))
    r = rng.permutation(x)
    smmla = wrap32(((r << 32) + x * m) >> 32)
    smmlar = wrap32(((r << 32) + x * m + (1 << 31)) >> 32)
    even = wrap32((b[:, 0] & 0xFFFF) | ((b[:, 2] & 0xFFFF) << 16))
    return (np.concatenate([b, np.stack([x, m, r], 1)], 1),
            np.stack([word, sx, smmla, smmlar, even, wrap32(r + (x >> 31))], 1))


def _pad_rows(rows: list) -> np.ndarray:
    """Rows of different lengths as one zero-padded int64 table."""
    width = max(len(r) for r in rows)
    table = np.zeros((len(rows), width), np.int64)
    for i, r in enumerate(rows):
        table[i, :len(r)] = r
    return table


def _c_table(name: str, a: np.ndarray) -> str:
    a = np.asarray(a, np.int64).reshape(len(a), -1)
    assert a.min() >= INT32_MIN and a.max() <= INT32_MAX, name
    rows = ",\n".join("{" + ", ".join("INT32_MIN" if v == INT32_MIN else str(v)
                                      for v in row.tolist()) + "}" for row in a)
    return f"static const int32_t {name}[{a.shape[0]}][{a.shape[1]}] = {{\n{rows}\n}};\n"


def write_cases(folder: Path, table: Cases) -> int:
    """runtime_cases.h in `folder`; returns the number of checks the driver makes without
    the DSP shims: one per expected value, but softmax and padding only over each case's
    real values, padding twice (int8 and float) plus the int8 output's end, and the I/O
    twice (float and integer)."""
    text = [f"#define SOFTMAX_VALUES {SOFTMAX_VALUES}\n#define PAD_VALUES {PAD_VALUES}\n"]
    for name, (ins, want) in table.items():
        text += ([] if ins is None else [_c_table(f"{name}_in", ins)]) + [
            _c_table(f"{name}_want", want)]
    # the integer quantization of each scale set, as a model defines it (lrf_io.h)
    sets = {int(r[5]): r[2:5].tolist() for r in table["quantize"][0]}
    text += [f"LRF_DEFINE_QUANTIZE_SOFT(quantize_soft_{k}, {m}u, {e}, {zp})"
             for k, (m, e, zp) in sorted(sets.items())]
    text.append("static int8_t (*const quantize_soft[])(float) = {" + ", ".join(
        f"quantize_soft_{k}" for k in sorted(sets)) + "};")
    (folder / "runtime_cases.h").write_text("#include <stdint.h>\n" + "\n".join(text) + "\n")
    soft = table["softmax"][0]
    pad = table["pad"][0]
    sizes = {"softmax": soft[:, 0] * soft[:, 1],
             "pad": (pad[:, 0] + pad[:, 3] + pad[:, 4]) * (pad[:, 1] + pad[:, 5] + pad[:, 6])
             * pad[:, 2]}
    assert sizes["softmax"].max() <= SOFTMAX_VALUES and sizes["pad"].max() < PAD_VALUES
    checks = {name: want.size for name, (_, want) in table.items()}
    checks.update(softmax=sizes["softmax"].sum(), pad=2 * sizes["pad"].sum() + len(pad),
                  zero_pad=0,
                  quantize=2 * checks["quantize"], dequantize=2 * checks["dequantize"], dsp=0)
    return int(sum(checks.values()))


RUNTIME = Path(str(resources.files("lrf_edge.templates") / "runtime"))
DRIVER = Path(__file__).with_name("runtime_driver.c")


def _build(t: Target, folder: Path, defs: tuple[str, ...] = ()) -> Path:
    """The driver as an executable: for the host, or linked as the harness is for QEMU."""
    t.compile([t.cc, *t.cflags, *defs, f"-I{RUNTIME}", "-I.", "-c", str(DRIVER), "-o",
               "driver.o"], folder)
    link = t.ldflags if t.kind == "qemu" else ()  # the host's are a shared library's
    t.compile([t.cc, *link, "driver.o", "-o", "runtime_driver.elf", *t.libs], folder)
    return folder / "runtime_driver.elf"


def _outcome(text: str, checks: int) -> None:
    fails = re.findall(r"^FAIL .*$", text, re.M)
    assert not fails, "\n".join(fails)
    assert f"checks {checks} failures 0" in text, text[-2000:]


def test_runtime_bit_exact_on_the_host(tmp_path):
    """Host gcc: every helper against numpy; the float and integer I/O paths both."""
    t = get_target("host")
    checks = write_cases(tmp_path, cases())
    exe = _build(t, tmp_path)
    run = subprocess.run([str(exe)], capture_output=True, text=True, timeout=60)
    _outcome(run.stdout, checks)
    assert run.returncode == 0


def test_driver_reports_a_wrong_result(tmp_path):
    """The control: one expected value off by one is reported, and the driver fails."""
    t = get_target("host")
    table = cases()
    ins, want = table["requant_dbl"]
    want = want.copy()
    want[5] += 1
    table["requant_dbl"] = (ins, want)
    write_cases(tmp_path, table)
    run = subprocess.run([str(_build(t, tmp_path))], capture_output=True, text=True,
                         timeout=60)
    assert run.returncode == 1
    assert re.findall(r"^FAIL .*$", run.stdout, re.M) == [
        f"FAIL lrf_requant_dbl case 5: got {want[5] - 1} want {want[5]}"]


@pytest.mark.slow
@pytest.mark.parametrize("target", ["riscv32", "cortex-m4"])
def test_runtime_bit_exact_under_qemu(target, tmp_path):
    """The same driver under the emulator: rv32imac (no FPU: the float conversions are
    soft-float library calls), cortex-m4 with the DSP shims (lrf_dsp.h)."""
    t = need(target)
    table = cases()
    checks = write_cases(tmp_path, table)
    defs: tuple[str, ...] = ()
    if t.simd == "arm-dsp":
        defs = ("-DLRF_ARM_DSP",)
        # one per expected value, and lrf_unpack_s8x4's odd word against SXTB16 ROR 8's
        checks += table["dsp"][1].size + len(table["dsp"][1])
    elf = _build(t, tmp_path, defs)
    log = tmp_path / "semihosting.txt"
    cmd = [a.replace("{elf}", str(elf)).replace("{log}", str(log)) for a in t.emulator]
    subprocess.run(cmd, capture_output=True, timeout=t.timeout_s)
    _outcome(log.read_text() if log.exists() else "", checks)
