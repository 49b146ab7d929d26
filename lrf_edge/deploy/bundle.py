"""The firmware bundle `lrf-edge build` writes, atomically: a failed or interrupted build
leaves the previous bundle as it was.

    model.c, model.h, model_weights.h   the generated C (no malloc, static arena); int8 when
                                        the build chose int8 (the float API model_infer
                                        kept, plus model_infer_q8)
    lrf_*.h                             the C runtime model.c includes (templates/runtime/:
                                        fixed point, I/O conversions, padding, profiling
                                        hooks; plain C, the same for every model)
    main.c                              an example: one inference on a sample input
                                        (--streaming: its frames fed one per call)
    model.mk                            Makefile fragment (compiler, flags, sources)
    CMakeLists.txt                      CMake: library lrf_model (+ the example when alone;
                                        add_subdirectory() from a project)
    zephyr/module.yml, zephyr/CMakeLists.txt, zephyr/Kconfig
                                        the bundle as a Zephyr module (zephyr_library,
                                        CONFIG_LRF_MODEL)
    library.properties, src/, examples/lrf_example/lrf_example.ino
                                        the bundle as an Arduino library (src/ holds
                                        copies of model.c, model.h, model_weights.h and
                                        the lrf_*.h)
    model.elf                           the ELF that was measured (profiling harness)
    model.keras                         the compressed (fine-tuned) model
    solution.json                       per layer method, shape, ranks, params, MACs,
                                        measured instructions; budgets, before/after
    report.md, report.html, pareto.png, layers.png
                                        the report (layers.png: per layer, instructions
                                        and weight bytes before/after)
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import tempfile
from pathlib import Path

from lrf_edge import escape
from lrf_edge.atomic import atomic_folder
from lrf_edge.deploy.report import solution_json, write_reports
from lrf_edge.deploy.search import BuildResult
from lrf_edge.cgen import CSources
from lrf_edge.cgen.generator import FLAVOURS
from lrf_edge.errors import LrfError
from lrf_edge.qemu import measure

# the runtime headers of every model, whatever its dtype (an int8 model has more)
RUNTIME = tuple(sorted(set.intersection(*(set(f.runtime) for f in FLAVOURS.values()))))
SOURCES = ("model.c", "model.h", "model_weights.h", *RUNTIME)
FILES = (*SOURCES, "main.c", "model.mk", "CMakeLists.txt",
         "model.elf", "model.keras", "solution.json", "report.md", "report.html",
         "pareto.png", "layers.png", "zephyr/module.yml", "zephyr/CMakeLists.txt",
         "zephyr/Kconfig", "library.properties", *(f"src/{f}" for f in SOURCES),
         "examples/lrf_example/lrf_example.ino")


def _flags(items) -> str:
    return " ".join(shlex.quote(f) for f in items)


def chosen_sources(res: BuildResult) -> CSources:
    """The C of the chosen candidate, as the bundle holds it (model.c, model.h, ...): the
    C that was measured, for the build's target (its SIMD kernels included)."""
    from lrf_edge.cgen import CodegenOptions, generate, generate_stream
    from lrf_edge.targets import get_target
    chosen = res.chosen
    model_in = chosen.qgraph if chosen.dtype == "int8" else (chosen.tuned or chosen.graph)
    simd = get_target(res.options.target).simd
    gen = generate_stream if res.options.streaming else generate
    return gen(model_in, "model", CodegenOptions(dtype=chosen.dtype, simd=simd,
                                                 layers=chosen.modes))


def write_bundle(res: BuildResult, outdir: str | os.PathLike) -> Path:
    """Write the bundle into `outdir`, replacing a previous one only once all is written."""
    from lrf_edge.cgen import c_floats, c_ints, render
    from lrf_edge.targets import get_target
    from lrf_edge.train import to_keras

    out = Path(outdir)
    with atomic_folder(out) as tmp:
        chosen = res.chosen
        graph = chosen.tuned or chosen.graph
        target = get_target(res.options.target)
        int8 = chosen.dtype == "int8"
        model_in = chosen.qgraph if int8 else graph
        src = chosen_sources(res)
        for fname, text in src.files.items():
            (tmp / fname).write_text(text)
        # the measured ELF: built again here (deterministic) and checked against the count
        work = Path(tempfile.mkdtemp(prefix="lrf-bundle-build-"))
        try:
            m = measure(model_in, target, res.inputs, workdir=work, layers=chosen.modes,
                        streaming=res.options.streaming)
            if chosen.measured is not None and m.total != chosen.measured.total:
                raise LrfError(f"the rebuilt ELF counts {m.total} instructions, the measured "
                               f"one {chosen.measured.total}: the build is not reproducible")
            shutil.copy2(m.elf, tmp / "model.elf")
        finally:
            shutil.rmtree(work, ignore_errors=True)
        ctx = {"target": target.name, "description": target.description, "cc": target.cc,
               "cflags": _flags(target.cflags), "ldflags": _flags(target.ldflags),
               "libs": _flags(target.libs), "graph_name": res.graph.name,
               "dtype": chosen.dtype, "streaming": res.options.streaming,
               "run_hint": " ".join(target.emulator).replace("{elf}", "lrf-example.elf")
               .replace("-chardev file,id=sh0,path={log} ", "")
               .replace(",chardev=sh0", "")}
        (tmp / "model.mk").write_text(render("bundle_model.mk.j2", **ctx))
        (tmp / "CMakeLists.txt").write_text(render("bundle_cmake.j2", **ctx))
        q8_input = c_ints(chosen.qgraph.input.quantize(res.inputs[:1])) if int8 else ""
        (tmp / "main.c").write_text(render(
            "bundle_main.c.j2", input_values=c_floats(res.inputs[0]), input_note=res.input_note,
            q8_input=q8_input, **ctx))
        _write_integrations(tmp, res, ctx, list(src.files))
        model = to_keras(graph)
        model.save(tmp / "model.keras")
        (tmp / "solution.json").write_text(json.dumps(solution_json(res), indent=2,
                                                      default=_plain) + "\n")
        write_reports(res, tmp)
    return out


def _write_integrations(tmp: Path, res: BuildResult, ctx: dict, sources: list[str]) -> None:
    """The Zephyr module and the Arduino library around the same `sources` (model.c, its
    headers and the runtime's)."""
    from lrf_edge import __version__
    from lrf_edge.cgen import c_floats, render
    (tmp / "zephyr").mkdir()
    (tmp / "zephyr" / "module.yml").write_text(render("bundle_zephyr_module.yml.j2", **ctx))
    (tmp / "zephyr" / "CMakeLists.txt").write_text(render("bundle_zephyr_cmake.j2", **ctx))
    (tmp / "zephyr" / "Kconfig").write_text(render("bundle_zephyr_kconfig.j2", **ctx))
    name = "lrf_model_" + escape.identifier(res.graph.name)
    (tmp / "library.properties").write_text(render(
        "bundle_library.properties.j2", library_name=name, version=__version__, **ctx))
    (tmp / "src").mkdir()
    for fname in sources:
        shutil.copyfile(tmp / fname, tmp / "src" / fname)
    sketch = tmp / "examples" / "lrf_example"
    sketch.mkdir(parents=True)
    (sketch / "lrf_example.ino").write_text(render(
        "bundle_arduino_example.ino.j2", input_values=c_floats(res.inputs[0]),
        input_note=res.input_note, **ctx))


def _plain(o):
    if hasattr(o, "tolist"):
        return o.tolist()
    if hasattr(o, "item"):
        return o.item()
    return str(o)
