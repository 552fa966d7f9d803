# Two commands do everything on a fresh machine (see README.md):
#   make train   set up .venv, install Fashion-MNIST where apt exists, train the lecture's network
#   make test    set up .venv with the test references (PyTorch CPU), install the Debian packages the
#                tests use as witnesses, run ruff and the whole test suite
# The Debian packages come from two explicit targets, never from inside pytest:
#   make data         dataset-fashion-mnist
#   make test-tools   texlive-latex-base (pdflatex), chromium, zsh and fish (completion scripts)
# make check is the inner loop: the tests not marked slow (under a minute).
# Both install the explain extra, so `netprop explain` works after either. make test adds the fast
# extra (Numba) so that both training paths are tested; make train leaves it out: it takes a
# quarter off the default epoch but adds 144 MiB to the run's peak memory (README, Benchmarks).
# PYTHON may name another interpreter (3.10 or newer); ARGS passes flags to netprop train.

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
ARGS   ?=

.PHONY: train test check lint bench data test-tools clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[explain]'
	touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed
	$(PY) -m pip install --quiet -e '.[test,explain,notebook,fast]'
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

test: $(VENV)/.installed-test data test-tools lint
	$(PY) -m pytest

check: $(VENV)/.installed-test
	$(PY) -m pytest -m "not slow"

lint: $(VENV)/.installed-test
	$(PY) -m ruff check src tests benchmarks

bench: $(VENV)/.installed-bench data
	cd benchmarks && ../$(PY) bench_epoch.py && ../$(PY) bench_accuracy.py --recipe && ../$(PY) bench_landscape.py \
		&& ../$(PY) bench_sklearn.py

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
