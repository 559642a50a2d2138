import numpy as np
import pytest
import torch

from vise_lib.backbones.archs import build_backbone
from vise_lib.backbones.checkpoint import save_backbone
from vise_lib.transfer.finetune import finetune
from vise_lib.transfer.runner import Task, resolve_backbones, run_transfer


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny convolutions on shared cores: one intra-op thread is several times faster."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def _data(n, px=12, seed=0, multilabel=False):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 3
    img = rng.integers(0, 100, (n, px, px, 3))
    img[np.arange(n), :, :, y] += 150
    if multilabel:
        Y = np.zeros((n, 3), np.int64)
        Y[np.arange(n), y] = 1
        return img.astype(np.uint8), Y
    return img.astype(np.uint8), y.astype(np.int64)


def test_finetune_learns_and_is_deterministic():
    def go():
        torch.manual_seed(123)  # the backbone's init; finetune seeds the rest
        return finetune(
            build_backbone("small_resnet", width=4),
            _data(60),
            _data(24, seed=1),
            _data(30, seed=2),
            n_classes=3,
            epochs=4,
            lr=0.05,
            batch_size=16,
            seed=0,
        )

    a, b = go(), go()
    assert a["test"] == b["test"] and a["history"] == b["history"]
    assert a["best_C"] is None and len(a["history"]) == 4
    assert a["test"]["top1"] > 0.6 and len(a["test"]["confusion"]) == 3
    assert a["history"][-1]["loss"] < a["history"][0]["loss"]


def test_finetune_multilabel_and_bad_input():
    torch.manual_seed(0)
    res = finetune(
        build_backbone("small_resnet", width=4),
        _data(45, multilabel=True),
        _data(18, seed=1, multilabel=True),
        _data(18, seed=2, multilabel=True),
        n_classes=3,
        multilabel=True,
        epochs=2,
        batch_size=16,
    )
    assert {"mAP", "macro_f1", "micro_f1"} <= set(res["test"]) and len(res["thresholds"]) == 3
    with pytest.raises(ValueError, match="epochs"):
        finetune(build_backbone("small_resnet", width=4), _data(9), _data(9), _data(9), 3, epochs=0)
    x, y = _data(9)
    with pytest.raises(ValueError, match="train"):
        finetune(build_backbone("small_resnet", width=4), (x, y[:5]), _data(9), _data(9), 3)


def test_run_transfer_with_both_protocols(tmp_path):
    torch.manual_seed(0)
    ck = save_backbone(build_backbone("small_resnet", width=4), tmp_path / "bb.pt")
    task = Task("colour", {"train": _data(40), "val": _data(15, seed=1), "test": _data(15, seed=2)}, ["r", "g", "b"])
    specs = resolve_backbones({"bb": ck}, arch="small_resnet", width=4)
    res = run_transfer([task], specs, [0, 1], protocol="linear+finetune", finetune_epochs=1)
    assert res["protocols"] == ["linear", "finetune"]
    assert [r["protocol"] for r in res["runs"]] == ["linear", "linear", "finetune", "finetune"]
    assert all(r["best_C"] is None for r in res["runs"][2:])
    # the checkpoint on disk is never modified by fine-tuning
    again = run_transfer([task], specs, [0], protocol="finetune", finetune_epochs=1)
    assert again["runs"][0]["test"] == res["runs"][2]["test"]
