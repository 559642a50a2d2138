"""Issue 28, bad case 1: a checkpoint identifies the images it trains on by content, so other
pixels of the same count and shape start fresh (and say why) instead of resuming."""

import os

import numpy as np
import pytest

from vise_lib.io import array_digest, file_digest, tree_digest
from vise_lib.pretrain.config import TrainConfig
from vise_lib.pretrain.loop import pretrain
from vise_lib.pretrain.resume import mismatch
from vise_lib.pretrain.sources import ArraySource

TINY = {"arch": "small_resnet", "width": 4, "epochs": 1, "batch_size": 8, "lr": 0.05, "warmup_epochs": 0.5, "seed": 3}


@pytest.fixture(autouse=True)
def _own_digest_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("VISE_DIGEST_CACHE", str(tmp_path / "digests"))


def _images(seed, n=32, size=16):
    return np.random.default_rng(seed).integers(0, 256, (n, size, size, 3), dtype=np.uint8)


def test_array_digest_is_the_same_in_memory_and_memory_mapped_and_changes_with_one_pixel(tmp_path):
    a = _images(0)
    np.save(tmp_path / "a.npy", a)
    mm = np.load(tmp_path / "a.npy", mmap_mode="r")
    assert array_digest(a) == array_digest(mm) == array_digest(np.load(tmp_path / "a.npy", mmap_mode="r"))
    b = a.copy()
    b[5, 3, 3, 1] ^= 1
    assert array_digest(b) != array_digest(a)
    assert array_digest(mm[1:]) == array_digest(a[1:]) != array_digest(a)  # a slice is not the whole file


def test_a_rewritten_npy_is_hashed_again_even_with_its_old_mtime(tmp_path):
    path = tmp_path / "a.npy"
    np.save(path, _images(0))
    first = array_digest(np.load(path, mmap_mode="r"))
    st = path.stat()
    np.save(path, _images(1))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))  # same size, same mtime, other pixels
    assert array_digest(np.load(path, mmap_mode="r")) != first
    assert file_digest(path) != first


def test_tree_digest_follows_content_not_mtime(tmp_path):
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "x.bin").write_bytes(b"abc")
    one = tree_digest(tmp_path / "d")
    os.utime(tmp_path / "d" / "x.bin", (1, 1))
    assert tree_digest(tmp_path / "d") == one  # touched, same bytes
    (tmp_path / "d" / "x.bin").write_bytes(b"abd")
    assert tree_digest(tmp_path / "d") != one


def test_mismatch_names_the_changed_pixels():
    ident = {"lr": 0.1}
    data = {"objective": "simclr", "stream": {"images_sha256": "a"}}
    ck = {"format": 3, "cfg": ident, "data": data}
    from vise_lib.pretrain.resume import CKPT_FORMAT

    ck["format"] = CKPT_FORMAT
    why = mismatch(ck, ident, {**data, "stream": {"images_sha256": "b"}})
    assert why is not None and "stream.images_sha256" in why and "other images" in why
    assert mismatch(ck, ident, data) is None


def test_resume_on_other_pixels_of_the_same_shape_starts_fresh_and_says_why(tmp_path, capsys):
    """The fault: `vise train --images A.npy ... --out s`, then B.npy (same shape) with --resume
    printed "resuming ... step 12 of 12" and kept A's backbone."""
    for name, seed in (("a", 0), ("b", 1)):
        np.save(tmp_path / f"{name}.npy", _images(seed))
    a, b = (np.load(tmp_path / f"{n}.npy", mmap_mode="r") for n in "ab")
    cfg = TrainConfig(**TINY)
    pretrain(a, None, cfg, tmp_path / "s", progress=False, stop_after_steps=2, objective="simclr")
    capsys.readouterr()
    done = pretrain(b, None, cfg, tmp_path / "s", resume=True, progress=False, objective="simclr", stop_after_steps=2)
    out = capsys.readouterr().out
    assert "data changed: stream.images_sha256" in out and "starting fresh from step 0" in out
    assert done["resume"]["step"] == 0
    capsys.readouterr()
    again = pretrain(
        ArraySource(np.array(b)), None, cfg, tmp_path / "s", resume=True, progress=False, objective="simclr"
    )
    assert again["resume"]["step"] == 2  # the same pixels, now in memory: resumes
