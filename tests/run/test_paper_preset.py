"""A `paper`-preset dry run on CPU: real on-disk layouts (image files, a CSV manifest, an
ImageFolder downstream dataset), tiny sizes, every stage of the real-data path, the book."""

import json

import numpy as np
import pytest
import torch
import yaml
from conftest import REPO
from PIL import Image

from vise_lib.run.pipeline import run
from vise_lib.run.presets import load_preset
from vise_lib.world.generate import AFFECTS, WorldConfig, generate_world, load_downstream

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def real_layout(tmp_path_factory):
    root = tmp_path_factory.mktemp("real")
    world = generate_world(WorldConfig(n_posts=240, n_train=60, n_val=30, n_test=60), root / "world")
    images = np.load(world / "posts" / "images.npy")
    rows = [json.loads(line) for line in open(world / "posts" / "manifest.jsonl", encoding="utf-8")]
    data_root = root / "posts"
    (data_root / "pics").mkdir(parents=True)
    lines = [
        "post_id,image,comments,reaction_like,reaction_love,reaction_haha,reaction_wow,reaction_sad,reaction_angry,shares"
    ]
    for r in rows:
        ext = "jpg" if r["image_index"] % 2 else "png"
        Image.fromarray(images[r["image_index"]]).save(data_root / "pics" / f"{r['post_id']}.{ext}")
        counts = ",".join(str(r["reactions"][k]) for k in ("like", "love", "haha", "wow", "sad", "angry"))
        comments = json.dumps(r["comments"], ensure_ascii=False).replace('"', '""')
        lines.append(f'{r["post_id"]},pics/{r["post_id"]}.{ext},"{comments}",{counts},{r["shares"]}')
    lines.append('evil,../outside.jpg,"[]",1,0,0,0,0,0,0')  # escapes the data root: rejected
    (data_root / "manifest.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    emotion = root / "emotion"
    for split in ("train", "val", "test"):
        d = load_downstream(world, split)
        for i, (img, y) in enumerate(zip(d["images"], d["emotion"], strict=False)):
            folder = emotion / split / AFFECTS[y]
            folder.mkdir(parents=True, exist_ok=True)
            Image.fromarray(img).save(folder / f"{i}.png")
    preset = yaml.safe_load((REPO / "configs" / "paper.yml").read_text())
    preset["ingest"].update(
        manifest=str(data_root / "manifest.csv"),
        data_root=str(data_root),
        image_size=32,
        shard_size=100,
        chunk_rows=100,
    )
    preset["labels"].update(n_clusters=8, svd_dim=16)
    preset["pretrain"]["train"].update(arch="small_resnet", width=8, epochs=1, batch_size=64)
    preset["downstream"].update(dataset=str(emotion), dataset_format="imagefolder", image_size=32, seeds=[0])
    path = root / "paper_dry.yml"
    path.write_text(yaml.safe_dump(preset))
    return root, path


def test_shipped_paper_preset_loads():
    cfg = load_preset("paper")
    assert cfg["stages"][0] == "10_ingest" and "00_world" not in cfg["stages"]


def test_paper_preset_dry_run(real_layout):
    root, preset = real_layout
    results = run(str(preset), root=REPO, out_root=root / "out", echo=lambda *_: None, strict=True)
    assert [r.status for r in results] == ["ran"] * 5 + ["built"]
    run_dir = root / "out" / "runs" / "paper_dry"
    ingest = json.loads((run_dir / "ingest" / "results.json").read_text())
    assert ingest["n_posts"] == 240
    assert sum(ingest["ingest"]["skipped"].values()) == 1  # the path escaping the data root
    labels = json.loads((run_dir / "labels" / "results.json").read_text())
    assert labels["schedule"]["engine"] == "dask" and labels["n_posts"] == 240  # no hand step: out of core, on Dask
    assert (run_dir / "labels" / "fit" / "fit.json").exists() and len(labels["sizes"]) == 8
    ck = torch.load(run_dir / "pretrain" / "vise" / "seed0" / "checkpoint.pt", map_location="cpu", weights_only=True)
    assert ck["data"]["stream"]["source"] == "shards"  # trained straight from the ingested shards
    assert ck["data"]["n_images"] == 240 and ck["data_position"]["batch"] == 0  # completed epochs
    down = json.loads((run_dir / "downstream" / "results.json").read_text())
    assert {r["backbone"] for r in down["runs"]} == {"vise@0"} and len(down["runs"]) == 1  # backbone@pretrain seed
    html = root / "out" / "_build" / "paper_dry" / "_build" / "html"
    assert (html / "book" / "_generated" / "10_ingest.html").exists()
    assert (html / "book" / "_generated" / "scaling.html").exists()  # the "Scaling to the paper" page
    assert not (html / "book" / "_generated" / "00_world.html").exists()
