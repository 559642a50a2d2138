# VisE companion. Two commands matter: `make book` and `make test`; both create or reuse .venv.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
KERNEL := vise-venv
STAMP  := $(VENV)/.installed

.PHONY: venv book smoke test unit lint bench gpu-wheels gpu-check browser clean

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

# Headless Chromium for the screenshot tests (Debian's package).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
		echo "Installing Debian's chromium for the headless screenshot tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

clean:
	rm -rf _build book/_generated runs
