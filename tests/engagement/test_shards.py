"""Shards written then read give the same samples; webdataset reads them; bad shards are clear errors."""

import json
import tarfile

import numpy as np
import pytest
from conftest import make_post, write_manifest
from PIL import Image

from vise_lib.engagement.reader import read_manifest
from vise_lib.engagement.shards import iter_shards, read_shards, shard_paths, write_shards


@pytest.fixture
def posts(tmp_path):
    eng, _ = read_manifest(write_manifest(tmp_path / "m.jsonl", [make_post(i, shares=i) for i in range(7)]))
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (9, 12, 12, 3), dtype=np.uint8)  # image_index 0..6 used
    return eng, images


def test_round_trip_gives_the_same_samples(tmp_path, posts):
    eng, images = posts
    index = write_shards(eng, images, tmp_path / "s", shard_size=3, image_format="png")
    assert index["n_samples"] == 7 and [s["n"] for s in index["shards"]] == [3, 3, 1]
    assert sorted(p.name for p in (tmp_path / "s").iterdir()) == [
        "shard-000000.tar",
        "shard-000001.tar",
        "shard-000002.tar",
        "shards.json",
    ]
    samples = list(iter_shards(tmp_path / "s"))
    assert [s["record"] for s in samples] == [eng.row(i) for i in range(7)]
    for i, s in enumerate(samples):
        np.testing.assert_array_equal(s["image"], images[eng.image_index[i]])  # PNG is lossless
    arr, back = read_shards(tmp_path / "s")
    np.testing.assert_array_equal(arr, images[:7])
    assert back.post_ids == eng.post_ids and back.image_index.tolist() == list(range(7))
    np.testing.assert_array_equal(back.reactions, eng.reactions)
    np.testing.assert_array_equal(back.shares, eng.shares)


