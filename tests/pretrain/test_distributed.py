"""DDP under torchrun (2 CPU processes, gloo) and the distributed helpers."""

import json
import os
import subprocess

import numpy as np
import pytest
import torch
from conftest import torchrun_pretrain, train_args

from vise_lib.backbones.archs import build_backbone
from vise_lib.backbones.checkpoint import load_backbone
from vise_lib.pretrain.distributed import (
    all_gather_objects,
    epoch_indices,
    rank_world,
    resolve_device,
    run_device,
    state_digest,
)


def test_single_process_helpers():
    assert rank_world() == (0, 1) and all_gather_objects("x") == ["x"]
    a, b = epoch_indices(10, 0, 5), epoch_indices(10, 1, 5)
    assert sorted(a.tolist()) == list(range(10)) and not np.array_equal(a, b)
    assert np.array_equal(a, epoch_indices(10, 0, 5))
    shards = [epoch_indices(11, 2, 5, rank=r, world=2) for r in range(2)]
    assert [len(s) for s in shards] == [5, 5] and not set(shards[0]) & set(shards[1])
    torch.manual_seed(0)
    m = build_backbone("small_resnet", width=4)
    d = state_digest(m)
    with torch.no_grad():
        m[0].weight[0, 0, 0, 0] += 1e-6
    assert state_digest(m) != d and len(d) == 40


@pytest.mark.slow
def test_torchrun_two_ranks_identical_weights(tmp_path):
    rng = np.random.default_rng(0)
    np.save(tmp_path / "x.npy", rng.integers(0, 256, (48, 16, 16, 3), dtype=np.uint8))
    np.save(tmp_path / "y.npy", rng.integers(0, 3, 48))
    flags = {"width": 4, "epochs": 2, "batch_size": 8, "num_threads": 1, "device": "cpu", "ckpt_every": 5}
    cmd = [
        *torchrun_pretrain(),
        *train_args(tmp_path / "x.npy", tmp_path / "y.npy", tmp_path / "run", no_progress=True, **flags),
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    summaries = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    assert len(summaries) == 1  # only rank 0 prints
    res = summaries[0]
    assert res["completed"] and res["steps"] == 12  # 48 images / 2 ranks / 4 per rank, 2 epochs
    digests = res["rank_digests"]
    assert len(digests) == 2 and digests[0] == digests[1]
    files = sorted(p.name for p in (tmp_path / "run").iterdir())
    # rank 0 only, no temp files; the previous good checkpoint is kept beside the last one
    assert files == ["backbone.pt", "checkpoint.prev.pt", "checkpoint.pt", "log.jsonl"]
    rows = [json.loads(line) for line in (tmp_path / "run" / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [6, 12]
    ck = torch.load(tmp_path / "run" / "checkpoint.pt", map_location="cpu", weights_only=True)
    assert ck["data"]["world_size"] == 2
    assert load_backbone(tmp_path / "run" / "backbone.pt", "small_resnet", width=4) is not None


@pytest.mark.parametrize(
    ("requested", "local_rank", "distributed", "cuda", "want"),
    [
        ("cuda:0", 3, True, True, "cuda:3"),  # torchrun: --device cuda:0 must not put every rank on GPU 0
        ("cuda", 1, True, True, "cuda:1"),
        ("cuda:5", 2, True, True, "cuda:2"),
        ("auto", 7, True, True, "cuda:7"),
        ("auto", 0, False, True, "cuda"),  # one process: the current GPU
        ("cuda:1", 0, False, True, "cuda:1"),  # one process keeps the GPU it names
        ("auto", 3, True, False, "cpu"),
        ("cpu", 3, True, True, "cpu"),
    ],
)
def test_each_rank_binds_to_its_local_rank(requested, local_rank, distributed, cuda, want):
    assert resolve_device(requested, local_rank, distributed, cuda) == torch.device(want)


def test_cuda_asked_for_without_a_gpu_is_an_error():
    with pytest.raises(ValueError, match="no CUDA device"):
        resolve_device("cuda:0", 0, False, False)
    with pytest.raises(ValueError, match="'tpu'"):
        resolve_device("tpu", 0, False, True)


def test_run_device_reads_local_rank_from_the_torchrun_environment(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setenv("LOCAL_RANK", "2")
    monkeypatch.setenv("RANK", "6")
    monkeypatch.setenv("WORLD_SIZE", "8")
    assert run_device("cuda:0") == torch.device("cuda", 2)
    monkeypatch.setenv("WORLD_SIZE", "1")
    monkeypatch.setenv("LOCAL_RANK", "0")
    assert run_device("cuda:0") == torch.device("cuda", 0) and run_device("cpu") == torch.device("cpu")
