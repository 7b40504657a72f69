# The two commands: `make demo` and `make test`. Both create .venv and install what they need.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-test

.PHONY: demo test lint bench bench-table clean docs

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

# PyTorch is not a dependency of chainrule, but the cross-checks in tests/crosscheck compare
# against it: the CPU wheel, pinned exactly (a plain `torch` would pull a multi-GB CUDA build).
# The docs extra too: tests/test_docs_site.py builds the site with --strict.
$(STAMP): pyproject.toml | $(VENV)/bin/python
	$(PY) -m pip install -q -e '.[test,docs]'
	$(PY) -m pip install -q torch==2.13.0
	touch $(STAMP)

demo: $(STAMP)
	$(PY) examples/demo.py

# Two pytest workers on two cores: one BLAS thread each, or BLAS-heavy tests stall each other.
test: $(STAMP)
	$(PY) -m ruff check src tests benchmarks examples tools
	OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 $(PY) -m pytest --doctest-modules src/chainrule -p no:cacheprovider
	OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 $(PY) -m pytest -n 2 tests

lint: $(STAMP)
	$(PY) -m ruff check src tests benchmarks examples tools

bench: $(STAMP)
	$(PY) -m pip install -q autograd jax
	env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE $(PY) -m benchmarks.run

# The issue's table: each library in its own fresh process, alternating (benchmarks/fresh.py).
bench-table: $(STAMP)
	env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE $(PY) -m benchmarks.fresh

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info .pytest_cache site

# The documentation site (mkdocs.yml): built offline with --strict into site/; open site/index.html.
DOCS_STAMP := $(VENV)/.installed-docs
$(DOCS_STAMP): pyproject.toml | $(VENV)/bin/python
	$(PY) -m pip install -q -e '.[docs]'
	touch $(DOCS_STAMP)

docs: $(DOCS_STAMP)
	NO_MKDOCS_2_WARNING=1 OPENBLAS_NUM_THREADS=1 $(PY) -m mkdocs build --strict
	@echo "site built: open site/index.html"
