#!/usr/bin/env bash
# `make demo`: LeNet-300-100 (about 1 MB of float weights) compressed to a 256 KB flash
# budget for RV32IMAFC, measured under QEMU; prints the result table. The example model is
# trained once (about a minute) and cached under $LRF_EDGE_CACHE; a re-run resumes from the
# build's store.
set -euo pipefail
cd "$(dirname "$0")/.."
export LRF_EDGE_CACHE="${LRF_EDGE_CACHE:-$PWD/.cache}"
export TF_CPP_MIN_LOG_LEVEL="${TF_CPP_MIN_LOG_LEVEL:-3}"
LRF=.venv/bin/lrf-edge
mkdir -p out
echo "== LeNet-300-100 trained on MNIST-5k (cached)"
$LRF example lenet300 -o out/lenet300.keras
echo "== lrf-edge build --target riscv32f --budget 256KB --data mnist5k"
$LRF build out/lenet300.keras --target riscv32f --budget 256KB --data mnist5k \
    --epochs 2 -o out/demo
echo "== report: out/demo/report.html (plot: out/demo/pareto.png)"
