import itertools
import json

import numpy as np
import pytest
import torch
from conftest import train_args

from vise_lib.backbones.archs import build_backbone
from vise_lib.backbones.checkpoint import load_backbone
from vise_lib.pretrain.cli import main
from vise_lib.pretrain.config import TrainConfig, lr_at
from vise_lib.pretrain.loop import pretrain
from vise_lib.run.cli import main as vise_main

TINY = {"arch": "small_resnet", "width": 4, "epochs": 2, "batch_size": 8, "lr": 0.05, "warmup_epochs": 0.5, "seed": 3}


def _data(n=32, size=16, classes=(4,), seed=0):
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (n, size, size, 3), dtype=np.uint8)
    return images, [rng.integers(0, k, n) for k in classes]


def _weights(path):
    return torch.load(path, map_location="cpu", weights_only=True)


def _assert_identical(a, b):
    wa, wb = _weights(a), _weights(b)
    assert wa.keys() == wb.keys()
    for k in wa:
        assert torch.equal(wa[k], wb[k]), k


def _strip_timing(history):
    return [{k: v for k, v in row.items() if k not in ("images_per_s", "seconds")} for row in history]


def test_overfits_a_tiny_batch(tmp_path):
    images, labels = _data(n=64, classes=(4,))
    cfg = TrainConfig(width=8, epochs=25, batch_size=64, lr=0.05, warmup_epochs=2, augment=False, seed=0)
    res = pretrain(images, labels, cfg, tmp_path, progress=False)
    assert res["completed"] and res["train_accuracy"][0] > 0.9
    assert res["history"][-1]["loss"] < res["history"][0]["loss"]
    rows = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert len(rows) == 25 and set(rows[0]) >= {"epoch", "step", "loss", "accuracy", "images_per_s", "lr"}
    assert rows == res["history"]
    assert load_backbone(res["backbone"], "small_resnet", width=8) is not None


def test_two_heads_and_same_seed_same_weights(tmp_path):
    images, labels = _data(classes=(3, 5))
    cfg = TrainConfig(**TINY)
    r1 = pretrain(images, labels, cfg, tmp_path / "a", progress=False)
    r2 = pretrain(images, labels, cfg, tmp_path / "b", progress=False)
    assert len(r1["train_accuracy"]) == 2 and r1["steps"] == 8
    _assert_identical(r1["backbone"], r2["backbone"])
    # the training checkpoint (MultiHeadClassifier under "model") also loads as a backbone
    from_ckpt = load_backbone(tmp_path / "a" / "checkpoint.pt", "small_resnet", width=4)
    saved = _weights(r1["backbone"])
    assert all(torch.equal(v, saved[k]) for k, v in from_ckpt.state_dict().items())
    r3 = pretrain(images, labels, TrainConfig(**{**TINY, "seed": 4}), tmp_path / "c", progress=False)
    assert not torch.equal(_weights(r1["backbone"])["0.weight"], _weights(r3["backbone"])["0.weight"])


@pytest.mark.parametrize("stop", [3, 4])  # mid-epoch and at an epoch boundary
def test_resume_is_bit_identical(tmp_path, stop):
    images, labels = _data()
    cfg = TrainConfig(**TINY)
    full = pretrain(images, labels, cfg, tmp_path / "full", progress=False)
    part = pretrain(images, labels, cfg, tmp_path / "split", progress=False, stop_after_steps=stop)
    assert not part["completed"] and part["steps"] == stop and part["backbone"] is None
    assert not (tmp_path / "split" / "backbone.pt").exists()
    done = pretrain(images, labels, cfg, tmp_path / "split", resume=True, progress=False)
    assert done["completed"] and done["steps"] == full["steps"]
    _assert_identical(full["backbone"], done["backbone"])
    assert _strip_timing(done["history"]) == _strip_timing(full["history"])
    # resuming a finished run is a no-op that keeps the result
    again = pretrain(images, labels, cfg, tmp_path / "split", resume=True, progress=False)
    _assert_identical(full["backbone"], again["backbone"])


