"""The build bundle in firmware projects: a host CMake project adds it with add_subdirectory,
configures, builds and runs its example (outputs as the Keras model's); the Zephyr module
and the Arduino library hold the files those tools require, around the same sources."""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import numpy as np
import pytest

import lrf_edge

from keras_models import digits_mlp  # tests/support

pytestmark = [pytest.mark.slow, pytest.mark.skipif(
    shutil.which("riscv64-unknown-elf-gcc") is None or shutil.which("qemu-system-riscv32")
    is None, reason="RISC-V toolchain or QEMU missing (the build measures under QEMU)")]


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    from lrf_edge.data import digits
    d = digits()
    return lrf_edge.build(digits_mlp(32), "riscv32f", budget="16KB",
                          data=(d.x_train, d.y_train, d.x_test, d.y_test), epochs=0,
                          dtype="float32", max_evaluations=1, finalists=1,
                          output=tmp_path_factory.mktemp("b") / "bundle", progress=False)


def test_bundle_has_every_file(built):
    from lrf_edge.deploy.bundle import FILES
    missing = [f for f in FILES if not (built.bundle / f).is_file()]
    assert not missing


@pytest.mark.skipif(shutil.which("cmake") is None,
                    reason="cmake missing: apt-get install cmake (scripts/setup.sh)")
def test_host_cmake_project_adds_the_bundle(built, tmp_path):
    proj = tmp_path / "app"
    proj.mkdir()
    (proj / "CMakeLists.txt").write_text(f"""cmake_minimum_required(VERSION 3.13)
project(host_app C)
add_subdirectory({built.bundle.as_posix()} lrf_model)
add_executable(app {(built.bundle / 'main.c').as_posix()})
target_compile_options(app PRIVATE -Wall -Wextra -Werror)
target_link_libraries(app PRIVATE lrf_model m)
""")
    for cmd in (["cmake", "-S", str(proj), "-B", str(proj / "b"), "-DCMAKE_C_COMPILER=gcc"],
                ["cmake", "--build", str(proj / "b")]):
        r = subprocess.run(cmd, capture_output=True, text=True)
        assert r.returncode == 0, r.stdout + r.stderr
    run = subprocess.run([str(proj / "b" / "app")], capture_output=True, text=True,
                         timeout=30)
    assert run.returncode == 0, run.stdout
    outs = np.array([int(v) for v in re.findall(r"output \d+ (-?\d+)", run.stdout)]) / 1e6
    ref = built.model.predict(built.result.inputs[:1], verbose=0)[0]
    assert outs.shape == ref.shape and np.allclose(outs, ref, atol=1e-4)
    assert int(re.search(r"argmax (\d+)", run.stdout).group(1)) == int(np.argmax(ref))


def test_zephyr_module_layout(built):
    import yaml
    z = built.bundle / "zephyr"
    meta = yaml.safe_load((z / "module.yml").read_text())
    assert meta["build"]["cmake"] == "zephyr"              # -> zephyr/CMakeLists.txt
    assert (built.bundle / meta["build"]["kconfig"]).is_file()
    cm = (z / "CMakeLists.txt").read_text()
    assert re.search(r"^\s*zephyr_library(_named)?\(", cm, re.M)
    for src in re.findall(r"\$\{ZEPHYR_CURRENT_MODULE_DIR\}/([\w.]+\.c)", cm):
        assert (built.bundle / src).is_file()
    assert "CONFIG_LRF_MODEL" in cm and re.search(r"^config LRF_MODEL$",
                                                  (z / "Kconfig").read_text(), re.M)


def test_arduino_library_layout(built, tmp_path):
    """library.properties with the fields the Arduino 1.5 library format requires, the
    sources in src/, an example sketch; the header links from C++ (as a sketch does)."""
    props = dict(line.split("=", 1) for line in
                 (built.bundle / "library.properties").read_text().splitlines() if line)
    for key in ("name", "version", "author", "maintainer", "sentence", "paragraph",
                "category", "url", "architectures"):
        assert props.get(key), key
    assert re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_ .-]*", props["name"])
    assert re.fullmatch(r"\d+\.\d+\.\d+", props["version"])
    for f in ("model.c", "model.h", "model_weights.h"):
        assert (built.bundle / "src" / f).read_text() == (built.bundle / f).read_text()
    sketch = (built.bundle / "examples" / "lrf_example" / "lrf_example.ino").read_text()
    assert "#include <model.h>" in sketch and "void setup()" in sketch
    cpp = tmp_path / "use.cpp"
    cpp.write_text("#include <model.h>\nstatic float in[MODEL_INPUT_SIZE], "
                   "out[MODEL_OUTPUT_SIZE];\nint main() { return model_infer(in, out); }\n")
    src = built.bundle / "src"
    for cmd in (["gcc", "-std=c99", "-c", str(src / "model.c"), "-o", str(tmp_path / "m.o")],
                ["g++", f"-I{src}", str(cpp), str(tmp_path / "m.o"), "-lm", "-o",
                 str(tmp_path / "use")], [str(tmp_path / "use")]):
        r = subprocess.run(cmd, capture_output=True, text=True)
        assert r.returncode == 0, r.stderr


def test_per_layer_chart_data(built):
    """layers.png plots solution.json's per-layer rows: before = the original's measured
    instructions and float32 bytes, after = the chosen C's (its bytes sum to the C's)."""
    rows = built.layers
    assert (built.bundle / "layers.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sum(r["weight_bytes_dtype"] for r in rows) == built.sources.weight_bytes
    original = lrf_edge.load(built.result.graph).graph
    assert [r["weight_bytes_before"] for r in rows] == [
        original[r["layer"]].weight_bytes for r in rows]
    measured = built.result.chosen.measured.layer_instructions
    assert sum(r["instructions"] for r in rows) == sum(measured.values())


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def _loaded_images(page) -> str:
    r = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
                        "--virtual-time-budget=10000", "--dump-dom", page.as_uri()],
                       capture_output=True, text=True, timeout=180)
    m = re.search(r'data-images-loaded="(\d+/\d+)"', r.stdout)
    assert m, r.stderr[-2000:]
    return m.group(1)


def test_report_plots_load_in_a_browser(built, tmp_path):
    """report.html opened in headless Chromium: both plots (Pareto, per layer) decode."""
    if CHROMIUM is None:
        missing = ("Chromium missing: apt-get install chromium (or bash scripts/setup.sh "
                   "--browser)")
        if os.environ.get("LRF_EDGE_REQUIRE_BROWSER"):  # make test (CI) installs it
            pytest.fail(missing)
        pytest.skip(missing)
    assert _loaded_images(built.bundle / "report.html") == "2/2"
    # the control: without layers.png the page shows one plot of two
    shutil.copytree(built.bundle, tmp_path / "b")
    (tmp_path / "b" / "layers.png").unlink()
    assert _loaded_images(tmp_path / "b" / "report.html") == "1/2"
