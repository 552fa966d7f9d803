# Two commands do everything on a fresh machine (see README.md):
#   make train   set up .venv, install Fashion-MNIST where apt exists, train the lecture's network
#   make test    set up .venv with the test references (PyTorch CPU) and run the tests
# PYTHON may name another interpreter (3.10 or newer); ARGS passes flags to netprop train.

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
ARGS   ?=

.PHONY: train test bench data test-tools clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

$(VENV)/.installed-bench: pyproject.toml $(VENV)/.installed
	$(PY) -m pip install --quiet -e '.[bench]'
	touch $@

data:
	@bash scripts/install-data.sh

test-tools:
	@bash scripts/install-test-tools.sh

train: $(VENV)/.installed data
	$(VENV)/bin/netprop train $(ARGS)

test: $(VENV)/.installed-test data test-tools
	$(PY) -m pytest

bench: $(VENV)/.installed-bench data
	cd benchmarks && ../$(PY) bench_epoch.py && ../$(PY) bench_accuracy.py --recipe && ../$(PY) bench_sklearn.py

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
