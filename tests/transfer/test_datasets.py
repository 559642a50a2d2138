import csv
import json

import numpy as np
import pytest
from PIL import Image

from vise_lib.transfer.datasets import EMOTION6, FI, UNBIASEDEMO, load_dataset
from vise_lib.transfer.decode import decode_dataset
from vise_lib.transfer.splits import assign_splits, complete_splits


def decode_splits(ds, size):
    dec = decode_dataset(ds, size, min_per_class=1)
    return dec.splits(), dec.decode_skipped


def _img(path, seed=0, fmt=None, size=(10, 8), mode="RGB"):
    path.parent.mkdir(parents=True, exist_ok=True)
    arr = np.random.default_rng(seed).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    Image.fromarray(arr).convert(mode).save(path, format=fmt or "PNG")
    return path


def test_imagefolder_flat_with_mixed_formats_and_bad_files(tmp_path):
    for c in ("cat", "dog"):
        for i in range(6):
            _img(tmp_path / c / f"{i}.jpg", seed=i, fmt=["PNG", "JPEG", "GIF"][i % 3])  # content != extension
    _img(tmp_path / "dog" / "sub" / "deep.png", mode="P")
    (tmp_path / "cat" / "broken.jpg").write_bytes(b"not an image")
    (tmp_path / "cat" / ".DS_Store").write_bytes(b"junk")
    ds = load_dataset(tmp_path, "imagefolder")
    assert ds.classes == ["cat", "dog"] and ds.split is None and not ds.multilabel
    assert len(ds) == 14 and (ds.labels == 0).sum() == 7
    assert "dog/sub/deep.png" in ds.paths
    assert ds.skipped == [("cat/.DS_Store", "hidden file, not read")]
    splits, skipped = decode_splits(ds, size=8)
    assert [p for p, _ in skipped] == ["cat/broken.jpg"]
    assert sum(len(x) for x, _ in splits.values()) == 13
    assert all(x.shape[1:] == (8, 8, 3) and x.dtype == np.uint8 for x, _ in splits.values())
    assert "13" not in ds.summary() and "14 images" in ds.summary()


def test_imagefolder_with_split_folders(tmp_path):
    for s, n in (("train", 4), ("val", 2), ("test", 2)):
        for c in ("a", "b", "c"):
            if s == "val" and c == "c":
                continue  # a class missing from one split keeps its global index
            for i in range(n):
                _img(tmp_path / s / c / f"{i}.png", seed=i)
    ds = load_dataset(tmp_path)
    assert ds.classes == ["a", "b", "c"]
    assert sorted(set(ds.split)) == ["test", "train", "val"]
    assert set(ds.labels[ds.split == "val"]) == {0, 1}
    assert set(ds.labels[ds.split == "test"]) == {0, 1, 2}
    assert all(p.startswith(s + "/") for p, s in zip(ds.paths, ds.split))


def test_emotion6_folders_and_ground_truth(tmp_path):
    for k, e in enumerate(EMOTION6):
        for i in range(1, 4):
            _img(tmp_path / "images" / e / f"{i}.jpg", seed=k * 10 + i, fmt="JPEG")
    lines = ["[image_filename]\t[valence]\t[arousal]\t[prob. anger]\t[prob. disgust]\t[prob. fear]\t"
             "[prob. joy]\t[prob. sadness]\t[prob. surprise]\t[prob. neutral]"]
    for e in EMOTION6:
        for i in range(1, 4):
            if (e, i) == ("fear", 3):
                continue  # no row: reported, NaN
            lines.append(f"{e}/{i}.jpg\t{4.5}\t{i}.0\t0.1\t0.1\t0.2\t0.2\t0.1\t0.2\t0.1")
    lines.append("joy/99.jpg\t1\t1\t0\t0\t0\t0\t0\t0\t1")  # names no image
    lines.append("joy/1.jpg\t1\t1\t0")  # too few numbers
    (tmp_path / "ground_truth.txt").write_text("\n".join(lines) + "\n")
    ds = load_dataset(tmp_path, "emotion6")
    assert ds.classes == list(EMOTION6) and len(ds) == 18
    assert ds.root == tmp_path / "images"
    i = ds.paths.index("joy/2.jpg")
    assert ds.labels[i] == EMOTION6.index("joy")
    assert ds.extra["valence"][i] == 4.5 and ds.extra["arousal"][i] == 2.0
    assert ds.extra["votes"].shape == (18, 7) and ds.extra["votes"][i, 3] == pytest.approx(0.2)
    j = ds.paths.index("fear/3.jpg")
    assert np.isnan(ds.extra["valence"][j])
    reasons = dict(ds.skipped)
    assert "fear/3.jpg" in reasons and "names no image" in reasons["ground_truth.txt:19"]
    assert "9 numbers" in reasons["ground_truth.txt:20"]


