"""The host build's int8 entry point, called through ctypes (the int8 tests' oracle runner)."""

from __future__ import annotations

import ctypes

import numpy as np

from lrf_edge.targets import HostModel


def host_q8(src, xq: np.ndarray) -> np.ndarray:
    """<name>_infer_q8 of the host build on int8 inputs."""
    hm = HostModel(src)
    fn = getattr(hm._lib, f"{src.name}_infer_q8")
    p = ctypes.POINTER(ctypes.c_int8)
    fn.argtypes, fn.restype = [p, p], ctypes.c_int
    out = np.zeros((len(xq), src.output_size), np.int8)
    for i, row in enumerate(np.ascontiguousarray(xq.reshape(len(xq), -1))):
        assert fn(row.ctypes.data_as(p), out[i].ctypes.data_as(p)) == 0
    return out, hm
