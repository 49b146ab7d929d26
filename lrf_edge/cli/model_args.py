"""The arguments `profile`, `build` and `codegen` share: the model file, the target, the
kernels' block width, the int8 calibration data and --json."""

from __future__ import annotations

import argparse

from lrf_edge.cgen.kernels import MODULES as KERNEL_MODULES
from lrf_edge.targets import target_names


def size_mode_ops() -> str:
    """The ops whose kernel family has a size mode (a module with `size_loops`), as help
    text reads them: "dense, conv2d, ..." from the kernel table, not a copy of it."""
    return ", ".join(op for m in KERNEL_MODULES if hasattr(m, "size_loops") for op in m.OPS)


def add_model(p: argparse.ArgumentParser) -> None:
    p.add_argument("model", help="model file (.keras, .h5, .onnx, .tflite)")


def add_target(p: argparse.ArgumentParser) -> None:
    """--target: one of the emulated targets (targets/*.toml), riscv32f by default."""
    p.add_argument("--target", default="riscv32f",
                   help=f"one of: {', '.join(target_names('qemu'))} (default riscv32f)")


def add_block(p: argparse.ArgumentParser) -> None:
    p.add_argument("--block", type=int, default=8, choices=(1, 2, 4, 8),
                   help="outputs per pass in dense/conv kernels (default 8)")


def add_optimize(p: argparse.ArgumentParser) -> None:
    p.add_argument("--optimize", default="speed", choices=("speed", "size"),
                   help="speed (default): one specialized, unrolled C function per layer; "
                        "size: one shared, parameterized loop per kernel family "
                        f"({size_mode_ops()}), called per layer with a parameter struct")


def add_data(p: argparse.ArgumentParser, default: str) -> None:
    """--data: where int8 calibration inputs come from (`default`: what is used without)."""
    p.add_argument("--data", metavar="DATA",
                   help=f"int8 calibration data: mnist5k, digits or a .npz ({default})")


def add_weight_bits(p: argparse.ArgumentParser) -> None:
    """--weight-bits: 8, or 4 (int4 kernels packed two per byte) with --dtype int8."""
    p.add_argument("--weight-bits", type=int, default=8, choices=(8, 4),
                   help="with --dtype int8: 8 (default) or 4 (int4 weights, two per byte, "
                        "on every layer whose kernel takes them)")


def add_int8_runtime(p: argparse.ArgumentParser) -> None:
    """--int8-runtime: whose arithmetic a full-int8 .tflite's own numerics reproduce."""
    p.add_argument("--int8-runtime", default="tflm", choices=("tflm", "litert"),
                   help="for a full-int8 .tflite without --data (its own scales): compute "
                        "bit-exactly as TFLite Micro (tflm, default) or as ai-edge-litert's "
                        "reference kernels (litert)")


def add_activation_bits(p: argparse.ArgumentParser) -> None:
    """--activation-bits: int8 activations, or int16 ones with int8 weights (16x8)."""
    p.add_argument("--activation-bits", type=int, choices=(8, 16), metavar="8|16",
                   help="with --dtype int8: 8-bit activations, or 16 (TFLite's 16x8: int16 "
                        "activations, int8 weights, int64 biases); default the .tflite's "
                        "own, else 8")


def add_json(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
