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

.PHONY: venv book smoke test unit lint bench gpu-wheels gpu-check browser clean lock

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

## make gpu-wheels: download, for a GPU machine's own Python 3.12 (no network there), the wheels of the
## modules the GPU check may find missing into .whl/ (git-ignored; it travels with the tree, ~24 MB)
GPU_WHEELS := webdataset==1.0.2 braceexpand==0.1.7 tqdm==4.70.1 PyYAML==6.0.4 numpy==2.4.6 pillow==13.0.0
gpu-wheels:
	rm -rf .whl && mkdir -p .whl
	$(if $(wildcard $(PY)),$(PY),$(PYTHON)) -m pip download --quiet --no-deps --only-binary=:all: \
		--python-version 3.12 --implementation cp --platform manylinux_2_28_x86_64 \
		--platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 -d .whl $(GPU_WHEELS)
	@du -sh .whl

## make gpu-check: on a GPU machine, with its own python3 and torch (no venv): install what is missing
## from .whl/, measure the model, the loader and pretrain() end to end (benchmarks/gpu_check.py, < 8 min);
## results in $$OUT/gpu.json when OUT is set (a lent machine), else benchmarks/results/gpu.json
## (GPU_CHECK_ARGS=--dry-run: the same steps on the CPU, tiny sizes; GPU_PYTHON: another interpreter)
GPU_PYTHON ?= python3
gpu-check:
	$(GPU_PYTHON) benchmarks/gpu_check.py --out "$${OUT:-benchmarks/results}/gpu.json" $(GPU_CHECK_ARGS)

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
