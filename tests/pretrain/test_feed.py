"""The GPU-feeding data path, checked on the CPU: uint8 batches from the sources, normalized by
the loop on the device, give exactly the normalized batches the float path gave; batches from
worker processes equal those from the thread; the optimizer's groups; RandomResizedCrop."""

import numpy as np
import pytest
import torch

from vise_lib.backbones.archs import MultiHeadClassifier, build_backbone
from vise_lib.backbones.tensors import as_nchw, augment, normalized
from vise_lib.pretrain.config import TrainConfig
from vise_lib.pretrain.feed import on_device
from vise_lib.pretrain.loop import param_groups
from vise_lib.pretrain.objectives import OBJECTIVES
from vise_lib.pretrain.sources import ArraySource, default_workers


def _images(n=24, size=16, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (n, size, size, 3), dtype=np.uint8)


@pytest.mark.parametrize("cfg", [TrainConfig(pad=4), TrainConfig(pad=2, seed=5), TrainConfig(augment=False)])
def test_uint8_batch_finished_on_the_device_equals_the_float_path(cfg):
    images, obj = _images(), OBJECTIVES["classify"]
    x = obj.prepare(images, torch.Generator().manual_seed(11), cfg)
    assert x.dtype == torch.uint8 and x.is_contiguous(memory_format=torch.channels_last)  # NHWC bytes
    # what the worker sent before: the float32 batch, normalized there (same generator draws)
    raw = as_nchw(images)
    before = normalized(augment(raw, torch.Generator().manual_seed(11), pad=cfg.pad) if cfg.augment else raw)
    after = obj.finish(x, cfg)
    assert after.dtype == torch.float32 and after.is_contiguous(memory_format=torch.channels_last)
    assert torch.equal(after, before)  # bit for bit: the CPU study's batches do not move


def test_on_device_on_cpu_lays_out_normalizes_and_closes_the_source():
    cfg, obj = TrainConfig(), OBJECTIVES["classify"]
    src = ArraySource(_images(), [np.arange(24)])
    closed = []

    def batches():
        try:
            yield from src.batches(0, 0, 3, 8, cfg, "classify")
        finally:
            closed.append(True)

    for fmt in (torch.channels_last, torch.contiguous_format):
        got = list(
            on_device(src.batches(0, 0, 3, 8, cfg, "classify"), torch.device("cpu"), fmt, lambda x: obj.finish(x, cfg))
        )
        want = list(src.batches(0, 0, 3, 8, cfg, "classify"))
        assert len(got) == 3
        for (x, ys), (wx, wys) in zip(got, want, strict=True):
            assert x.dtype == torch.float32 and x.is_contiguous(memory_format=fmt)
            assert torch.equal(x, normalized(wx)) and torch.equal(ys[0], wys[0])
    feed = on_device(batches(), torch.device("cpu"), torch.channels_last, lambda x: obj.finish(x, cfg))
    next(feed)
    feed.close()  # the loop stopping mid-epoch: the source's generator is closed too
    assert closed == [True]


def test_simclr_views_stay_float_and_pass_through_finish():
    cfg, obj = TrainConfig(), OBJECTIVES["simclr"]
    x = obj.prepare(_images(8), torch.Generator().manual_seed(0), cfg)
    assert x.dtype == torch.float32 and x.shape == (16, 3, 16, 16) and obj.finish(x, cfg) is x


@pytest.mark.parametrize("objective", ["classify", "simclr"])
def test_array_source_worker_processes_give_the_thread_batches(objective):
    images, labels = _images(40), [np.arange(40), np.arange(40) % 3]
    cfg = TrainConfig(seed=2, prefetch=1)
    thread = list(ArraySource(images, labels).batches(1, 1, 5, 8, cfg, objective, rank=0, world=1))
    procs = list(ArraySource(images, labels, workers=2).batches(1, 1, 5, 8, cfg, objective, rank=0, world=1))
    assert len(procs) == len(thread) == 4
    for (x, ys), (wx, wys) in zip(procs, thread, strict=True):
        assert x.dtype == wx.dtype and torch.equal(x, wx)
        assert all(torch.equal(a, b) for a, b in zip(ys, wys, strict=True))
    with pytest.raises(ValueError, match="workers"):
        ArraySource(images, labels, workers=-1)


