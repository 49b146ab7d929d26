"""A per-target latency model: instructions and cycles of each layer from its kind, MACs,
shapes and weight bytes, calibrated from QEMU micro-benchmarks and refit from measured
finalists. Cycles are fitted on the same features, on the cycles the cycle model gives each
calibration run on the target's core (lrf_edge.qemu.cycles; runs of at most 5 M
instructions are traced); `predict_cycles(graph)` predicts them.

For one layer of op `op`, instructions = coef[op] . features(layer), with the features
(features.py; zero where a group does not concern the op)

    macs          multiply-accumulates (the loop nest the kernel runs, from lrf_edge.ir.ops)
    iters         inner-loop passes: MACs / output channels x passes of B outputs (the dense
                  and conv kernels compute B = 8 outputs per pass; a narrow tail costs more
                  per MAC)
    weight_bytes  bytes of weights the layer streams from flash
    out_size      output elements (stores, requantization, activations, bias)
    in_size       input elements (loads of pooling/padding; zero-padding copies)
    transc        outputs through a sigmoid/tanh (float: expf/tanhf; int8: a table), and
                  the gate updates of a GRU/LSTM
    1             the call and loop set-up
    passes        blocked kernels: output pixels x blocks (accumulator set-up and stores);
                  pooling: outputs; GRU/LSTM: dot products (steps x 2 x gates x units)
    rows          passes x the window's rows (each row a loop)
    gather        conv2d with a window beyond the pixel itself: window elements x output
                  pixels (the int8 kernel gathers each window first)
    gather_bytes  the same, for channels not a multiple of 4 (no word copies)
    pad           window elements that fall in the padding, over all outputs
    softmax       outputs through a softmax; softmax_rows: its rows (max, sum, reciprocal)
    full_macs     MACs in full-width blocks; tail_macs: in the narrower tail (lanes cost
                  other than per MAC once the accumulators outgrow the registers)

fitted by non-negative least squares on relative error, separately for each op. Views
(flatten, reshape) cost nothing. The instructions outside the layers (the counter reads around each
profiled layer; the int8 float API quantizes the input and dequantizes the output: soft
float on rv32imac) are a + b x layers + c x input size + d x output size. The model also predicts the model's own code bytes from
`code_features` (per kernel family: layers, block loops and unrolled lanes; the softmax
code, the shared loops of size mode) and the stack inference needs, from the same
builds.

Both code modes (CodegenOptions.optimize, per layer): calibration runs every graph in speed
and in size mode; a size-mode layer's instructions are fitted as its own op ("dense:size",
features.op_key) and its code as one "shared" function per kernel family instead of its
own unrolled loops. `predict`, `code_bytes` and `flash` take the `modes` (layer name ->
"size") of the candidate.

Calibration builds small graphs that exercise every op the code generator supports at
varied shapes, and graphs with the layer shapes of real networks (the MLPerf Tiny ones at a
smaller resolution, GRU/LSTM cells; benchmarks.py), runs each once under QEMU (one ELF per graph, per-layer instruction counts
from the harness), and caches the samples and coefficients under
$LRF_EDGE_CACHE/latency/<target>-<key>.json, where the key hashes the model's VERSION and
the kernel key (the compiler's version, the target's flags and the kernel templates): a new
toolchain, kernel or model format recalibrates.

Each dtype has its own model: the int8 kernels (codegen/kernels/, prepare_q8) run other
instructions per MAC than the float ones (rv32imac: ~3.6 for an int8 dense, ~180 with soft
float) and emit other code, so `dtype="int8"` calibrates on the same graphs quantized
(calibrated on random inputs), counts the int8 code and weight bytes, and caches under
$LRF_EDGE_CACHE/latency/<target>-int8-<key>.json, the key hashing the int8 templates. The
weight_bytes feature is then the int8 constants' bytes.

`calibrated(target, dtype=...)` returns the cached model (calibrating first if needed);
`LatencyModel.refit(samples)` adds measured layers of real candidates (weighted above the
micro-benchmarks) and refits; `predictor(target)` is the `predict(graph)` callable the
strategies are given (the cached model, else the target's MACs prior).

    features.py    layer, I/O and code-size features
    model.py       LatencyModel: the fit, the refit, predictions, JSON
    cache.py       the cache under $LRF_EDGE_CACHE/latency and its toolchain key
    benchmarks.py  the micro-benchmark graphs
    calibrate.py   calibrate (QEMU runs + fit) and calibrated (cache or calibrate)
    predict.py     predictor(target) / predict_latency: what compress and dse are given
"""

from lrf_edge.deploy.latency.benchmarks import benchmark_graphs
from lrf_edge.deploy.latency.cache import (DTYPES, cache_path, cache_root, cached,
                                          kernel_key, save, toolchain_key)
from lrf_edge.deploy.latency.calibrate import calibrate, calibrated
from lrf_edge.deploy.latency.features import (CODE_FEATURES, FEATURES, VIEWS, code_features,
                                             io_features, layer_features)
from lrf_edge.deploy.latency.model import MEASURED_WEIGHT, VERSION, LatencyModel, Sample
from lrf_edge.deploy.latency.predict import MacPrior, Predict, predict_latency, predictor

__all__ = ["CODE_FEATURES", "DTYPES", "FEATURES", "MEASURED_WEIGHT", "VERSION", "VIEWS",
           "LatencyModel", "MacPrior", "Predict", "Sample", "benchmark_graphs", "cache_path",
           "cache_root", "cached", "calibrate", "calibrated", "code_features", "io_features",
           "kernel_key", "layer_features", "predict_latency", "predictor", "save", "toolchain_key"]
