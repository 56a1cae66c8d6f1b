# The two commands of the README: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
DB ?= data/perfeval.duckdb
PORT ?= 8501

.PHONY: run test load bench lint demo clean plotly-bundle

$(VENV)/bin/activate:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

# Stamps: reinstall when pyproject.toml changes.
$(VENV)/.installed: pyproject.toml | $(VENV)/bin/activate
	$(PY) -m pip install -q -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(VENV)/bin/activate
	$(PY) -m pip install -q -e ".[test]"
	touch $@ $(VENV)/.installed

$(DB): | $(VENV)/.installed
	$(VENV)/bin/perfeval --db $(DB) demo --if-missing

run: $(VENV)/.installed $(DB)
	PERFEVAL_DB=$(DB) $(PY) -m perfeval.ui.serve --server.port $(PORT) --server.headless true

test: $(VENV)/.installed-test
	$(PY) -m pytest -n 2 --dist loadfile -m "not load" $(PYTEST_ARGS)

# The load tests (many browser sessions with imports): minutes each, run apart.
load: $(VENV)/.installed-test
	$(PY) -m pytest -p no:xdist -m load $(PYTEST_ARGS)

bench: $(VENV)/.installed-test
	$(VENV)/bin/perfeval bench $(BENCH_ARGS)

# ruff, then the import contracts of pyproject.toml ([tool.importlinter]).
lint: $(VENV)/.installed-test
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports

# Rebuilds perfeval/ui/assets/plotly-perfeval.min.js (needs Node.js and npm;
# not part of run or test: the built file is committed).
plotly-bundle:
	cd tools/plotly-bundle && npm ci --no-audit --no-fund && npm run build

demo: $(VENV)/.installed
	$(VENV)/bin/perfeval --db $(DB) demo --force

clean:
	rm -rf $(VENV) $(DB) $(DB).wal test-artifacts