def test_default_workers_are_the_cores_per_rank_less_one(monkeypatch):
    monkeypatch.setattr("os.sched_getaffinity", lambda _pid: set(range(16)))
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "1")
    assert default_workers() == 15  # one H100 with 16 cores: no cap at 8 any more
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "4")
    assert default_workers() == 3
    monkeypatch.setattr("os.sched_getaffinity", lambda _pid: {0, 1})
    assert default_workers() == 1  # never 0


def test_resized_crop_is_an_option_of_its_own():
    images, obj = _images(16, 32), OBJECTIVES["classify"]
    rrc = TrainConfig(crop="resized")
    a = obj.prepare(images, torch.Generator().manual_seed(1), rrc)
    b = obj.prepare(images, torch.Generator().manual_seed(1), rrc)
    pad = obj.prepare(images, torch.Generator().manual_seed(1), TrainConfig())
    assert a.dtype == torch.uint8 and a.shape == (16, 3, 32, 32) and torch.equal(a, b)
    assert not torch.equal(a, pad)
    assert set(np.unique(a.numpy())) <= set(np.unique(images))  # nearest-neighbour: only the images' values
    assert TrainConfig().crop == "pad"  # the CPU study keeps pad-and-crop


def test_param_groups_exempt_batchnorm_and_biases_only_when_asked():
    model = MultiHeadClassifier(build_backbone("small_resnet", width=4), [3, 5])
    names = {id(p): n for n, p in model.named_parameters()}
    (one,) = param_groups(model, TrainConfig(weight_decay=1e-4))
    assert one["weight_decay"] == 1e-4 and len(one["params"]) == len(list(model.parameters()))  # today's default
    decay, plain = param_groups(model, TrainConfig(weight_decay=1e-4, decay_norm_bias=False))
    assert decay["weight_decay"] == 1e-4 and plain["weight_decay"] == 0.0
    decayed = {names[id(p)] for p in decay["params"]}
    exempt = {names[id(p)] for p in plain["params"]}
    assert decayed | exempt == set(names.values()) and not decayed & exempt
    bn = {n for n, m in model.named_modules() if isinstance(m, torch.nn.BatchNorm2d)}
    assert bn and all(f"{m}.weight" in exempt and f"{m}.bias" in exempt for m in bn)
    assert all(n.endswith("bias") or n.rsplit(".", 1)[0] in bn for n in exempt)
    assert any(n.startswith("heads") and n.endswith("weight") for n in decayed)  # head weights decay
    assert all(p.ndim > 1 for p in decay["params"])
    opt = torch.optim.SGD(param_groups(model, TrainConfig(decay_norm_bias=False)), lr=0.1, momentum=0.9)
    assert [g["weight_decay"] for g in opt.param_groups] == [5e-4, 0.0]


def test_pretrain_on_worker_processes_trains_the_weights_of_the_in_process_path(tmp_path):
    from vise_lib.pretrain.loop import pretrain

    images, labels = _images(32), [np.random.default_rng(1).integers(0, 4, 32)]
    cfg = TrainConfig(width=4, epochs=2, batch_size=8, device="cpu", num_threads=1, seed=3)
    a = pretrain(images, labels, cfg, tmp_path / "a", progress=False)
    src = ArraySource(images, labels, workers=2)
    b = pretrain(src, src.label_sets, cfg, tmp_path / "b", progress=False)
    assert a["rank_digests"] == b["rank_digests"] and a["steps"] == b["steps"] == 8


def test_the_images_path_of_the_command_line_takes_worker_processes(tmp_path, capsys):
    from conftest import train_args

    from vise_lib.pretrain.cli import main

    np.save(tmp_path / "x.npy", _images(32))
    np.save(tmp_path / "y.npy", np.random.default_rng(1).integers(0, 4, 32))
    flags = {"width": 4, "epochs": 1, "batch_size": 8, "device": "cpu", "num_threads": 1, "no_progress": True}
    runs = [
        main([*train_args(tmp_path / "x.npy", tmp_path / "y.npy", tmp_path / f"w{w}", **flags), "--workers", str(w)])
        for w in (0, 2)
    ]
    capsys.readouterr()
    assert runs[0]["completed"] and runs[0]["rank_digests"] == runs[1]["rank_digests"]
