import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from vise_lib.backbones.archs import build_backbone
from vise_lib.backbones.checkpoint import save_backbone
from vise_lib.transfer.runner import (
    Task,
    dataset_task,
    resolve_backbones,
    run_transfer,
    world_tasks,
)
from vise_lib.transfer.splits import stratified_subsample

REPO = Path(__file__).resolve().parents[2]


def _colour_task(n_per=(40, 16, 24), px=16, seed=0, name="colour"):
    """Three classes that differ by their dominant colour channel, plus noise."""
    rng = np.random.default_rng(seed)
    splits = {}
    for s, n in zip(("train", "val", "test"), n_per, strict=False):
        y = np.arange(n) % 3
        img = rng.integers(0, 120, (n, px, px, 3))
        img[np.arange(n), :, :, y] += 120
        splits[s] = (img.astype(np.uint8), y.astype(np.int64))
    return Task(name, splits, ["r", "g", "b"])


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory):
    torch.manual_seed(0)
    return save_backbone(build_backbone("small_resnet", width=4), tmp_path_factory.mktemp("ck") / "bb.pt")


def test_subsample_stratified_and_deterministic():
    y = np.repeat([0, 1, 2], [50, 30, 20])
    a = stratified_subsample(y, 0)
    assert (a == stratified_subsample(y, 0)).all() and not (a == stratified_subsample(y, 1)).all()
    assert np.bincount(y[a]).tolist() == [40, 24, 16]
    Y = (np.random.default_rng(0).random((50, 3)) < 0.5).astype(int)
    assert len(stratified_subsample(Y, 0)) == 40


@pytest.mark.parametrize("seed", [0, 1, 2, 7])
def test_subsample_draws_are_the_ones_the_study_numbers_rest_on(seed):
    """The one subsample draws exactly what the world study's probe drew before
    (scikit-learn's stratified shuffle split, sorted): the same seeds give the same numbers."""
    from sklearn.model_selection import train_test_split

    rng = np.random.default_rng(seed)
    cases = [
        rng.integers(0, 6, 300),  # a world task's training split (smoke: 300 images, 6 classes)
        np.arange(300) % 2,
        rng.integers(0, 16, 1200),
        (rng.random((80, 5)) < 0.3).astype(int),  # multi-label
    ]
    for y in cases:
        strat = y if y.ndim == 1 else None
        before = np.sort(train_test_split(np.arange(len(y)), train_size=0.8, stratify=strat, random_state=seed)[0])
        np.testing.assert_array_equal(stratified_subsample(y, seed), before)


def test_subsample_keeps_tiny_classes():
    """Where scikit-learn cannot stratify (a class with one image, too few images for every class
    on both sides), each class keeps round(80 %) of its images, at least one: the real-data
    study's rule for small datasets, draw for draw."""
    for y in (np.repeat([0, 1, 2], [10, 3, 1]), np.repeat(np.arange(10), 3)):
        for seed in (0, 1):
            rng = np.random.default_rng(seed)
            before = [
                rng.permutation(np.flatnonzero(y == c))[: max(1, round(0.8 * (y == c).sum()))] for c in np.unique(y)
            ]
            np.testing.assert_array_equal(stratified_subsample(y, seed), np.sort(np.concatenate(before)))
    assert np.bincount(
        np.repeat([0, 1, 2], [10, 3, 1])[stratified_subsample(np.repeat([0, 1, 2], [10, 3, 1]), 0)]
    ).tolist() == [8, 2, 1]
    with pytest.raises(ValueError, match="frac"):
        stratified_subsample(np.arange(10) % 2, 0, frac=1.0)


def test_resolve_backbones(ckpt):
    specs = resolve_backbones({"a": ckpt, "b": {"path": ckpt, "arch": "small_resnet"}}, arch="small_resnet", width=4)
    assert specs["a"] == {"path": str(ckpt.resolve()), "arch": "small_resnet", "width": 4, "blocks": 1}
    assert specs["b"] == specs["a"]
    with pytest.raises(ValueError, match="describes itself"):  # an explicit arch the file contradicts
        resolve_backbones({"b": {"path": ckpt, "arch": "resnet18"}})
    with pytest.raises(FileNotFoundError, match="nope.pt"):
        resolve_backbones({"x": "nope.pt"}, arch="resnet50")
    with pytest.raises(ValueError, match="arch"):
        resolve_backbones({"x": {"path": ckpt, "arch": "vgg"}})
    with pytest.raises(ValueError, match="no backbones"):
        resolve_backbones({})