def test_fi_needs_its_eight_folders(tmp_path):
    for k, e in enumerate(FI):
        _img(tmp_path / e.capitalize() / f"{e}_0001.jpg", seed=k)  # case-insensitive folder names
    _img(tmp_path / "misc" / "x.png")
    ds = load_dataset(tmp_path, "fi")
    assert ds.classes == list(FI) and len(ds) == 8 and ds.labels.tolist() == list(range(8))
    assert ("misc/", "folder is not a fi class") in ds.skipped
    (tmp_path / "Awe" / "awe_0001.jpg").unlink()
    (tmp_path / "Awe").rmdir()
    with pytest.raises(ValueError, match="missing class folders.*awe"):
        load_dataset(tmp_path, "fi")


def test_unbiasedemo_nested_object_folders(tmp_path):
    for k, e in enumerate(UNBIASEDEMO):
        for obj in ("dog", "tiger"):
            _img(tmp_path / "images" / e / obj / "1.jpg", seed=k)
    ds = load_dataset(tmp_path, "unbiasedemo")
    assert len(ds) == 12 and ds.classes == list(UNBIASEDEMO)
    assert sorted(set(ds.extra["object"])) == ["dog", "tiger"]


def test_intentonomy_multilabel_json(tmp_path):
    cats = [{"id": k, "name": f"intent{k}"} for k in range(4)]
    (tmp_path / "annotations").mkdir()
    for s, n in (("train", 6), ("val", 3), ("test", 3)):
        images, anns = [], []
        for i in range(n):
            iid = f"{s}{i}"
            images.append({"id": iid, "filename": f"low/{iid}.jpg", "original_id": iid, "unsplash_url": ""})
            _img(tmp_path / "images" / "low" / f"{iid}.jpg", seed=i)
            a = {"id": i, "image_id": iid}
            if s == "train":
                a["category_ids_softprob"] = [0.0, 1 / 3, 0.0, 1.0] if i % 2 else [2 / 3, 0.0, 0.0, 0.0]
            else:
                a["category_ids"] = [i % 4, 3]
            anns.append(a)
        anns.append({"id": 99, "image_id": "ghost", "category_ids": [1]})
        anns.append({"id": 98, "image_id": images[0]["id"], "category_ids": [7]})
        (tmp_path / "annotations" / f"intentonomy_{s}2020.json").write_text(
            json.dumps({"info": {}, "categories": cats, "images": images, "annotations": anns}))
    ds = load_dataset(tmp_path, "intentonomy")
    assert ds.multilabel and ds.labels.shape == (12, 4) and ds.classes[3] == "intent3"
    assert ds.labels[0].tolist() == [1, 0, 0, 0] and ds.labels[1].tolist() == [0, 1, 0, 1]
    assert (ds.split == "val").sum() == 3
    assert len(ds.skipped) == 6 and any("ghost" in r for _, r in ds.skipped)
    assert any("unknown category ids [7]" in r for _, r in ds.skipped)
    splits, skipped = decode_splits(ds, size=8)
    assert splits["train"][1].shape == (6, 4) and not skipped
    (tmp_path / "annotations" / "intentonomy_val2020.json").write_text("{broken")
    with pytest.raises(ValueError, match="intentonomy_val2020.json"):
        load_dataset(tmp_path, "intentonomy")


