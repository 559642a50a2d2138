"""Multi-node pretraining: ``torchrun --nnodes 2`` with a c10d rendezvous, run as two node
launchers on this machine (one process each, gloo), streaming the shards. It trains exactly what
one node with two processes trains: the world size is what counts, not how it is spread."""

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import torchrun_pretrain

from vise_lib.engagement.shards import ShardWriter

N = 64


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _train_args(shards: Path, labels: Path, out: Path) -> list[str]:
    flags = {"workers": 2, "shuffle_buffer": 16, "width": 4, "epochs": 2, "batch_size": 16, "num_threads": 1}
    args = ["--shards", str(shards), "--labels-npz", str(labels), "--out", str(out), "--device", "cpu"]
    for k, v in flags.items():
        args += ["--" + k.replace("_", "-"), str(v)]
    return [*args, "--no-progress"]


def _summary(stdout: str) -> dict | None:
    lines = [line for line in stdout.splitlines() if line.startswith("{")]
    return json.loads(lines[-1]) if lines else None


@pytest.mark.slow
def test_two_nodes_with_c10d_rendezvous_train_what_one_node_with_two_processes_trains(tmp_path):
    rng = np.random.default_rng(0)
    with ShardWriter(tmp_path / "shards", 8) as w:
        for i in range(N):
            w.add(rng.integers(0, 256, (16, 16, 3), dtype=np.uint8), {"post_id": f"p{i:03d}"})
        w.close()
    labels = tmp_path / "labels.npz"
    np.savez(labels, post_id=np.array([f"p{i:03d}" for i in range(N)]), label=np.arange(N) % 4)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    torchrun = str(Path(sys.executable).with_name("torchrun"))
    port = _free_port()
    nodes = [
        subprocess.Popen(
            [
                torchrun,
                "--nnodes=2",
                "--nproc_per_node=1",
                f"--node_rank={rank}",
                "--rdzv_backend=c10d",
                f"--rdzv_endpoint=127.0.0.1:{port}",
                "--rdzv_id=vise-two-nodes",
                "-m",
                "vise_lib.pretrain",
                *_train_args(tmp_path / "shards", labels, tmp_path / "two_nodes"),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for rank in (0, 1)
    ]
    outs = [node.communicate(timeout=300) for node in nodes]
    for node, (_, err) in zip(nodes, outs, strict=True):
        assert node.returncode == 0, err[-3000:]
    summaries = [s for s in (_summary(out) for out, _ in outs) if s is not None]
    assert len(summaries) == 1  # only global rank 0 prints, on whichever node it landed
    two_nodes = summaries[0]
    assert two_nodes["completed"] and two_nodes["steps"] == 8  # 64 posts / 2 ranks / 8 per rank, 2 epochs
    assert len(two_nodes["rank_digests"]) == 2 and two_nodes["rank_digests"][0] == two_nodes["rank_digests"][1]

    one = subprocess.run(
        [*torchrun_pretrain(2), *_train_args(tmp_path / "shards", labels, tmp_path / "one_node")],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert one.returncode == 0, one.stderr[-3000:]
    one_node = _summary(one.stdout)
    assert one_node is not None and one_node["rank_digests"] == two_nodes["rank_digests"]
