"""Bad images and rows through the ingest path: decoded, or a counted, listed skip."""

import io
import json

import numpy as np
import pytest
from conftest import train_args
from PIL import Image

from vise_lib.engagement.ingest import ingest, main
from vise_lib.engagement.reader import read_manifest
from vise_lib.engagement.shards import read_shards
from vise_lib.engagement.table import ManifestError
from vise_lib.run.cli import main as vise_main


def _jpeg(img):
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=90)
    return buf.getvalue()


def _png(img):
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def _gif(img):
    buf = io.BytesIO()
    img.save(buf, format="GIF")
    return buf.getvalue()


def bad_image_root(root):
    """Generated images: name -> (bytes, expected outcome: 'ok' or the skip reason)."""
    rgb = Image.fromarray(np.random.default_rng(0).integers(0, 256, (40, 60, 3), dtype=np.uint8))
    good = _jpeg(rgb)
    files = {
        "good.jpg": (good, "ok"),
        "truncated.jpg": (good[: len(good) // 2], "image: corrupt or truncated image"),
        "gif_named.jpg": (_gif(rgb.convert("P")), "ok"),
        "png_named.jpg": (_png(rgb), "ok"),
        "cmyk.jpg": (_jpeg(Image.new("CMYK", (30, 20), (10, 200, 30, 0))), "ok"),
        "palette.png": (_png(rgb.convert("P", palette=Image.ADAPTIVE, colors=16)), "ok"),
        "rgba.png": (_png(Image.new("RGBA", (16, 16), (255, 0, 0, 128))), "ok"),
        "gray16.png": (_png(Image.fromarray(np.full((12, 12), 40000, np.uint16))), "ok"),
        "zero.jpg": (b"", "image: empty"),
        "text.jpg": (b"this is not an image", "image: not a recognised image format"),
    }
    root.mkdir(parents=True, exist_ok=True)
    for name, (data, _) in files.items():
        (root / name).write_bytes(data)
    return {k: v[1] for k, v in files.items()}


def write_rows(path, rows):
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return path


def post(i, image, **kw):
    return {"post_id": f"p{i}", "image": image, "comments": ["nice"], "reactions": {"like": i + 1}, **kw}


@pytest.fixture
def messy(tmp_path):
    root = tmp_path / "root"
    outcome = bad_image_root(root)
    outcome["missing.jpg"] = "image file missing"
    outcome["../outside.jpg"] = "image path escapes the data root"
    (tmp_path / "outside.jpg").write_bytes(_png(Image.new("RGB", (4, 4))))
    rows = [post(i, name) for i, name in enumerate(outcome)]
    rows += [
        post(0, "good.jpg"),  # duplicate post id
        '{"post_id": "broken", "image": ',  # broken JSONL line
        post(90, "good.jpg", reactions={"like": float("nan")}),  # NaN count
        post(91, "good.jpg", reactions={"like": -4}),  # negative count
        post(92, "good.jpg", reactions={"like": "many"}),  # non-numeric count
        post(93, "good.jpg", comments=["", "  "]),
    ]  # empty comments: kept, counted
    return tmp_path, root, outcome, write_rows(tmp_path / "posts.jsonl", rows)


def test_every_bad_input_has_its_stated_outcome(messy):
    tmp, root, outcome, manifest = messy
    rep = ingest(manifest, tmp / "out", root, image_size=16)
    ok = [f"p{i}" for i, o in enumerate(outcome.values()) if o == "ok"] + ["p93"]
    kept = [json.loads(line) for line in (tmp / "out" / "manifest.jsonl").read_text().splitlines()]
    assert [r["post_id"] for r in kept] == ok
    assert rep["kept"] == rep["written"] == len(ok) and rep["rows"] == len(outcome) + 6
    expected = {}
    for o in outcome.values():
        if o != "ok":
            key = next(k for k in rep["skipped"] if k.startswith(o))
            expected[key] = expected.get(key, 0) + 1
    expected.update(
        {
            "duplicate post_id": 1,
            "invalid JSON": 1,
            "NaN or fractional count": 1,
            "negative count": 1,
            "non-numeric count": 1,
        }
    )
    assert rep["skipped"] == expected
    lines = {line for line, _ in rep["examples"]}
    assert {2, 9, 10, 11, 12, 13, 14, 15, 16, 17} <= lines  # truncated, zero-byte, text, missing, escape, rows
    assert any("truncated.jpg" in why for _, why in rep["examples"])
    assert rep["notes"] == {"empty comments dropped": 2}
    assert json.loads((tmp / "out" / "report.json").read_text())["skipped"] == rep["skipped"]
    _eng, again = read_manifest(tmp / "out" / "manifest.jsonl", data_root=root)
    assert again.n_kept == len(ok) and not again.skipped


def test_shards_hold_the_decoded_rgb_images(messy):
    tmp, root, _outcome, manifest = messy
    ingest(manifest, tmp / "out", root, image_size=16, shards=True, shard_size=3)
    images, eng = read_shards(tmp / "out" / "shards")
    assert images.shape == (len(eng), 16, 16, 3) and images.dtype == np.uint8
    rgba = eng.images.index("rgba.png")
    assert tuple(images[rgba, 8, 8]) == pytest.approx((255, 127, 127), abs=2)  # composited on white
    gray = eng.images.index("gray16.png")
    assert tuple(images[gray, 0, 0]) == (156, 156, 156)  # 40000 * 255 / 65535


def test_strict_stops_at_the_first_bad_image_naming_file_and_row(messy):
    tmp, root, _, manifest = messy
    with pytest.raises(ManifestError, match=r"posts\.jsonl:2: .*truncated\.jpg"):
        ingest(manifest, tmp / "out", root, strict=True)


def test_no_decode_checks_existence_only_and_csv_input(tmp_path):
    root = tmp_path / "root"
    outcome = bad_image_root(root)
    csv = tmp_path / "posts.csv"
    csv.write_text(
        "post_id,image,reaction_like\n" + "".join(f"p{i},{n},1\n" for i, n in enumerate(outcome)) + "px,missing.jpg,1\n"
    )
    rep = ingest(csv, tmp_path / "out", root, decode=False)
    assert rep["kept"] == len(outcome) and rep["skipped"] == {"image file missing": 1}
    assert rep["examples"] == [
        [len(outcome) + 2, "image file missing: " + str(root / "missing.jpg") + " does not exist or is not a file"]
    ]
    with pytest.raises(ValueError, match="shards=True needs decode=True"):
        ingest(csv, tmp_path / "out", root, decode=False, shards=True)


def test_command_line(messy, capsys):
    tmp, root, _, manifest = messy
    assert main(["--manifest", str(manifest), "--data-root", str(root), "--out", str(tmp / "cli")]) == 0
    out = capsys.readouterr().out
    assert "posts kept" in out and "skipped" in out and "duplicate post_id" in out
    assert (
        vise_main(["ingest", "--manifest", str(tmp / "nope.csv"), "--data-root", str(root), "--out", str(tmp / "x")])
        == 2
    )


@pytest.mark.slow
def test_real_data_path_end_to_end_on_cpu(tmp_path):
    """Pushshift dumps + downloaded images -> manifest -> ingest (shards) -> out-of-core labels -> pretrain."""
    import zstandard

    from vise_lib.engagement.pushshift import pushshift_to_manifest

    rng = np.random.default_rng(0)
    root, subs, coms = tmp_path / "images", [], []
    words = ["cute", "sad", "wow", "lol", "angry", "beautiful"]
    for i in range(48):
        sid, sr = f"p{i:03d}", ("pics", "aww")[i % 2]
        (root / sr).mkdir(parents=True, exist_ok=True)
        if i % 8 != 7:  # every 8th image was not downloaded
            img = Image.fromarray(rng.integers(0, 256, (24 + i % 5, 30, 3), dtype=np.uint8))
            img.save(root / sr / f"{sid}.{('jpg', 'png')[i % 3 == 0]}")
        subs.append(
            {
                "id": sid,
                "subreddit": sr,
                "url": f"https://i.redd.it/{sid}.jpg",
                "score": int(i * 3 % 17),
                "num_comments": i % 4,
                "created_utc": 1700000000 + i,
            }
        )
        coms += [{"link_id": f"t3_{sid}", "body": f"{words[i % 6]} {words[(i + k) % 6]}"} for k in range(i % 4)]
    cz = zstandard.ZstdCompressor()
    for name, rows in (("RS_x.zst", subs), ("RC_x.zst", coms)):
        (tmp_path / name).write_bytes(cz.compress("".join(json.dumps(r) + "\n" for r in rows).encode()))
    rep = pushshift_to_manifest(tmp_path / "RS_x.zst", tmp_path / "RC_x.zst", root, tmp_path / "manifest.jsonl")
    assert rep.submissions["kept"] == 42 and rep.submissions["image not downloaded"] == 6
    res = ingest(tmp_path / "manifest.jsonl", tmp_path / "ingested", root, image_size=16, shards=True, shard_size=10)
    assert res["kept"] == 42 and not res["skipped"]
    clean = tmp_path / "ingested" / "manifest.jsonl"
    # the commands of the book page: vise labels, vise shards, vise train
    assert (
        vise_main(
            [
                "labels",
                "--manifest",
                str(clean),
                "--out",
                str(tmp_path / "labels"),
                "--n-clusters",
                "4",
                "--svd-dim",
                "4",
                "--fit-posts",
                "30",
                "--kmeans-posts",
                "30",
                "--chunk-rows",
                "16",
            ]
        )
        == 0
    )
    assert (
        vise_main(
            ["shards", "--shards", str(tmp_path / "ingested" / "shards"), "--to-npy", str(tmp_path / "posts.npy")]
        )
        == 0
    )
    images = np.load(tmp_path / "posts.npy")
    labels = np.load(tmp_path / "labels" / "pseudo.npy")
    assert images.shape == (42, 16, 16, 3) and labels.shape == (42,)
    arr, eng = read_shards(tmp_path / "ingested" / "shards")  # same order as the ingested manifest
    np.testing.assert_array_equal(arr, images)
    with np.load(tmp_path / "labels" / "labels.npz") as z:
        assert z["post_id"].tolist() == eng.post_ids
    flags = {"arch": "small_resnet", "width": 4, "epochs": 1, "batch_size": 8, "device": "cpu", "num_threads": 1}
    args = train_args(tmp_path / "posts.npy", tmp_path / "labels" / "pseudo.npy", tmp_path / "pretrain", **flags)
    assert vise_main(["train", *args, "--no-progress"]) == 0
    assert (tmp_path / "pretrain" / "backbone.pt").is_file()
