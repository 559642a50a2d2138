"""Training several backbones at once gives the same weights as one at a time."""

import os

import pytest
import torch
from conftest import write_tiny_world

from vise_lib.pretrain.config import TrainConfig
from vise_lib.study.backbone_runs import train_backbones


@pytest.mark.slow
def test_two_jobs_give_the_weights_of_one_and_variant_seeds_are_kept(tmp_path):
    world, labels = write_tiny_world(tmp_path, n=48, px=16)
    cfg = TrainConfig(width=8, epochs=2, batch_size=16, num_threads=1)
    args = (["vise", "object"], [0, 1], world, labels, cfg)
    one = train_backbones(*args, tmp_path / "one", holdout=0.25, seeds_for={"object": [1, 2]})
    two = train_backbones(*args, tmp_path / "two", holdout=0.25, seeds_for={"object": [1, 2]}, jobs=2)
    assert one["order"] == two["order"] == ["vise@0", "vise@1", "object@1", "object@2"]
    for name in one["order"]:
        a = torch.load(one["variants"][name]["backbone"], weights_only=True)
        b = torch.load(two["variants"][name]["backbone"], weights_only=True)
        assert all(torch.equal(a[k], b[k]) for k in a), name
        assert one["variants"][name]["n_holdout"] == 12
        assert len(one["variants"][name]["history"][-1]["holdout_accuracy"]) == 1


@pytest.mark.slow
def test_a_training_worker_ends_when_its_parent_is_gone():
    import subprocess
    import sys
    import time

    # a parent that starts a child running exit_with_parent, prints the child's pid, and dies at once
    code = (
        "import multiprocessing as mp, os, sys, time\n"
        "from vise_lib.study.backbone_runs import exit_with_parent\n"
        "def child(parent):\n"
        "    exit_with_parent(parent, every=0.1)\n"
        "    time.sleep(60)\n"
        "if __name__ == '__main__':\n"
        "    p = mp.get_context('spawn').Process(target=child, args=(os.getpid(),))\n"
        "    p.start(); print(p.pid, flush=True); time.sleep(3); os._exit(0)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    pid = int(out.stdout.split()[0])
    deadline = time.time() + 240  # the child may still be importing torch on a loaded machine
    while time.time() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.2)
    os.kill(pid, 9)
    raise AssertionError("the worker outlived its parent by 240 s")
