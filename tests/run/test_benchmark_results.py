"""Typed readers of the benchmark results `make bench` stores (benchmarks/results/*.json)."""

import json

import pytest
from conftest import REPO

from vise_lib.run.benchmark_results import (
    BenchmarkResultsError,
    GpuRates,
    ShardsRates,
    read_benchmarks,
)


def _store(root, name, values, **extra):
    folder = root / "benchmarks" / "results"
    folder.mkdir(parents=True, exist_ok=True)
    line = "BENCH " + name + "".join(f" {k}={v}" for k, v in values.items())
    record = {"name": name, "line": line, "values": values, "machine": "2 cores", "date": "2026-12-01", **extra}
    (folder / f"{name}.json").write_text(json.dumps(record))
    return folder / f"{name}.json"


def test_the_stored_results_of_this_repository_read_as_typed_figures():
    b = read_benchmarks(REPO)
    assert b.ingest and b.labels_ooc and b.clustering and b.shards
    assert b.gpu is None or b.gpu.measured  # only a GPU's measurement is stored (make gpu-check)
    assert {r.name for r in b.records} >= {"ingest", "labels_ooc", "clustering", "shards", "probe"}
    assert isinstance(b.labels_ooc.posts, int) and isinstance(b.ingest.posts_per_s, float)


def test_figures_a_file_predates_get_their_stated_defaults(tmp_path):
    # a shards result from before the benchmark stored mean_ratio and the 224 px worker rate (commit 4f8e735~)
    _store(tmp_path, "shards", {"loader_img_s": 45.1, "ratio": 0.824, "decode_img_s_per_core": 1943.0, "px": 64})
    _store(tmp_path, "gpu", {"skipped": "no_cuda"})
    b = read_benchmarks(tmp_path)
    assert b.shards == ShardsRates(loader_img_s=45.1, ratio=0.824, decode_img_s_per_core=1943.0, px=64)
    assert b.shards.mean_ratio is None and b.shards.worker_img_s_per_core_224 is None
    assert b.gpu == GpuRates(skipped="no_cuda") and not b.gpu.measured
    assert b.ingest is None and b.missing(["ingest", "shards"]) == ("ingest",)


def test_a_measured_gpu_result_reads_its_rate_and_device(tmp_path):
    _store(tmp_path, "gpu", {"model_img_s": 4100, "device": "NVIDIA_H200"})  # as benchmarks/gpu.py stored it
    gpu = read_benchmarks(tmp_path).gpu
    assert gpu == GpuRates(model_img_s=4100.0, device="NVIDIA_H200") and gpu.measured
    assert gpu.training_img_s == 4100.0  # no end-to-end rate: the step's own


def test_the_gpu_checks_figures_read_and_a_dry_run_is_not_a_measurement(tmp_path):
    figures = {"model_img_s": 3900.0, "e2e_img_s": 3100.5, "loader_img_s_per_worker": 410.0, "loader_img_s": 5900.0}
    _store(tmp_path, "gpu", {**figures, "workers": 15, "gpus": 1, "device": "NVIDIA_H100_80GB_HBM3", "torch": "2.11.0"})
    gpu = read_benchmarks(tmp_path).gpu
    assert gpu.measured and gpu.training_img_s == 3100.5 and gpu.workers == 15 and gpu.multi_gpu_img_s is None
    _store(tmp_path, "gpu", {**figures, "gpus": 0, "device": "cpu"})  # gpu_check.py --dry-run's record
    assert not read_benchmarks(tmp_path).gpu.measured


@pytest.mark.parametrize(
    ("write", "match"),
    [
        (lambda f: f.write_text("{not json"), r"clustering\.json: not valid JSON"),
        (lambda f: f.write_text("[1, 2]"), r"clustering\.json: expected a JSON object"),
        (lambda f: f.write_text('{"name": "clustering", "values": {}}'), r"clustering\.json: 'line' must be"),
        (
            lambda f: f.write_text('{"name": "clustering", "line": "BENCH clustering", "values": {"seconds": [1]}}'),
            r"clustering\.json: 'values' must map",
        ),
    ],
)
def test_a_malformed_results_file_is_an_error_naming_it(tmp_path, write, match):
    write(_store(tmp_path, "clustering", {}))
    with pytest.raises(BenchmarkResultsError, match=match):
        read_benchmarks(tmp_path)


def test_a_missing_or_mistyped_figure_is_an_error_naming_the_file_and_the_value(tmp_path):
    path = _store(tmp_path, "clustering", {"seconds": 10.9, "n": 1_000_000, "d": 256})
    with pytest.raises(BenchmarkResultsError, match=rf"{path}: .* has no value 'k'"):
        read_benchmarks(tmp_path)
    path = _store(tmp_path, "clustering", {"seconds": "fast", "n": 1_000_000, "d": 256, "k": 1000})
    with pytest.raises(BenchmarkResultsError, match=rf"{path}: value seconds='fast'"):
        read_benchmarks(tmp_path)
    path = _store(tmp_path, "gpu", {"workers": 4})
    (tmp_path / "benchmarks/results/clustering.json").unlink()
    with pytest.raises(BenchmarkResultsError, match=rf"{path}: .* neither model_img_s nor skipped"):
        read_benchmarks(tmp_path)