def test_random_mode_saves_init_without_training(tmp_path):
    cfg = TrainConfig(**TINY)
    res = pretrain(None, None, cfg, tmp_path, progress=False)
    assert res["history"] == [] and res["steps"] == 0 and res["completed"]
    torch.manual_seed(cfg.seed)
    expected = build_backbone("small_resnet", width=4).state_dict()
    got = _weights(res["backbone"])
    assert all(torch.equal(got[k], expected[k]) for k in expected)
    assert (tmp_path / "log.jsonl").read_text() == ""


def test_rng_state_of_caller_untouched(tmp_path):
    torch.manual_seed(123)
    before = torch.get_rng_state()
    pretrain(None, None, TrainConfig(**TINY), tmp_path, progress=False)
    assert torch.equal(before, torch.get_rng_state())


def test_config_validation():
    assert TrainConfig.from_params({"epochs": 3, "lr": 1}).lr == 1.0
    with pytest.raises(ValueError, match="bogus"):
        TrainConfig.from_params({"epochs": 3, "bogus": 1})
    bad = [
        {"arch": "vgg"},
        {"epochs": 0},
        {"batch_size": 1},
        {"lr": 0},
        {"lr": float("nan")},
        {"momentum": 1.0},
        {"weight_decay": -1},
        {"width": 2.5},
        {"epochs": True},
        {"augment": "yes"},
        {"device": "tpu"},
        {"ckpt_every": -1},
        {"crop": "centre"},
        {"compile": "yes"},
        {"decay_norm_bias": 1},
    ]
    for params in bad:
        with pytest.raises(ValueError, match=next(iter(params))):
            TrainConfig.from_params(params)


def test_bad_inputs(tmp_path):
    images, labels = _data()
    cfg = TrainConfig(**TINY)
    with pytest.raises(ValueError, match="label_sets"):
        pretrain(images, [], cfg, tmp_path, progress=False)
    with pytest.raises(ValueError, match="length"):
        pretrain(images, [labels[0][:5]], cfg, tmp_path, progress=False)
    with pytest.raises(ValueError, match="uint8"):
        pretrain(images.astype(np.float32), labels, cfg, tmp_path, progress=False)
    with pytest.raises(ValueError, match="TrainConfig"):
        pretrain(images, labels, dict(TINY), tmp_path, progress=False)


def test_lr_schedule():
    lrs = [lr_at(s, 10, 2, 1.0) for s in range(10)]
    assert lrs[:2] == [0.5, 1.0] and lrs[2] == 1.0
    assert all(a >= b for a, b in itertools.pairwise(lrs[2:])) and lrs[-1] < 0.05


def test_command_line(tmp_path, capsys):
    images, labels = _data()
    args = _cli_args(tmp_path, images, labels, tmp_path / "run", width=4, epochs=1, batch_size=8, augment="false")
    main([*args, "--ckpt-every", "2"])
    summary = json.loads(capsys.readouterr().out)
    assert summary["completed"] and (tmp_path / "run" / "backbone.pt").is_file()
    assert vise_main(["train", *args, "--lr", "-1"]) == 2


def _cli_args(tmp_path, images, labels, out, **extra):
    np.save(tmp_path / "x.npy", images)
    np.save(tmp_path / "y.npy", labels[0])
    return train_args(tmp_path / "x.npy", tmp_path / "y.npy", out, no_progress=True, **extra)


