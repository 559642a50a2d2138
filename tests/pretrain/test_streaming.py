"""Pretraining straight from shards: disjoint ranks, epochs by sample count, exact resume, DDP."""

import functools
import json
import operator
import os
import subprocess

import numpy as np
import pytest
import torch
from conftest import torchrun_pretrain

from vise_lib.engagement.shards import ShardWriter
from vise_lib.pretrain.config import TrainConfig
from vise_lib.pretrain.loop import pretrain
from vise_lib.pretrain.streaming import ShardSource

N = 64


@pytest.fixture
def shards(tmp_path):
    rng = np.random.default_rng(0)
    with ShardWriter(tmp_path / "s", 8) as w:
        for i in range(N):
            w.add(rng.integers(0, 256, (16, 16, 3), dtype=np.uint8), {"post_id": f"p{i:03d}"})
        w.close()
    return tmp_path / "s"


def _ids(n=N):
    return np.array([f"p{i:03d}" for i in range(n)])


def _seen(src, epoch=0, start=0, rank=0, world=1, steps=4, batch=8):
    """Each label is the post's number, so the labels say which posts a batch holds."""
    cfg = TrainConfig(augment=False)
    return [y[0].tolist() for _, y in src.batches(epoch, start, steps, batch, cfg, "classify", rank, world)]


@pytest.mark.parametrize("workers", [0, 2])
def test_epoch_covers_each_post_once_and_ranks_are_disjoint(shards, workers):
    src = ShardSource(shards, [np.arange(N)], _ids(), workers=workers, shuffle_buffer=16)
    one = functools.reduce(operator.iadd, _seen(src, steps=8), [])
    assert sorted(one) == list(range(N))  # 8 even shards, 8 batches of 8: every post exactly once
    ranks = [functools.reduce(operator.iadd, _seen(src, rank=r, world=2), []) for r in (0, 1)]
    assert not set(ranks[0]) & set(ranks[1]) and sorted(ranks[0] + ranks[1]) == list(range(N))
    assert functools.reduce(operator.iadd, _seen(src, epoch=1, steps=8), []) != one  # a new order every epoch
    assert _seen(src, steps=8) == _seen(src, steps=8)  # and the same order again for the same epoch


def test_resume_continues_at_its_batch(shards):
    src = ShardSource(shards, [np.arange(N)], _ids(), workers=2, shuffle_buffer=16)
    full = _seen(src, steps=7)
    for start in (1, 2, 5):
        assert _seen(src, start=start, steps=7) == full[start:]


def test_workers_are_kept_between_epochs_and_give_what_fresh_ones_give(shards):
    import multiprocessing

    src = ShardSource(shards, [np.arange(N)], _ids(), workers=2, shuffle_buffer=16)
    first = _seen(src, epoch=0, steps=8)
    pids = sorted(p.pid for p in multiprocessing.active_children())
    half = src.batches(1, 0, 8, 8, TrainConfig(augment=False), "classify")
    next(half)  # an epoch left after one batch: its batches in flight are dropped when the next starts
    assert _seen(src, epoch=2, steps=8) == _seen(
        ShardSource(shards, [np.arange(N)], _ids(), workers=2, shuffle_buffer=16), epoch=2, steps=8
    )
    assert sorted(p.pid for p in multiprocessing.active_children()) == pids and len(pids) == 2  # no new fork
    with pytest.raises(RuntimeError, match="one at a time"):
        next(half)  # the stream the newer one replaced
    src.close()
    assert not multiprocessing.active_children()  # close() stops them
    assert _seen(src, epoch=0, steps=8) == first  # and the source stays usable


def test_labels_joined_by_post_id_and_unlabelled_posts_left_out(shards, tmp_path):
    keep = np.arange(0, N, 2)[::-1]  # half the posts labelled, in another order than the shards
    np.savez(tmp_path / "labels.npz", post_id=_ids()[keep], label=keep * 10, image_index=keep)
    src = ShardSource.from_labels_npz(shards, tmp_path / "labels.npz", workers=0)
    assert len(src) == N // 2 and src.shape == (N // 2, 16, 16, 3)
    got = functools.reduce(operator.iadd, _seen(src, steps=4), [])
    assert sorted(got) == sorted((keep * 10).tolist())
    with pytest.raises(ValueError, match="label set.*missing"):
        ShardSource.from_labels_npz(shards, tmp_path / "labels.npz", keys=("label_comments",))
    with pytest.raises(ValueError, match="appears more than once"):
        ShardSource(shards, [np.zeros(2, int)], np.array(["p000", "p000"]))
    with pytest.raises(ValueError, match="shard\\(s\\) for 9 ranks"):
        list(src.batches(0, 0, 1, 2, TrainConfig(), "classify", rank=0, world=9))


