#!/usr/bin/env bash
# One-time set-up, a no-op of a few seconds when already done:
#  1. Debian packages: RISC-V and ARM cross compilers with picolibc, QEMU, cmake (the bundle's
#     CMake test) and python3-venv; with --browser also chromium (the report's browser
#     test; `make test` passes it, so CI runs that test) and yosys + clang-16 (Hazard3's RTL
#     simulator, lrf_edge.qemu.rtl, built once into the cache by its test).
#  2. .venv with the pinned Python dependencies (requirements.txt + constraints.txt) and
#     lrf-edge itself installed editable.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(gcc-riscv64-unknown-elf picolibc-riscv64-unknown-elf qemu-system-misc
              gcc-arm-none-eabi picolibc-arm-none-eabi qemu-system-arm cmake)
if [ "${1:-}" = "--browser" ]; then
  APT_PACKAGES+=(chromium yosys yosys-dev clang-16)
fi
PYTHON=${PYTHON:-python3}

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
"$PYTHON" -c 'import venv, ensurepip' 2>/dev/null || missing+=(python3-venv)

if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    SUDO=()
  elif command -v sudo >/dev/null 2>&1; then
    SUDO=(sudo)
    echo "setup: installing Debian packages with sudo: ${missing[*]}"
  else
    echo "setup: error: need Debian packages ${missing[*]} but this is not root and sudo is" \
         "missing; as root run: apt-get install -y --no-install-recommends ${missing[*]}" >&2
    exit 2
  fi
  echo "setup: apt-get install ${missing[*]} (about a minute)"
  "${SUDO[@]}" apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y -q --no-install-recommends \
    "${missing[@]}" >/dev/null
fi

stamp=".venv/.lrf-edge-$(cat requirements.txt constraints.txt pyproject.toml | sha256sum | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  echo "setup: creating .venv with pinned dependencies (a few minutes the first time)"
  [ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -r requirements.txt -c constraints.txt
  .venv/bin/python -m pip install -q --no-deps --no-build-isolation -e .
  rm -f .venv/.lrf-edge-*
  touch "$stamp"
fi
# Offline time-series sets (lrf_edge/timeseries.py): the pinned aeon wheel's bundled .ts files,
# read from the zip (aeon itself is not installed).
wheels="${LRF_EDGE_CACHE:-$HOME/.cache/lrf-edge}/wheels"
if [ ! -f "$wheels/aeon-1.6.0-py3-none-any.whl" ]; then
  .venv/bin/python -m pip download -q --no-deps aeon==1.6.0 -d "$wheels"
fi
