"""The cache of calibrated latency models: one JSON file per target, toolchain and dtype
under $LRF_EDGE_CACHE/latency, keyed by a hash of the compiler's version, the target's flags
and the kernel templates (a new toolchain or kernel recalibrates)."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from importlib import resources
from pathlib import Path

from lrf_edge.deploy.latency.model import VERSION, LatencyModel
from lrf_edge.cgen import KERNELS, kernel_table
from lrf_edge.errors import LrfError
from lrf_edge.examples import cache_dir
from lrf_edge.targets import get_target

DTYPES = ("float32", "int8")


def cache_root() -> Path:
    path = cache_dir() / "latency"
    path.mkdir(parents=True, exist_ok=True)
    return path


def check_dtype(dtype: str) -> None:
    if dtype not in DTYPES:
        raise LrfError(f"unknown dtype '{dtype}'; valid: {', '.join(DTYPES)}")


def toolchain_key(target_name: str, dtype: str = "float32") -> str:
    """Hash of the model's format VERSION and the kernel_key: what a calibration depends
    on."""
    return hashlib.sha256(f"{VERSION}:{kernel_key(target_name, dtype)}".encode()).hexdigest()[:16]


def kernel_key(target_name: str, dtype: str = "float32") -> str:
    """Hash of the compiler's version, the target's flags and the kernel templates (the
    int8 kernels' for dtype int8): what a measured instruction count depends on."""
    check_dtype(dtype)
    t = get_target(target_name)
    try:
        version = subprocess.run([t.cc, "--version"], capture_output=True, text=True,
                                 timeout=30).stdout.splitlines()[0]
    except (OSError, IndexError, subprocess.TimeoutExpired):
        version = "unknown"
    h = hashlib.sha256()
    h.update(json.dumps([t.name, version, t.cflags, t.ldflags, t.libs,
                         sorted(kernel_table("float32"))]).encode())
    tpl = resources.files("lrf_edge.templates")
    # every kernel template: one holds both modes and may serve both dtypes (conv2d.c.j2 has
    # the int8 size-mode loop, common_q8.j2 imports common.j2)
    sfx = "_q8" if dtype == "int8" else ""
    names = {k.template for k in KERNELS.values() if k.template} | {
        "common.j2", "common_q8.j2", f"model{sfx}.c.j2", "size_call.c.j2",
        "harness_main.c", t.counter_header}
    if dtype == "int8":
        h.update(json.dumps(["int8", sorted(kernel_table("int8"))]).encode())
    # the C runtime and the model templates' shared parts
    names |= {"model_common.j2"}
    names |= {f"runtime/{f.name}" for f in (tpl / "runtime").iterdir()}
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
