# VisE companion. Two commands matter: `make book` and `make test`; both create or reuse .venv.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
KERNEL := vise-venv
STAMP  := $(VENV)/.installed

.PHONY: venv book smoke test unit lint bench browser clean

venv: $(STAMP)

# (Re)install when pyproject.toml changes. The kernel is registered inside the venv
# (--sys-prefix) and papermill is always called with it explicitly.
$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev,scale]"
	$(PY) -m ipykernel install --sys-prefix --name $(KERNEL) --display-name "VisE companion (.venv)"
	touch $(STAMP)

## make book: run the whole study on the embedded default world and build the report
book: venv
	$(VENV)/bin/vise run --preset default

## make smoke: the same pipeline on the tiny `smoke` preset (what the tests use)
smoke: venv
	$(VENV)/bin/vise run --preset smoke

## make test: lint first (fails on any finding), then the smoke pipeline, unit tests, nbval on its
## executed notebooks, book + browser checks
test: venv browser
	$(MAKE) lint
	$(VENV)/bin/vise run --preset smoke --strict
	$(PY) -m pytest tests book/_generated/smoke \
		--nbval --nbval-current-env \
		--nbval-sanitize-with tests/nbval_sanitize.cfg

## make unit: only the Python unit tests (no pipeline, no browser)
unit: venv
	$(PY) -m pytest tests -m "not pipeline"

## make lint: ruff (lint, then the formatter in check mode) and mypy (config: pyproject.toml);
## the same checks as .pre-commit-config.yaml. `ruff check --fix .` and `ruff format .` fix most findings.
## All three run (every finding is shown); the target fails if any of them does.
lint: venv
	@status=0; \
	$(VENV)/bin/ruff check . || status=1; \
	$(VENV)/bin/ruff format --check . || status=1; \
	$(VENV)/bin/mypy || status=1; \
	exit $$status

## make bench: every benchmark, one after another; results land in benchmarks/results/ (the book shows them)
bench: venv
	$(PY) benchmarks/run_all.py

# Headless Chromium for the screenshot tests (Debian's package).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
		echo "Installing Debian's chromium for the headless screenshot tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

clean:
	rm -rf _build book/_generated runs
