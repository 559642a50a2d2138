"""Issue 13 item 5 and issue 14's split/skip rules: nothing outside the dataset folder, bounded reads,
splits after decoding, small classes dropped and reported, missing vs undecodable told apart."""

import json
import os

import numpy as np
import pytest
from PIL import Image

from vise_lib.engagement.images import MAX_IMAGE_BYTES, ImageError, read_bounded
from vise_lib.transfer.datasets import guess_format, load_dataset
from vise_lib.transfer.datasets.base import read_text_bounded
from vise_lib.transfer.decode import decode_dataset


def _img(path, seed=0, fmt="PNG"):
    path.parent.mkdir(parents=True, exist_ok=True)
    arr = np.random.default_rng(seed).integers(0, 256, (12, 12, 3), dtype=np.uint8)
    Image.fromarray(arr).save(path, format=fmt)
    return path


@pytest.fixture
def outside(tmp_path):
    return _img(tmp_path / "outside" / "secret.png", seed=99)


def test_csv_rows_escaping_the_folder_are_counted_skips(tmp_path, outside):
    d = tmp_path / "ds"
    for i in range(6):
        _img(d / f"{i}.jpg", seed=i, fmt=["GIF", "PNG"][i % 2])  # GIF / PNG named .jpg
    (d / "link.png").symlink_to(outside)
    rows = [f"{i}.jpg,{'ab'[i % 2]}" for i in range(6)]
    rows += [f"{outside},a", "../outside/secret.png,a", "link.png,b", "/dev/zero,a", "gone.png,b"]
    (d / "data.csv").write_text("\ufeffpath,label\n" + "\n".join(rows) + "\n")  # with an Excel BOM
    ds = load_dataset(d / "data.csv", "csv")
    assert ds.paths == [f"{i}.jpg" for i in range(6)]
    reasons = dict(ds.skipped)
    for row in ("data.csv:8", "data.csv:9", "data.csv:10", "data.csv:11"):
        assert reasons[row].startswith("image path escapes the data root"), row
    assert reasons["data.csv:12"].startswith("image file missing")
    assert "4 image path escapes the data root" in ds.summary() and "1 image file missing" in ds.summary()


def test_politics_and_intentonomy_are_contained(tmp_path, outside):
    d = tmp_path / "pol"
    for i in range(4):
        _img(d / f"{i}.png", seed=i)
    (d / "list.txt").write_text(
        "\n".join([f"{i}.png {'left' if i % 2 else 'right'}" for i in range(4)] + ["../outside/secret.png left"])
    )
    ds = load_dataset(d, "politics")
    assert len(ds) == 4 and ds.skipped[0][1].startswith("image path escapes")
    it = tmp_path / "int"
    _img(it / "images" / "a.png")
    ann = {
        "categories": [{"id": 0, "name": "x"}, {"id": 1, "name": "y"}],
        "images": [{"id": 1, "filename": "a.png"}, {"id": 2, "filename": "../../outside/secret.png"}],
        "annotations": [{"id": 1, "image_id": 1, "category_ids": [0]}, {"id": 2, "image_id": 2, "category_ids": [1]}],
    }
    (it / "intentonomy_val2020.json").write_text(json.dumps(ann))
    ds = load_dataset(it, "intentonomy")
    assert ds.paths == ["a.png"] and ds.skipped[0][1].startswith("image path escapes")


def test_imagefolder_symlinks_out_and_devices_are_skipped(tmp_path, outside):
    d = tmp_path / "folder"
    for c in ("a", "b"):
        for i in range(3):
            _img(d / c / f"{i}.png", seed=i)
    (d / "a" / "evil.png").symlink_to(outside)
    (d / "b" / "zero.png").symlink_to("/dev/zero")
    (d / "b" / "linked_dir").symlink_to(outside.parent, target_is_directory=True)
    os.mkfifo(d / "a" / "pipe.png")
    ds = load_dataset(d, "imagefolder")
    assert sorted(ds.paths) == [f"{c}/{i}.png" for c in "ab" for i in range(3)]
    reasons = dict(ds.skipped)
    assert reasons["a/evil.png"].startswith("image path escapes")
    assert reasons["b/zero.png"].startswith("image path escapes")
    assert reasons["b/linked_dir/"] == "symlinked folder, not followed"
    assert reasons["a/pipe.png"].startswith("not a regular file")


def test_reads_are_bounded(tmp_path):
    with pytest.raises(ImageError, match="not a regular file"):
        read_bounded("/dev/zero")
    big = tmp_path / "big.png"
    big.write_bytes(b"\0" * 2048)
    with pytest.raises(ImageError, match="too large"):
        read_bounded(big, limit=1024)
    assert len(read_bounded(big)) == 2048 and MAX_IMAGE_BYTES >= 1 << 20
    with pytest.raises(ValueError, match="not a regular file"):
        read_text_bounded("/dev/zero")
    with pytest.raises(ValueError, match="larger than 10 bytes"):
        read_text_bounded(big, limit=10)


def test_splits_after_decoding_and_small_classes_dropped(tmp_path):
    d = tmp_path / "ds"
    for i in range(30):
        _img(d / "good" / f"{i}.png", seed=i)
        _img(d / "fine" / f"{i}.png", seed=100 + i)
    for i in range(10):
        (d / "good" / f"bad{i}.jpg").write_bytes(b"not an image")  # 10 undecodable in one class
    _img(d / "lonely" / "0.png")  # a class with one image
    ds = load_dataset(d)
    (d / "fine" / "29.png").unlink()  # vanished between listing and decoding
    dec = decode_dataset(ds, 8)
    assert dec.dataset.classes == ["fine", "good"] and dec.dropped_classes == [("lonely", 1)]
    n = {s: len(dec.index(s)) for s in ("train", "val", "test")}
    assert n == {"train": 35, "val": 12, "test": 12}  # 60/20/20 of the 29 + 30 usable images
    cats = [r.split(":")[0] for _, r in dec.decode_skipped]
    assert cats.count("undecodable image") == 10 and cats.count("image file missing") == 1
    assert cats.count("class too small") == 1
    assert "1 class too small" in dec.summary() and "dropped classes ['lonely']" in dec.summary()
    assert dec.images.shape == (59, 8, 8, 3) and set(dec.dataset.labels.tolist()) == {0, 1}
    with pytest.raises(ValueError, match=r"fewer than 2 classes.*'good': 30"):
        decode_dataset(ds, 8, min_per_class=31)


def test_guess_format(tmp_path):
    _img(tmp_path / "e6" / "images" / "joy" / "1.png")
    (tmp_path / "e6" / "ground_truth.txt").write_text("")
    assert guess_format(tmp_path / "e6") == "emotion6"
    (tmp_path / "x.csv").write_text("path,label\n")
    assert guess_format(tmp_path / "x.csv") == "csv"
    _img(tmp_path / "f" / "cat" / "1.png")
    assert guess_format(tmp_path / "f") == "imagefolder"
    (tmp_path / "i" / "annotations").mkdir(parents=True)
    (tmp_path / "i" / "annotations" / "intentonomy_val2020.json").write_text("{}")
    assert guess_format(tmp_path / "i") == "intentonomy"