@pytest.mark.slow
def test_killed_run_resumes_bit_identically(tmp_path):
    """SIGKILL a real `python -m vise_lib.pretrain` process after its first checkpoint, then --resume."""
    import os
    import signal
    import subprocess
    import sys
    import time

    images, labels = _data(n=32, size=16)
    params = {**TINY, "epochs": 60, "num_threads": 1}
    cli = {k: v for k, v in params.items() if k not in ("arch",)}
    args = _cli_args(tmp_path, images, labels, tmp_path / "killed", ckpt_every=3, **cli)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "vise_lib.pretrain", *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    ckpt = tmp_path / "killed" / "checkpoint.pt"
    try:
        deadline = time.monotonic() + 120
        while not ckpt.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        assert proc.poll() is None, f"run ended before it could be killed: {proc.communicate()[1][-2000:]}"
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert not (tmp_path / "killed" / "backbone.pt").exists()
    step = torch.load(ckpt, map_location="cpu", weights_only=True)["step"]
    assert 0 < step < 240
    cfg = TrainConfig(**params)
    done = pretrain(images, labels, cfg, tmp_path / "killed", resume=True, progress=False)
    full = pretrain(images, labels, cfg, tmp_path / "full", progress=False)
    assert done["completed"] and done["steps"] == full["steps"] == 240
    _assert_identical(full["backbone"], done["backbone"])
    assert _strip_timing(done["history"]) == _strip_timing(full["history"])


