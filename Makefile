# Two commands do everything on a fresh machine (see README.md):
#   make train   set up .venv, install Fashion-MNIST where apt exists, train the lecture's network
#   make test    set up .venv with the test references (PyTorch CPU), install the Debian packages the
#                tests use as witnesses, run ruff, build the docs strictly, build and try both
#                distributions outside the repository, and run the whole test suite
# The Debian packages come from two explicit targets, never from inside pytest:
#   make data         dataset-fashion-mnist
#   make test-tools   texlive-latex-base (pdflatex), chromium, zsh and fish (completion scripts)
# make check is the inner loop: the tests not marked slow (under a minute).
# make docs builds the documentation site into site/ (mkdocs build --strict); make dist-check builds
# the sdist and the wheel and smoke-tests them (scripts/dist-check.sh).
# Both install the explain extra, so `netprop explain` works after either. make test adds the fast
# extra (Numba) so that both training paths are tested; make train leaves it out: it takes a
# quarter off the default epoch but adds 144 MiB to the run's peak memory (docs/benchmarks.md).
# PYTHON may name another interpreter (3.10 or newer); ARGS passes flags to netprop train.

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
ARGS   ?=

.PHONY: train test check lint docs dist-check bench data test-tools bytecode clean

# Named before anything is created: a Python that is missing or too old, and Debian's Python
# without its venv module's ensurepip (the package python3-venv), each with the fix.
$(VENV)/.installed: pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 10))' 2>/dev/null || { \
		echo "netprop set-up: '$(PYTHON)' is missing or older than Python 3.10; install Python 3.10 or" \
		     "newer (Debian: apt-get install python3), or name one: make $(MAKECMDGOALS) PYTHON=python3.11" >&2; \
		exit 1; }
	@$(PYTHON) -c 'import ensurepip, venv' 2>/dev/null || { \
		echo "netprop set-up: '$(PYTHON)' cannot create a virtual environment (its ensurepip module is" \
		     "missing); on Debian or Ubuntu: apt-get install python3-venv, then make $(MAKECMDGOALS) again" >&2; \
		exit 1; }
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

# netprop is installed editable, so its modules are compiled from src/ at each import unless a
# __pycache__ holds them, and with PYTHONDONTWRITEBYTECODE=1 (set on this machine, and in many
# containers) Python never writes one: ~0.06 s of every command, and of every process the tests
# start.  compileall writes them (again only where a source changed), as pip does for a wheel.
# Only a head start: a checkout it cannot write (or a module that does not compile) gets a note,
# and the command runs as before.
bytecode: $(VENV)/.installed
	@$(PY) -m compileall -q src/netprop >/dev/null 2>&1 || echo "netprop: src/netprop not byte-compiled" \
		"(read-only, or a module that does not compile); each command compiles what it imports" >&2

test-tools:
	@bash scripts/install-test-tools.sh

train: $(VENV)/.installed data bytecode
	$(VENV)/bin/netprop train $(ARGS)

test: $(VENV)/.installed-test data test-tools lint docs dist-check bytecode
	$(PY) -m pytest

check: $(VENV)/.installed-test bytecode
	$(PY) -m pytest -m "not slow"

lint: $(VENV)/.installed-test
	$(PY) -m ruff check src tests benchmarks scripts

docs: $(VENV)/.installed-test
	NO_MKDOCS_2_WARNING=1 $(PY) -m mkdocs build --strict --quiet --site-dir site

dist-check: $(VENV)/.installed-test data
	bash scripts/dist-check.sh $(abspath $(PY))

bench: $(VENV)/.installed-bench data bytecode
	cd benchmarks && ../$(PY) bench_epoch.py && ../$(PY) bench_accuracy.py --recipe && ../$(PY) bench_landscape.py \
		&& ../$(PY) bench_sklearn.py

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis site build dist
