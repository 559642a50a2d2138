"""Shared fixtures."""

from __future__ import annotations

import json
import socket
import sys
from pathlib import Path

import pytest

from vise_lib.engagement.reader import read_manifest

REPO = Path(__file__).resolve().parent.parent


def write_tiny_world(tmp_path: Path, n: int = 20, px: int = 8, label_sets: dict | None = None, index=None):
    """A world folder (``images.npy``, ``latents.npz``) and a labels folder (``labels.npz``) for the
    variants' tests: ``n`` random images of ``px`` pixels; labels ``index % 7`` (``index``: every
    post but the first, unless given) plus ``label_sets`` (name -> modulus)."""
    import numpy as np

    world, labels = tmp_path / "world", tmp_path / "labels"
    (world / "posts").mkdir(parents=True)
    labels.mkdir()
    rng = np.random.default_rng(0)
    np.save(world / "posts" / "images.npy", rng.integers(0, 256, (n, px, px, 3), dtype=np.uint8))
    np.savez(
        world / "posts" / "latents.npz",
        object=np.arange(n) % 5,
        affect=np.arange(n) % 3,
        stance=np.arange(n) % 2,
        poster=np.arange(n) % 4,
        popularity=np.ones(n),
    )
    idx = np.arange(1, n) if index is None else index
    sets = {"label": idx % 7, **{k: idx % m for k, m in (label_sets or {}).items()}}
    np.savez(labels / "labels.npz", image_index=idx, **sets)
    return world, labels


def write_manifest(path: Path, rows: list) -> Path:
    """Write rows (dicts, or raw strings for broken lines) as a JSONL manifest."""
    with open(path, "w", encoding="utf-8") as f:
        for r in rows:
            f.write((r if isinstance(r, str) else json.dumps(r, ensure_ascii=False)) + "\n")
    return path


def make_post(i: int, comments=None, reactions=None, shares=0) -> dict:
    return {
        "post_id": f"p{i:05d}",
        "image_index": i,
        "comments": ["lol", "so cute"] if comments is None else comments,
        "reactions": {"like": 3, "haha": 1} if reactions is None else reactions,
        "shares": shares,
        "timestamp": 1600000000 + i,
    }


@pytest.fixture
def manifest_of(tmp_path):
    """Factory: rows -> (Engagement, ReadReport)."""

    def _make(rows, **kw):
        return read_manifest(write_manifest(tmp_path / "manifest.jsonl", rows), **kw)

    return _make