def test_crash_during_checkpoint_write_keeps_previous(tmp_path, monkeypatch):
    images, labels = _data()
    cfg = TrainConfig(**{**TINY, "ckpt_every": 2})
    pretrain(images, labels, cfg, tmp_path, progress=False, stop_after_steps=2)
    before = torch.load(tmp_path / "checkpoint.pt", map_location="cpu", weights_only=True)
    real_save = torch.save

    def half_save(obj, f, *a, **kw):  # write part of the file, then die
        real_save(obj, f, *a, **kw)
        f.truncate(100)
        raise OSError("disk vanished mid-write")

    monkeypatch.setattr(torch, "save", half_save)
    with pytest.raises(OSError, match="mid-write"):
        pretrain(images, labels, cfg, tmp_path, resume=True, progress=False)
    monkeypatch.setattr(torch, "save", real_save)
    after = torch.load(tmp_path / "checkpoint.pt", map_location="cpu", weights_only=True)
    assert after["step"] == before["step"] == 2
    assert all(torch.equal(after["model"][k], before["model"][k]) for k in before["model"])
    assert not [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    done = pretrain(images, labels, cfg, tmp_path, resume=True, progress=False)
    full = pretrain(images, labels, cfg, tmp_path / "full", progress=False)
    _assert_identical(full["backbone"], done["backbone"])


def test_prefetch_does_not_change_results(tmp_path):
    images, labels = _data()
    a = pretrain(images, labels, TrainConfig(**TINY, prefetch=0), tmp_path / "a", progress=False)
    b = pretrain(images, labels, TrainConfig(**TINY, prefetch=3), tmp_path / "b", progress=False)
    _assert_identical(a["backbone"], b["backbone"])
    assert a["rank_digests"] == b["rank_digests"] and len(a["rank_digests"]) == 1


def test_simclr_objective_trains_and_resumes(tmp_path):
    images, _ = _data(n=32, size=16)
    cfg = TrainConfig(**{**TINY, "epochs": 9}, objectives={"simclr": {"epochs": 2, "proj_dim": 8}})
    full = pretrain(images, None, cfg, tmp_path / "full", progress=False, objective="simclr")
    assert full["completed"] and full["steps"] == 8 and full["objective"] == "simclr"
    row = full["history"][-1]
    assert len(full["history"]) == 2 and 0.0 <= row["accuracy"][0] <= 1.0 and np.isfinite(row["loss"])
    assert load_backbone(full["backbone"], "small_resnet", width=4) is not None
    pretrain(images, None, cfg, tmp_path / "split", progress=False, objective="simclr", stop_after_steps=3)
    done = pretrain(images, None, cfg, tmp_path / "split", resume=True, progress=False, objective="simclr")
    _assert_identical(full["backbone"], done["backbone"])
    # other SimCLR settings: refused, naming the setting; another objective's settings do not matter
    pretrain(images, None, cfg, tmp_path / "t", progress=False, objective="simclr", stop_after_steps=3)
    hot = TrainConfig(**{**TINY, "epochs": 9}, objectives={"simclr": {"epochs": 2, "proj_dim": 8, "temperature": 0.5}})
    res = pretrain(
        images, None, hot, tmp_path / "t", resume=True, progress=False, objective="simclr", stop_after_steps=3
    )
    assert res["resume"]["step"] == 0 and "simclr.temperature 0.2 -> 0.5" in res["resume"]["messages"][0]
    labels = _data(n=32, size=16)[1]
    pretrain(images, labels, cfg, tmp_path / "c", progress=False, stop_after_steps=3)
    res = pretrain(images, labels, hot, tmp_path / "c", resume=True, progress=False, stop_after_steps=4)
    assert res["resume"]["step"] == 3 and res["steps"] == 4  # classify: SimCLR's settings are not its own
    # a classify run does not continue a simclr checkpoint: it starts fresh and keeps the old one aside
    other = pretrain(
        images, _data(n=32, size=16)[1], cfg, tmp_path / "split", resume=True, progress=False, stop_after_steps=3
    )
    assert other["resume"]["step"] == 0 and "data changed" in other["resume"]["messages"][0]
    assert len(list((tmp_path / "split").glob("checkpoint.stale-*.pt"))) >= 1


def test_objective_arguments(tmp_path):
    images, labels = _data()
    cfg = TrainConfig(**TINY)
    with pytest.raises(ValueError, match="objective"):
        pretrain(images, labels, cfg, tmp_path, objective="moco")
    with pytest.raises(ValueError, match="no label_sets"):
        pretrain(images, labels, cfg, tmp_path, objective="simclr")
    with pytest.raises(ValueError, match="needs label_sets"):
        pretrain(images, None, cfg, tmp_path, objective="classify")
    with pytest.raises(ValueError, match="numpy array"):
        pretrain(None, None, cfg, tmp_path, objective="simclr")


def test_command_line_objectives_and_errors(tmp_path, capsys):
    images, labels = _data()
    args = _cli_args(tmp_path, images, labels, tmp_path / "r", width=4, epochs=1, batch_size=8)
    no_labels = [a for i, a in enumerate(args) if a != "--labels" and args[i - 1] != "--labels"]
    main(no_labels + ["--objective", "none"])
    assert json.loads(capsys.readouterr().out)["objective"] == "none"
    main(no_labels + ["--out", str(tmp_path / "s"), "--objective", "simclr", "--setting", "simclr.proj_dim=8"])
    summary = json.loads(capsys.readouterr().out)
    assert summary["steps"] == 4 and summary["settings"]["proj_dim"] == 8
    assert vise_main(["train", *no_labels, "--objective", "simclr", "--setting", "simclr.temprature=0.5"]) == 2
    assert "unknown key 'temprature'; did you mean 'temperature'?" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(no_labels + ["--setting", "simclr.proj_dim"])  # no value: argparse's usage error
    assert "expected OBJECTIVE.KEY=VALUE" in capsys.readouterr().err
    assert vise_main(["train", *args[:1], str(tmp_path / "missing.npy"), *args[2:]]) == 2
    assert "vise train: error: images file not found:" in capsys.readouterr().err


def test_held_out_accuracy_is_logged_each_epoch_and_changes_nothing_else(tmp_path):
    images, labels = _data(n=96, size=16, classes=(3,))
    held = (images[64:], [labels[0][64:]])
    cfg = TrainConfig(**{**TINY, "width": 8, "epochs": 3})
    plain = pretrain(images[:64], [labels[0][:64]], cfg, tmp_path / "a", progress=False)
    scored = pretrain(images[:64], [labels[0][:64]], cfg, tmp_path / "b", progress=False, holdout=held)
    _assert_identical(plain["backbone"], scored["backbone"])  # scoring draws nothing, changes no weight
    accs = [row["holdout_accuracy"] for row in scored["history"]]
    assert len(accs) == 3 and all(len(a) == 1 and 0.0 <= a[0] <= 1.0 for a in accs)
    assert all(a[0] * 32 == pytest.approx(round(a[0] * 32)) for a in accs)  # a share of the 32 held-out posts
    assert "holdout_accuracy" not in plain["history"][0]
    with pytest.raises(ValueError, match="holdout needs an objective with labels"):
        pretrain(images, None, cfg, tmp_path / "c", progress=False, objective="simclr", holdout=held)
