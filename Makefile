# The two commands of the README: `make demo` and `make test`. Both set everything up first.
VENV := .venv
PY := $(VENV)/bin/python
export LRF_EDGE_CACHE ?= $(CURDIR)/.cache
export TF_CPP_MIN_LOG_LEVEL ?= 3

.PHONY: setup test demo bench constraints

setup:
	@bash scripts/setup.sh

test: setup
	$(PY) -m pytest -q

demo: setup
	@bash scripts/demo.sh

bench: setup
	@set -e; for b in bench/bench_*.py; do echo "== $$b"; $(PY) $$b; done

# Re-pin every transitive dependency after changing requirements.txt.
constraints:
	$(PY) -m pip freeze --exclude-editable | grep -v '^lrf-edge' > constraints.txt
