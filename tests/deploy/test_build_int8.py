"""`lrf-edge build --dtype`: int8 chosen automatically where float cannot meet the budgets,
its bundle compiled alone and run under QEMU bit-exact with the numpy reference, int8
accuracy within 0.5 points of the float model it came from, impossible budgets over both
dtypes.

LeNet-300-100 on rv32imac (riscv32, soft float) with 48 KB of flash and 2 ms at 100 MHz
(200,000 instructions): low-rank float models fit the flash (the most compressive one links
to ~12 KB) but none runs in time (soft float, ~170 instructions per MAC: rank 1 everywhere
still needs ~275,000), while int8 (~3.5 per MAC + ~95,000 to quantize the float input) does.
"""

from __future__ import annotations

import json
import re
import shutil

import numpy as np
import pytest

from lrf_edge.cli.main import main

from bundle_runner import make_example, run_example_elf  # tests/support/bundle_runner.py

pytestmark = [pytest.mark.slow, pytest.mark.skipif(
    shutil.which("riscv64-unknown-elf-gcc") is None or shutil.which("qemu-system-riscv32")
    is None or shutil.which("make") is None, reason="RISC-V toolchain, QEMU or make missing")]

BUDGETS = ["--target", "riscv32", "--budget", "48KB", "--latency", "2ms", "--clock",
           "100MHz"]


@pytest.fixture(scope="module")
def built(lenet300_path, tmp_path_factory):
    root = tmp_path_factory.mktemp("build_int8")
    rc = main(["build", str(lenet300_path), *BUDGETS, "--data", "mnist5k", "--epochs", "1",
               "--max-evaluations", "2", "--finalists", "1", "--store",
               str(root / "store.sqlite"), "-o", str(root / "out")])
    assert rc == 0
    return root / "out", json.loads((root / "out" / "solution.json").read_text())


def _quantized_bundle(out):
    """The bundle's model quantized as the build did (first 500 mnist5k training inputs)."""
    from lrf_edge.frontends import load_model
    from lrf_edge.quant import calibration_data, quantize
    g = load_model(str(out / "model.keras"))
    return g, quantize(g, calibration_data("mnist5k", g, 500))


def test_auto_chooses_int8_within_budgets(built):
    out, sol = built
    assert sol["dtype"] == "int8" and sol["dtype_requested"] == "auto"
    assert "no float32 candidate can meet every budget" in sol["dtype_reason"]
    assert "instructions" in sol["dtype_reason"]
    after = sol["after"]
    assert after["measured"] and after["dtype"] == "int8"
    assert after["flash_bytes"] <= 48 * 1024 and after["instructions"] <= 200_000
    assert sol["latency_model"]["dtype"] == "int8"
    assert sol["int8"]["calibration"] == "the first 500 training inputs of mnist5k"
    assert "model_infer_q8" in (out / "model.h").read_text()
    assert "int8" in (out / "report.md").read_text()


def test_int8_bundle_compiles_alone_and_is_exact(built, tmp_path):
    """model.c, its headers + main.c in a clean folder, built with the bundle's Makefile fragment, run
    under QEMU: the float API's outputs (float32 bits) and model_infer_q8's int8 outputs
    equal lrf_edge.quant.reference exactly."""
    from lrf_edge.data import mnist5k
    from lrf_edge.quant import reference
    out, sol = built
    make_example(out, tmp_path)
    text = run_example_elf(tmp_path)
    bits = np.array([int(v, 16) for v in re.findall(r"^output \d+ -?\d+ (0x[0-9a-f]+)",
                                                     text, re.M)], np.uint32)
    q8 = np.array([int(v) for v in re.findall(r"^q8 output \d+ (-?\d+)", text, re.M)])
    g, qg = _quantized_bundle(out)
    x = mnist5k().x_test[:1]
    assert len(bits) == len(q8) == 10
    np.testing.assert_array_equal(bits.view(np.float32), reference.run(qg, x)[0])
    np.testing.assert_array_equal(q8, reference.run_q8(qg, qg.input.quantize(x))[0])
    assert int(re.search(r"argmax (\d+)", text).group(1)) == int(np.argmax(q8))


def test_int8_accuracy_close_to_its_float_model(built):
    """Accuracy of the int8 model (the reference = the C) within 0.5 points of the
    fine-tuned float model it was quantized from, both recomputed from the bundle."""
    import keras
    from lrf_edge.data import mnist5k
    from lrf_edge.quant import reference
    out, sol = built
    d = mnist5k()
    g, qg = _quantized_bundle(out)
    model = keras.models.load_model(out / "model.keras", compile=False)
    acc_float = float(np.mean(np.argmax(model.predict(d.x_test, verbose=0), -1) == d.y_test))
    acc_int8 = float(np.mean(np.argmax(reference.run(qg, d.x_test), -1) == d.y_test))
    assert acc_int8 == pytest.approx(sol["int8"]["score_int8"])
    assert acc_float == pytest.approx(sol["int8"]["score_float"], abs=1e-3)
    # 0.5 points of the 1,000 test samples: at most 5 more wrong (counted, not subtracted
    # in floating point: 0.896 - 0.891 > 0.005 in binary)
    assert round((acc_float - acc_int8) * len(d.y_test)) <= 0.005 * len(d.y_test)
    assert sol["after"]["score"] == pytest.approx(acc_int8)


def test_float32_cannot_meet_the_budgets(lenet300_path, tmp_path, capfd):
    """--dtype float32: the error names what the fastest float model needs, exit 2."""
    rc = main(["build", str(lenet300_path), *BUDGETS, "--dtype", "float32", "-o",
               str(tmp_path / "out")])
    err = capfd.readouterr().err
    assert rc == 2
    assert re.search(r"latency budget 2\.00 ms at 100 MHz \(200,000 instructions\) cannot "
                     r"be met in float32: the fastest reachable float32 model needs "
                     r"[\d,]+ instructions", err), err
    assert "--dtype int8/auto" in err
    assert not (tmp_path / "out").exists()


def test_impossible_flash_over_both_dtypes(lenet300_path, tmp_path, capfd):
    """A flash budget below every candidate of either dtype: the smallest over both, and
    each dtype's own smallest; float alone names the smallest float size."""
    rc = main(["build", str(lenet300_path), "--target", "riscv32", "--budget", "4KB", "-o",
               str(tmp_path / "out")])
    err = capfd.readouterr().err
    assert rc == 2
    m = re.search(r"flash budget 4\.0 KB cannot be met: the smallest reachable model needs "
                  r"([\d.]+) KB \(give --budget \d+KB or more; smallest float32 ([\d.]+) KB, "
                  r"int8 ([\d.]+) KB\)", err)
    assert m, err
    assert float(m.group(1)) == min(float(m.group(2)), float(m.group(3)))
    rc = main(["build", str(lenet300_path), "--target", "riscv32", "--budget", "4KB",
               "--dtype", "float32", "-o", str(tmp_path / "out")])
    err = capfd.readouterr().err
    assert rc == 2
    assert re.search(r"flash budget 4\.0 KB cannot be met in float32: the smallest reachable "
                     r"float32 model needs [\d.]+ KB \(give --budget \d+KB or more, or "
                     r"--dtype int8/auto\)", err), err