def test_politics_list(tmp_path):
    for i in range(8):
        _img(tmp_path / "imgs" / f"{i}.jpg", seed=i, fmt="JPEG")
    rows = [f"imgs/{i}.jpg {'left' if i % 2 else 'Right'}" for i in range(8)]
    rows += ["imgs/8.jpg centre", "just-one-field", "# a comment", ""]
    (tmp_path / "list.txt").write_text("\n".join(rows))
    ds = load_dataset(tmp_path, "politics")
    assert ds.classes == ["left", "right"] and len(ds) == 8 and ds.labels[:2].tolist() == [1, 0]
    assert [w for w, _ in ds.skipped] == ["list.txt:10", "list.txt:9"]


def test_csv_with_and_without_split(tmp_path):
    for i in range(9):
        _img(tmp_path / f"{i}.png", seed=i)
    with open(tmp_path / "data.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["path", "label", "split"])
        for i in range(9):
            w.writerow([f"{i}.png", "ab"[i % 2], ("train", "val", "test")[i % 3]])
        w.writerow(["", "a", "train"])
        w.writerow(["x.png", "a", "holdout"])
    ds = load_dataset(tmp_path / "data.csv", "csv")
    assert ds.classes == ["a", "b"] and len(ds) == 9 and ds.split.tolist()[:3] == ["train", "val", "test"]
    assert [w for w, _ in ds.skipped] == ["data.csv:11", "data.csv:12"]
    (tmp_path / "plain.csv").write_text("path,label\n" + "".join(f"{i}.png,{'ab'[i % 2]}\n" for i in range(9)))
    assert load_dataset(tmp_path / "plain.csv", "csv").split is None
    (tmp_path / "bad.csv").write_text("file,class\n0.png,a\n")
    with pytest.raises(ValueError, match="path,label"):
        load_dataset(tmp_path / "bad.csv", "csv")
    with pytest.raises(ValueError, match="dataset format"):
        load_dataset(tmp_path, "coco")
    with pytest.raises(FileNotFoundError):
        load_dataset(tmp_path / "nope", "imagefolder")


def test_assign_splits_deterministic_and_stratified():
    y = np.repeat(np.arange(3), [50, 30, 20])
    a, b = assign_splits(y, seed=0), assign_splits(y, seed=0)
    assert (a == b).all() and not (a == assign_splits(y, seed=1)).all()
    for c, n in ((0, 50), (1, 30), (2, 20)):
        counts = {s: int(((y == c) & (a == s)).sum()) for s in ("train", "val", "test")}
        assert counts == {"train": round(0.6 * n), "val": round(0.2 * n), "test": n - round(0.6 * n) - round(0.2 * n)}
    Y = (np.random.default_rng(0).random((40, 3)) < 0.4).astype(int)
    assert set(assign_splits(Y)) <= {"train", "val", "test"}


def test_complete_splits_carves_val_from_train(tmp_path):
    for s in ("train", "test"):
        for c in ("a", "b"):
            for i in range(10):
                _img(tmp_path / s / c / f"{i}.png", seed=i)
    ds = load_dataset(tmp_path)
    sp = complete_splits(ds.labels, ds.split)
    assert (sp == "val").sum() == 4 and (sp == "test").sum() == 20
    assert (complete_splits(ds.labels, ds.split) == sp).all()


def test_train_val_folders_get_a_test_split_from_train(tmp_path):
    for s, n in (("train", 10), ("val", 3)):
        for c in ("a", "b"):
            for i in range(n):
                _img(tmp_path / s / c / f"{i}.png", seed=i)
    ds = load_dataset(tmp_path)
    assert ds.classes == ["a", "b"] and set(ds.split) == {"train", "val"}
    sp = complete_splits(ds.labels, ds.split)
    assert (sp == "test").sum() == 4 and (sp == "val").sum() == 6 and (sp == "train").sum() == 16
