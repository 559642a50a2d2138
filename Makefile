# VisE companion. Two commands matter: `make book` and `make test`; both create or reuse .venv.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
KERNEL := vise-venv
STAMP  := $(VENV)/.installed
LOCK   := requirements.lock
# The tool that writes the lock, pinned and kept in its own small venv (not the project's).
UV_VERSION := 0.13.9
UV_VENV    := .lock-tools
UV         := $(UV_VENV)/bin/uv

.PHONY: venv book smoke test unit lint bench browser clean lock

venv: $(STAMP)

# (Re)install when the lock changes: exactly the locked files (pip checks every hash), then the
# project itself without dependencies (the lock has them all). The kernel is registered inside
# the venv (--sys-prefix) and papermill is always called with it explicitly.
$(STAMP): pyproject.toml $(LOCK)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet --require-hashes -r $(LOCK)
	$(PY) -m pip install --quiet --no-deps -e .
	$(PY) -m ipykernel install --sys-prefix --name $(KERNEL) --display-name "VisE companion (.venv)"
	touch $(STAMP)

## make book: run the whole study on the embedded default world and build the report (HTML + PDF,
## which headless Chromium prints)
book: venv browser
	$(VENV)/bin/vise run --preset default

## make smoke: the same pipeline on the tiny `smoke` preset (what the tests use)
smoke: venv browser
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
unit: venv browser
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

## make lock: rewrite requirements.lock (every package of the tree, with hashes; Linux x86_64,
## Python 3.11, extras dev and scale) from pyproject.toml with uv, then environment.yml from it.
## Pins already in the lock are kept where pyproject.toml still allows them;
## `make lock UPGRADE=--upgrade` moves every package to its newest allowed release.
lock:
	test -x $(UV) || { $(PYTHON) -m venv $(UV_VENV) && $(UV_VENV)/bin/pip install --quiet "uv==$(UV_VERSION)"; }
	$(UV) pip compile pyproject.toml --extra dev --extra scale --generate-hashes \
		--python-version 3.11 --python-platform x86_64-manylinux_2_28 \
		--custom-compile-command "make lock" --quiet $(UPGRADE) -o $(LOCK)
	$(PYTHON) -m vise_lib.run.lock environment.yml

# Headless Chromium (Debian's package) prints the book's PDF and runs the browser tests;
# poppler-utils (pdftotext, pdfimages, pdftoppm) lets the tests read that PDF.
browser:
	@command -v chromium >/dev/null 2>&1 && command -v pdftoppm >/dev/null 2>&1 || { \
		echo "Installing Debian's chromium and poppler-utils (the book's PDF and the browser tests)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium poppler-utils >/dev/null; }

clean:
	rm -rf _build book/_generated runs
