# Two commands do everything on a fresh machine (see README.md):
#   make gradcheck   set up .venv and run the main job
#   make test        set up .venv with the test references (PyTorch CPU) and run the tests
# PYTHON may name another interpreter (3.10 or newer).

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python

.PHONY: gradcheck test data clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

data:
	@bash scripts/install-data.sh

gradcheck: $(VENV)/.installed
	$(VENV)/bin/netprop gradcheck

test: $(VENV)/.installed-test data
	$(PY) -m pytest

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
