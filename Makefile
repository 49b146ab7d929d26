# The two commands of the README: `make demo` and `make test`. Both set everything up first.
# `make check` is the fast tier (no emulator, no training: under 3 minutes); `make test` runs
# everything and is what CI runs: its set-up adds Debian's chromium, so the report's browser
# test runs (LRF_EDGE_REQUIRE_BROWSER makes a missing browser a failure, not a skip).
VENV := .venv
PY := $(VENV)/bin/python
export LRF_EDGE_CACHE ?= $(CURDIR)/.cache
export TF_CPP_MIN_LOG_LEVEL ?= 3

.PHONY: setup setup-browser check test demo bench constraints

setup:
	@bash scripts/setup.sh

setup-browser:
	@bash scripts/setup.sh --browser

check: setup
	$(PY) -m pytest -q -m "not slow"

test: setup-browser
	LRF_EDGE_REQUIRE_BROWSER=1 $(PY) -m pytest -q

demo: setup
	@bash scripts/demo.sh

bench: setup
	@set -e; for b in bench/bench_*.py; do echo "== $$b"; $(PY) $$b; done

# Re-pin every transitive dependency after changing requirements.txt.
constraints:
	$(PY) -m pip freeze --exclude-editable | grep -v '^lrf-edge' > constraints.txt