def test_same_input_same_bytes_and_rank_split(tmp_path, posts):
    eng, images = posts
    write_shards(eng, images, tmp_path / "a", shard_size=3)
    write_shards(eng, images, tmp_path / "b", shard_size=3)
    for name in ("shard-000000.tar", "shard-000002.tar"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    keys = [[s["key"] for s in iter_shards(tmp_path / "a", decode=False, rank=r, world_size=2)] for r in (0, 1)]
    assert keys[0] == ["000000000", "000000001", "000000002", "000000006"]
    assert sorted(keys[0] + keys[1]) == [f"{i:09d}" for i in range(7)]
    assert len(shard_paths(str(tmp_path / "a" / "shard-*.tar"))) == 3
    # one 512-byte header a member, no pax header (a float mtime added one to every member and
    # made reading the shards 2.4x slower)
    with tarfile.open(tmp_path / "a" / "shard-000000.tar") as tar:
        members = tar.getmembers()
    assert [m.pax_headers for m in members] == [{}] * len(members) and {m.mtime for m in members} == {0}


def test_webdataset_reads_the_shards(tmp_path, posts):
    wds = pytest.importorskip("webdataset")
    eng, images = posts
    write_shards(eng, images, tmp_path / "s", shard_size=4, image_format="jpg")
    urls = [str(p) for p in shard_paths(tmp_path / "s")]
    got = list(wds.WebDataset(urls, shardshuffle=False))
    assert [s["__key__"] for s in got] == [f"{i:09d}" for i in range(7)]
    assert json.loads(got[3]["json"])["post_id"] == "p00003" and got[0]["jpg"][:2] == b"\xff\xd8"


def test_paths_are_decoded_and_bad_images_skipped_and_listed(tmp_path, posts):
    eng, _ = posts
    root = tmp_path / "root"
    root.mkdir()
    Image.new("CMYK", (20, 10), (0, 255, 0, 0)).save(root / "cmyk.jpg")
    Image.new("RGB", (8, 8), (1, 2, 3)).save(root / "ok.png")
    (root / "empty.jpg").write_bytes(b"")
    paths = ["cmyk.jpg", "ok.png", "empty.jpg", "missing.jpg", "../escape.jpg", "ok.png", "ok.png"]
    index = write_shards(eng, paths, tmp_path / "s", shard_size=10, size=8, data_root=root)
    assert index["n_samples"] == 4
    assert [p for p, _ in index["skipped"]] == ["p00002", "p00003", "p00004"]
    assert "zero-byte" in index["skipped"][0][1] and "missing" in index["skipped"][1][1]
    assert "escapes the data root" in index["skipped"][2][1]
    arr, back = read_shards(tmp_path / "s")
    assert arr.shape == (4, 8, 8, 3) and back.post_ids == ["p00000", "p00001", "p00005", "p00006"]


def test_truncated_or_missing_shard_is_a_clear_error(tmp_path, posts):
    eng, images = posts
    write_shards(eng, images, tmp_path / "s", shard_size=7)
    shard = tmp_path / "s" / "shard-000000.tar"
    data = shard.read_bytes()
    shard.write_bytes(data[: len(data) // 2 + 100])
    with pytest.raises(ValueError, match=r"shard-000000\.tar: .*truncated"):
        list(iter_shards(tmp_path / "s"))
    shard.write_bytes(data[: 512 * 8])  # cut on a block boundary: the index count catches it
    with pytest.raises(ValueError, match=r"shard-000000\.tar: .*(truncated|incomplete)"):
        list(iter_shards(tmp_path / "s"))
    shard.unlink()
    with pytest.raises(FileNotFoundError, match="shard.*missing"):
        list(iter_shards(tmp_path / "s"))
    with pytest.raises(FileNotFoundError, match="no shards found"):
        list(iter_shards(tmp_path / "none-*.tar"))


def test_jpeg_by_default_and_temp_files_cleaned_on_error_and_swept(tmp_path, posts):
    from vise_lib.engagement.shards import JPEG_QUALITY, ShardWriter, shards_to_npy

    eng, images = posts
    index = write_shards(eng, images, tmp_path / "s", shard_size=4)
    assert index["image_format"] == "jpg" and JPEG_QUALITY == 90
    smooth = np.broadcast_to(np.linspace(0, 255, 12, dtype=np.uint8)[None, :, None], (9, 12, 12, 3)).copy()
    write_shards(eng, smooth, tmp_path / "j", shard_size=4)
    back = read_shards(tmp_path / "j")[0]
    err = np.abs(back.astype(int) - smooth[:7].astype(int))
    assert err.max() > 0 and err.mean() < 3  # lossy, but close at quality 90
    stale = tmp_path / "s" / ".shard-000001.tar.tmp999999999"  # a writer that is gone
    stale.write_bytes(b"partial")
    with pytest.raises(RuntimeError, match="boom"), ShardWriter(tmp_path / "s", 3) as w:
        assert not stale.exists()  # swept when the writer starts
        w.add(images[0], {"post_id": "x"})
        raise RuntimeError("boom")
    assert not [p.name for p in (tmp_path / "s").iterdir() if ".tmp" in p.name]
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / ".images.npy.999999999.k2j4.tmp").write_bytes(b"old")  # a dead run's temp
    shards = tmp_path / "s" / "shard-000001.tar"
    shards.write_bytes(shards.read_bytes()[:1024])  # truncated: the conversion fails half way
    with pytest.raises(ValueError, match="shard-000001"):
        shards_to_npy(tmp_path / "s", tmp_path / "out" / "images.npy")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == []  # its temp removed, the stale one swept


@pytest.mark.parametrize("fmt", [tarfile.USTAR_FORMAT, tarfile.PAX_FORMAT, tarfile.GNU_FORMAT])
def test_tar_members_are_webdatasets_members(tmp_path, fmt):
    """The loader's header parser gives exactly what webdataset's tarfile-based expander gives:
    long and non-ASCII names (pax records, GNU long names, the USTAR prefix), folders, links and
    meta members skipped; and a truncated or damaged shard is an error naming it."""
    import io

    from webdataset.tariterators import tar_file_expander

    from vise_lib.engagement.shards import tar_members

    names = ["000000001.jpg", "000000001.json", "d" * 90 + "/" + "k" * 60 + ".jpg", "é" * 120 + ".json"]
    names += ["__meta__.json", "x/__hidden__/y.jpg", "000000002.png"]
    path = tmp_path / "t.tar"
    with tarfile.open(path, "w", format=fmt) as tar:
        for i, name in enumerate(names):
            if fmt == tarfile.USTAR_FORMAT and ((len(name.encode()) > 100 and "/" not in name) or not name.isascii()):
                continue  # USTAR cannot hold these
            data = bytes(range(i, i + 3)) * (100 * i + 1)
            info = tarfile.TarInfo(name)
            info.size, info.mtime = len(data), 1.5  # a float mtime: pax writes a record for it
            tar.addfile(info, io.BytesIO(data))
            if i == 2:
                tar.addfile(_member("a-folder", tarfile.DIRTYPE))
                tar.addfile(_member("a-link", tarfile.SYMTYPE, "000000001.jpg"))
    ours = [(m["fname"], m["data"]) for m in tar_members(path)]
    with open(path, "rb") as f:
        theirs = [(m["fname"], m["data"]) for m in tar_file_expander([{"url": str(path), "stream": f}]) if m]
    assert ours == theirs and len(ours) >= 4

    whole = path.read_bytes()
    with tarfile.open(path) as tar:
        cut = tar.getmembers()[-1].offset_data + 5  # inside the last member's data
    (tmp_path / "cut.tar").write_bytes(whole[:cut])
    with pytest.raises(ValueError, match=r"cut\.tar: truncated tar"):
        list(tar_members(tmp_path / "cut.tar"))
    (tmp_path / "bad.tar").write_bytes(whole[:10] + b"\x07" + whole[11:])  # a byte of the first name
    with pytest.raises(ValueError, match=r"bad\.tar: damaged tar header at byte"):
        list(tar_members(tmp_path / "bad.tar"))
    if fmt == tarfile.PAX_FORMAT:  # a pax record whose length says 0 must not loop forever
        at = whole.index(b" mtime=")
        bad = whole[: at - 2] + b"00" + whole[at:]
        (tmp_path / "pax.tar").write_bytes(bad)
        with pytest.raises(ValueError, match=r"pax\.tar: damaged pax header at byte"):
            list(tar_members(tmp_path / "pax.tar"))


def _member(name, kind, target=""):
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, target
    return info
