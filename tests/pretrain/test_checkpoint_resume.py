"""Issue 13 items 3, 9 and 10: resume continues an unchanged run and says so; a changed run starts
fresh with the old checkpoint kept aside; a truncated checkpoint falls back to the previous good one;
temp files of a killed checkpoint write are swept."""

import os

import numpy as np
import torch

from vise_lib.pretrain.config import TrainConfig
from vise_lib.pretrain.loop import pretrain

TINY = dict(arch="small_resnet", width=4, epochs=2, batch_size=8, lr=0.05, warmup_epochs=0.5, seed=3)


def _data(n=32, size=16, seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n, size, size, 3), dtype=np.uint8), [rng.integers(0, 4, n)]


def _load(path):
    return torch.load(path, map_location="cpu", weights_only=True)


def _same_weights(a, b):
    wa, wb = _load(a), _load(b)
    return wa.keys() == wb.keys() and all(torch.equal(wa[k], wb[k]) for k in wa)


def _stop_then_resume(tmp_path, capsys, cfg, labels, stop=2):
    """Train the TINY run ``stop`` steps, then resume in the same folder with ``cfg`` and ``labels``."""
    images, first = _data()
    pretrain(images, first, TrainConfig(**TINY), tmp_path, progress=False, stop_after_steps=stop)
    capsys.readouterr()
    done = pretrain(images, labels or first, cfg, tmp_path, resume=True, progress=False)
    return images, done, capsys.readouterr().out


def test_item3_unchanged_run_resumes_and_says_so(tmp_path, capsys):
    images, labels = _data()
    cfg = TrainConfig(**TINY)
    pretrain(images, labels, cfg, tmp_path / "r", progress=False, stop_after_steps=3)
    capsys.readouterr()
    done = pretrain(images, labels, cfg, tmp_path / "r", resume=True, progress=False)
    out = capsys.readouterr().out
    assert "[pretrain] resuming from" in out and "at step 3 of 8" in out and "unchanged" in out
    assert done["resume"]["step"] == 3 and done["resume"]["from"].endswith("checkpoint.pt")
    full = pretrain(images, labels, cfg, tmp_path / "full", progress=False)
    assert _same_weights(full["backbone"], done["backbone"])


def test_item3_changed_parameters_start_fresh_and_keep_the_old_checkpoint_aside(tmp_path, capsys):
    new = TrainConfig(**{**TINY, "lr": 0.2})
    images, done, out = _stop_then_resume(tmp_path, capsys, new, None)
    labels = _data()[1]
    assert "parameters changed: lr 0.05 -> 0.2" in out and "starting fresh from step 0" in out
    stale = sorted(tmp_path.glob("checkpoint.stale-*.pt"))
    assert len(stale) == 1 and f"moved to {stale[0].name}" in out
    assert _load(stale[0])["cfg"]["lr"] == 0.05 and _load(stale[0])["step"] == 2  # kept, intact
    assert done["completed"] and done["resume"]["step"] == 0
    fresh = pretrain(images, labels, new, tmp_path / "fresh", progress=False)
    assert _same_weights(fresh["backbone"], done["backbone"])


def test_item3_changed_labels_start_fresh(tmp_path, capsys):
    _, done, out = _stop_then_resume(tmp_path, capsys, TrainConfig(**TINY), [_data()[1][0][::-1].copy()])
    assert "data changed: labels_sha1" in out and done["resume"]["step"] == 0 and done["completed"]
    assert len(list(tmp_path.glob("checkpoint.stale-*.pt"))) == 1


def test_item10_truncated_checkpoint_falls_back_to_the_previous_good_one(tmp_path, capsys):
    images, labels = _data()
    cfg = TrainConfig(**{**TINY, "ckpt_every": 2})
    pretrain(images, labels, cfg, tmp_path, progress=False, stop_after_steps=3)  # checkpoints at steps 2 and 3
    assert _load(tmp_path / "checkpoint.prev.pt")["step"] == 2 and _load(tmp_path / "checkpoint.pt")["step"] == 3
    data = (tmp_path / "checkpoint.pt").read_bytes()
    (tmp_path / "checkpoint.pt").write_bytes(data[: len(data) // 2])  # truncated (disk full, bad copy)
    capsys.readouterr()
    done = pretrain(images, labels, cfg, tmp_path, resume=True, progress=False)
    out = capsys.readouterr().out
    assert "not a readable weights-only checkpoint" in out and "checkpoint.pt is damaged" in out
    assert "resuming from the previous good checkpoint checkpoint.prev.pt" in out and "at step 2 of 8" in out
    assert len(list(tmp_path.glob("checkpoint.corrupt-*.pt"))) == 1
    full = pretrain(images, labels, cfg, tmp_path / "full", progress=False)
    assert done["resume"]["step"] == 2 and _same_weights(full["backbone"], done["backbone"])


def test_item10_garbage_without_fallback_starts_fresh(tmp_path, capsys):
    images, labels = _data()
    (tmp_path / "checkpoint.pt").write_bytes(b"garbage")
    done = pretrain(images, labels, TrainConfig(**TINY), tmp_path, resume=True, progress=False)
    out = capsys.readouterr().out
    assert "checkpoint.pt: not a readable weights-only checkpoint" in out and "starting fresh" in out
    assert done["completed"] and len(list(tmp_path.glob("checkpoint.corrupt-*.pt"))) == 1


def test_item9_temp_files_of_a_killed_checkpoint_write_are_swept(tmp_path):
    images, labels = _data()
    tmp_path.mkdir(exist_ok=True)
    dead = [tmp_path / ".checkpoint.pt.999999999.k1l2.tmp", tmp_path / ".checkpoint.pt.abc123.tmp"]
    for p in dead:
        p.write_bytes(b"half a checkpoint")
    os.utime(dead[1], (1, 1))  # no pid in the name (older versions): stale by age
    pretrain(images, labels, TrainConfig(**TINY), tmp_path, progress=False, stop_after_steps=1)
    assert not [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