def _class_image(rng, k: int, n_classes: int, px: int):
    """A px × px RGB uint8 image whose hue (and a stripe) follow class ``k``, plus noise."""
    import numpy as np

    hue = np.array([np.cos(2 * np.pi * k / n_classes), np.sin(2 * np.pi * k / n_classes), (k % 2) - 0.5])
    base = 128 + 30 * hue
    img = base[None, None, :] + rng.normal(0, 70, (px, px, 3))
    img[:, (k * px) // n_classes : (k * px) // n_classes + 3] = 255
    return np.clip(img, 0, 255).astype(np.uint8)


def write_real_datasets(root: Path, px: int = 24) -> dict:
    """Tiny datasets in real published layouts, with a learnable class signal and the usual faults.

    * ``objects/``: ImageFolder, 3 classes × 12 (PNG / JPEG mixed), a corrupt ``.jpg``, a hidden file;
    * ``sentiment/labels.csv``: CSV ``path,label`` (24 ``pos`` / 8 ``neg``: imbalanced), GIF and PNG
      files named ``.jpg``, one row naming a missing file, one ``..`` row, one class with 2 images;
    * ``emotion6/``: ``images/<emotion>/<n>.jpg`` (6 × 8) and ``ground_truth.txt``;
    * ``intentonomy/``: ``annotations/intentonomy_{train,val,test}2020.json`` + ``images/`` (4 classes).
    """
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(0)
    out = {}
    d = root / "objects"
    for k, c in enumerate(("circle", "square", "star")):
        (d / c).mkdir(parents=True, exist_ok=True)
        for i in range(12):
            Image.fromarray(_class_image(rng, k, 3, px)).save(d / c / f"{i}.{'png' if i % 2 else 'jpg'}")
    (d / "star" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated")
    (d / "circle" / ".DS_Store").write_bytes(b"junk")
    out["objects"] = d
    d = root / "sentiment"
    (d / "img").mkdir(parents=True, exist_ok=True)
    rows = ["path,label"]
    for i in range(34):
        label, k = ("pos", 0) if i < 24 else ("neg", 1) if i < 32 else ("meh", 2)
        fmt = "GIF" if i % 3 == 0 else "PNG"
        Image.fromarray(_class_image(rng, k, 3, px)).save(d / "img" / f"{i}.jpg", format=fmt)
        rows.append(f"img/{i}.jpg,{label}")
    rows += ["img/missing.jpg,pos", "../objects/circle/0.png,neg"]
    (d / "labels.csv").write_text("\n".join(rows) + "\n")
    out["sentiment"] = d / "labels.csv"
    emotions = ("anger", "disgust", "fear", "joy", "sadness", "surprise")
    d = root / "emotion6"
    lines = [
        "[image_filename]\t[valence]\t[arousal]\t[prob. anger]\t[prob. disgust]\t[prob. fear]\t"
        "[prob. joy]\t[prob. sadness]\t[prob. surprise]\t[prob. neutral]"
    ]
    for k, e in enumerate(emotions):
        (d / "images" / e).mkdir(parents=True, exist_ok=True)
        for i in range(8):
            Image.fromarray(_class_image(rng, k, 6, px)).save(d / "images" / e / f"{i}.jpg", quality=95)
            votes = np.full(7, 0.3 / 6)
            votes[k] += 0.7
            valence, arousal = 2 + k + rng.normal(0, 0.3), 5 - 0.5 * k + rng.normal(0, 0.3)
            lines.append(f"{e}/{i}.jpg\t{valence:.2f}\t{arousal:.2f}\t" + "\t".join(f"{v:.3f}" for v in votes))
    (d / "ground_truth.txt").write_text("\n".join(lines) + "\n")
    out["emotion6"] = d
    d = root / "intentonomy"
    (d / "annotations").mkdir(parents=True, exist_ok=True)
    (d / "images").mkdir(parents=True, exist_ok=True)
    cats = [{"id": k, "name": f"intent{k}"} for k in range(4)]
    for s, n in (("train", 24), ("val", 10), ("test", 10)):
        images, anns = [], []
        for i in range(n):
            k = i % 4
            Image.fromarray(_class_image(rng, k, 4, px)).save(d / "images" / f"{s}{i}.jpg")
            images.append({"id": f"{s}{i}", "filename": f"{s}{i}.jpg"})
            ids = [k, (k + 1) % 4] if i % 3 == 0 else [k]
            ann = {"id": i, "image_id": f"{s}{i}"}
            if s == "train":
                ann["category_ids_softprob"] = [1.0 if c in ids else 0.0 for c in range(4)]
            else:
                ann["category_ids"] = ids
            anns.append(ann)
        (d / "annotations" / f"intentonomy_{s}2020.json").write_text(
            json.dumps({"categories": cats, "images": images, "annotations": anns})
        )
    out["intentonomy"] = d
    return out


def write_fake_trunks(root: Path, official: bool = True) -> dict:
    """A fake released VisE trunk (official ResNet-50 keys, no metadata; skipped with ``official=False``)
    and a fake torchvision hub cache (``root/torch_home``, set ``TORCH_HOME`` to it) holding a
    ResNet-18 ``IMAGENET1K_V1`` file."""
    import torch
    import torchvision
    from torch import nn

    torch.manual_seed(0)
    root.mkdir(parents=True, exist_ok=True)
    if official:
        trunk = nn.Sequential(*list(torchvision.models.resnet50(weights=None).children())[:-2])
        torch.save(dict(trunk.state_dict()), root / "resnet50_vise_250m.pth")
    url = torchvision.models.get_model_weights("resnet18")["IMAGENET1K_V1"].url
    cache = root / "torch_home" / "hub" / "checkpoints"
    cache.mkdir(parents=True, exist_ok=True)
    torch.save(torchvision.models.resnet18(weights=None).state_dict(), cache / url.rsplit("/", 1)[1])
    return {"vise": root / "resnet50_vise_250m.pth", "torch_home": root / "torch_home"}


def torchrun_pretrain(nproc: int = 2) -> list[str]:
    """The command prefix that runs ``vise train`` under torchrun on a free loopback port."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    torchrun = Path(sys.executable).with_name("torchrun")
    return [
        str(torchrun),
        f"--nproc_per_node={nproc}",
        f"--master_port={port}",
        "--master_addr=127.0.0.1",
        "-m",
        "vise_lib.pretrain",
    ]


def train_args(images, labels, out, **flags) -> list[str]:
    """``vise train`` arguments: the image and label files, the output folder, then one
    ``--flag value`` per keyword (``num_threads=1`` -> ``--num-threads 1``; ``True`` -> a bare flag)."""
    args = ["--images", str(images), "--labels", str(labels), "--out", str(out)]
    for k, v in flags.items():
        flag = "--" + k.replace("_", "-")
        args += [flag] if v is True else [flag, str(v)]
    return args


# The stage runners' run folder (tests/stages): a tiny world and its pseudo labels, made once.
TINY_WORLD = {"n_posts": 160, "image_px": 16, "n_train": 40, "n_val": 20, "n_test": 40}
TINY_LABELS = {"n_clusters": 4, "svd_dim": 8, "extra_signals": ["reactions"]}


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory):
    """``(run_dir, WorldResult, LabelsResult)``: ``run_world`` and ``run_labels`` on a tiny world
    (:data:`TINY_WORLD`, :data:`TINY_LABELS`). Tests may add stages to the folder, not change it."""
    from vise_lib.stages.labels import run_labels
    from vise_lib.stages.world import run_world

    run = tmp_path_factory.mktemp("tiny_run")
    world = run_world(TINY_WORLD, run, echo=lambda *_: None)
    labels = run_labels(TINY_LABELS, run, echo=lambda *_: None)
    return run, world, labels


#: A tiny world for the study's stages after pretraining (a few seconds end to end).
STUDY_WORLD = {"seed": 0, "n_posts": 300, "image_px": 24, "n_train": 60, "n_val": 30, "n_test": 60}


def write_study_run(run: Path, variants=("vise", "shuffled"), seeds=(0,)) -> Path:
    """A run folder as the stages before the downstream one leave it, in seconds: a tiny world
    (``world/``), its pseudo labels (``labels/``: labels.npz and results.json) and
    ``pretrain/results.json`` naming one untrained ``small_resnet`` (width 8) checkpoint per
    variant and seed (``<variant>@<seed>``), with a one-epoch training config."""
    import dataclasses

    import torch

    from vise_lib.backbones.archs import build_backbone
    from vise_lib.backbones.checkpoint import save_backbone
    from vise_lib.io import write_check, write_json
    from vise_lib.pretrain.config import TrainConfig
    from vise_lib.stages.labels import run_labels
    from vise_lib.world.generate import WorldConfig, generate_world

    generate_world(WorldConfig.from_params(STUDY_WORLD), run / "world")
    write_check(run / "world" / "world.json", "00_world")
    labels = {"signal": "both", "n_clusters": 4, "svd_dim": 8, "seed": 0, "backend": "sklearn", "encoder": "tfidf"}
    run_labels(labels, run, echo=lambda *_: None)
    cfg = TrainConfig(width=8, epochs=1, batch_size=64, num_threads=1)
    runs = {}
    for seed in seeds:
        for v in variants:
            torch.manual_seed(seed)
            path = save_backbone(
                build_backbone(cfg.arch, cfg.width, cfg.blocks), run / "pretrain" / v / f"seed{seed}.pt"
            )
            runs[f"{v}@{seed}"] = {"variant": v, "seed": seed, "backbone": str(path), "seconds": 0.0, "history": []}
    write_json(
        run / "pretrain" / "results.json",
        {"order": list(runs), "variants": runs, "config": dataclasses.asdict(cfg), "stage": {}, "seconds": 0.0},
        stage="02_pretrain",
    )
    return run