def test_run_transfer_linear_schema_cache_and_seeds(ckpt, tmp_path):
    tasks = [_colour_task(), _colour_task(name="again")]  # same images: features extracted once
    specs = resolve_backbones({"bb": ckpt}, arch="small_resnet", width=4)
    res = run_transfer(tasks, specs, [0, 1, 2], cache_dir=tmp_path / "features")
    assert res["tasks"] == ["colour", "again"] and res["seeds"] == [0, 1, 2] and res["backbones"] == ["bb"]
    assert res["chance"] == {"colour": pytest.approx(1 / 3), "again": pytest.approx(1 / 3)}
    assert res["cache"] == {"hits": 3, "misses": 3, "invalid": 0}
    assert len(res["runs"]) == 6 and all(r["protocol"] == "linear" for r in res["runs"])
    r = res["runs"][0]
    assert {"backbone", "task", "seed", "best_C", "test", "val_acc"} <= set(r)
    assert {"top1", "mean_per_class_acc", "macro_f1", "confusion"} <= set(r["test"])
    assert r["test"]["top1"] > 0.6  # colour is linearly readable even from a random trunk
    again = run_transfer(tasks, specs, [0, 1, 2], cache_dir=tmp_path / "features")
    assert again["cache"]["misses"] == 0
    assert [x["test"] for x in again["runs"]] == [x["test"] for x in res["runs"]]
    assert all(np.isfinite(x["test"]["top1"]) for x in res["runs"])
    with pytest.raises(ValueError, match="protocol"):
        run_transfer(tasks, specs, [0], protocol="knn")


def test_world_tasks(tmp_path):
    rng = np.random.default_rng(0)
    (tmp_path / "downstream").mkdir()
    for s in ("train", "val", "test"):
        np.savez(
            tmp_path / "downstream" / f"{s}.npz",
            images=rng.integers(0, 255, (12, 8, 8, 3), dtype=np.uint8),
            emotion=np.arange(12) % 6,
            stance=np.arange(12) % 2,
            object=np.arange(12) % 6,
        )
    ts = world_tasks(tmp_path, ["emotion", "stance"])
    assert [t.name for t in ts] == ["emotion", "stance"] and ts[1].classes == ["left", "right"]
    assert ts[0].splits["train"][0] is ts[1].splits["train"][0]
    with pytest.raises(ValueError, match="unknown task"):
        world_tasks(tmp_path, ["politics"])


def write_imagefolder(root: Path, n_per_class=20, px=40, seed=0):
    """3 colour classes of real PNG/JPEG files, with a few awkward ones."""
    rng = np.random.default_rng(seed)
    for k, c in enumerate(("red", "green", "blue")):
        (root / c).mkdir(parents=True)
        for i in range(n_per_class):
            arr = rng.integers(0, 110, (px, px + 8 * (i % 3), 3))
            arr[..., k] += 140
            img = Image.fromarray(arr.astype(np.uint8))
            if i % 5 == 1:
                img = img.convert("P")  # palette PNG named .jpg
                img.save(root / c / f"{i}.jpg", format="PNG")
            elif i % 5 == 2:
                img.convert("RGBA").save(root / c / f"{i}.png")
            else:
                img.save(root / c / f"{i}.jpg", format="JPEG", quality=90)
    (root / "red" / "corrupt.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated")
    return root


def test_dataset_task_from_imagefolder(tmp_path):
    task, _ds, skipped = dataset_task(write_imagefolder(tmp_path / "data", n_per_class=10, px=24), image_size=16)
    assert task.classes == ["blue", "green", "red"] and not task.multilabel
    assert [p for p, _ in skipped] == ["red/corrupt.jpg"]
    assert sum(len(x) for x, _ in task.splits.values()) == 30
    assert task.splits["train"][0].shape[1:] == (16, 16, 3)


@pytest.mark.slow
def test_notebook_runs_on_a_real_imagefolder(tmp_path):
    """The 03 notebook, unmodified, on PNG/JPEG files and a resnet18 checkpoint in the official layout."""
    import papermill as pm

    from vise_lib.run.pipeline import ensure_kernel

    data = write_imagefolder(tmp_path / "data")
    torch.manual_seed(0)
    ck = save_backbone(build_backbone("resnet18"), tmp_path / "resnet18_vise_layout.pt")
    run = tmp_path / "run"
    pm.execute_notebook(
        str(REPO / "notebooks" / "03_downstream.ipynb"),
        str(tmp_path / "out.ipynb"),
        parameters={
            "run_dir": str(run),
            "preset": "test",
            "config": {
                "dataset": str(data),
                "dataset_format": "imagefolder",
                "image_size": 32,
                "seeds": [0, 1, 2],
                "backbones": {"r18": {"path": str(ck), "arch": "resnet18"}},
            },
        },
        kernel_name=ensure_kernel(),
        cwd=str(tmp_path),
        progress_bar=False,
        log_output=False,
    )
    res = json.loads((run / "downstream" / "results.json").read_text())
    assert res["backbones"] == ["r18"] and res["tasks"] == ["data"] and len(res["runs"]) == 3  # named after the folder
    assert res["data"]["skipped"] == [["red/corrupt.jpg", res["data"]["skipped"][0][1]]]
    assert sum(res["data"]["n_images"].values()) == 60
    assert len(list((run / "features").glob("*.npy"))) == 3