def test_pretrain_from_shards_resumes_bit_identically(shards, tmp_path):
    src = ShardSource(shards, [np.arange(N) % 3], _ids(), workers=2, shuffle_buffer=16)
    cfg = TrainConfig(width=4, epochs=2, batch_size=16, num_threads=1, device="cpu", seed=3)
    whole = pretrain(src, src.label_sets, cfg, tmp_path / "a", progress=False)
    part = pretrain(src, src.label_sets, cfg, tmp_path / "b", progress=False, stop_after_steps=3)
    assert not part["completed"] and part["steps"] == 3
    ck = torch.load(tmp_path / "b" / "checkpoint.pt", map_location="cpu", weights_only=True)
    assert ck["data_position"] == {"epoch": 0, "batch": 3, "batches_per_epoch": 4}
    assert ck["data"]["stream"]["workers"] == 2
    rest = pretrain(src, src.label_sets, cfg, tmp_path / "b", progress=False, resume=True)
    assert whole["completed"] and rest["completed"] and whole["steps"] == rest["steps"] == 8
    assert whole["rank_digests"] == rest["rank_digests"]
    other = ShardSource(shards, [np.arange(N) % 3], _ids(), workers=1, shuffle_buffer=16)
    # another worker count is another sample order: the checkpoint is set aside, training starts fresh
    fresh = pretrain(other, other.label_sets, cfg, tmp_path / "b", progress=False, resume=True, stop_after_steps=3)
    assert any("data changed: stream" in m for m in fresh["resume"]["messages"])
    assert list((tmp_path / "b").glob("checkpoint.stale-*.pt")) and fresh["steps"] == 3


@pytest.mark.slow
def test_torchrun_two_ranks_from_shards_resume_matches_uninterrupted(shards, tmp_path):
    np.savez(tmp_path / "labels.npz", post_id=_ids(), label=np.arange(N) % 4)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}

    def run(out, *extra):
        cmd = [
            *torchrun_pretrain(),
            "--shards",
            str(shards),
            "--labels-npz",
            str(tmp_path / "labels.npz"),
            "--workers",
            "2",
            "--shuffle-buffer",
            "16",
            "--out",
            str(tmp_path / out),
            "--width",
            "4",
            "--epochs",
            "2",
            "--batch-size",
            "16",
            "--num-threads",
            "1",
            "--device",
            "cpu",
            "--no-progress",
            *extra,
        ]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env)
        assert proc.returncode == 0, proc.stderr[-3000:]
        return json.loads([line for line in proc.stdout.splitlines() if line.startswith("{")][-1])

    whole = run("a")
    assert whole["completed"] and whole["steps"] == 8  # 64 posts / 2 ranks / 8 per rank, 2 epochs
    assert whole["rank_digests"][0] == whole["rank_digests"][1]
    part = run("b", "--stop-after-steps", "5")
    assert not part["completed"] and part["steps"] == 5
    rest = run("b", "--resume")
    assert rest["completed"] and rest["rank_digests"] == whole["rank_digests"]


def test_training_set_streams_a_runs_ingested_shards(tmp_path):
    from vise_lib.pretrain.variants import shard_folder, training_set

    run = tmp_path / "run"
    rng = np.random.default_rng(0)
    with ShardWriter(run / "ingest" / "shards", 8) as w:
        for i in range(N):
            w.add(rng.integers(0, 256, (16, 16, 3), dtype=np.uint8), {"post_id": f"p{i:03d}"})
        w.close()
    (run / "labels").mkdir()
    np.savez(
        run / "labels" / "labels.npz",
        post_id=_ids()[:40],
        label=np.arange(40) % 5,
        label_comments=np.arange(40) % 3,
        image_index=np.arange(40),
    )
    assert shard_folder(run / "world") == run / "ingest" / "shards" and shard_folder(tmp_path / "w") is None
    vise = training_set("vise", run / "world", run / "labels")
    assert isinstance(vise.images, ShardSource) and len(vise.images) == 40 and vise.num_classes == [5]
    simclr = training_set("simclr", run / "world", run / "labels")
    assert simclr.objective == "simclr" and simclr.label_sets is None and len(simclr.images) == 40
    assert training_set("comments", run / "world", run / "labels").num_classes == [3]
    with pytest.raises(ValueError, match="object latents"):
        training_set("object", run / "world", run / "labels")
    with pytest.raises(ValueError, match="label_reactions"):
        training_set("reactions", run / "world", run / "labels")
