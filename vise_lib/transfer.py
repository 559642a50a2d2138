"""The downstream stage: frozen features of each backbone -> linear probe on each task.

Features are extracted once per (backbone, split). Each seed fits the probe on a different
stratified 80 % subsample of the training split (validation and test are fixed), so the
spread over seeds shows how much a result depends on which training images the probe saw.
"""

from __future__ import annotations

import numpy as np
from sklearn.model_selection import train_test_split

from .evaluate import extract_features, linear_probe
from .models import load_backbone
from .world import load_downstream

SPLITS = ("train", "val", "test")


def subsample(y: np.ndarray, seed: int, frac: float = 0.8) -> np.ndarray:
    """Indices of a stratified ``frac`` subsample of ``y`` (deterministic in ``seed``)."""
    idx = np.arange(len(y))
    keep, _ = train_test_split(idx, train_size=frac, stratify=y, random_state=seed)
    return np.sort(keep)


def backbone_features(path, arch: str, world_dir, width: int = 32, blocks: int = 1) -> dict[str, np.ndarray]:
    """Pooled features of the world's downstream splits under one frozen backbone."""
    backbone = load_backbone(path, arch, width=width, blocks=blocks)
    return {s: extract_features(backbone, load_downstream(world_dir, s)["images"]) for s in SPLITS}


def run_transfer(world_dir, backbones: dict[str, str], arch: str, tasks: list[str], seeds: list[int],
                 width: int = 32, blocks: int = 1) -> dict:
    """Linear-probe every backbone on every task for every seed; returns ``{"runs": [...]}``."""
    if not backbones:
        raise ValueError("no backbones to evaluate")
    splits = {s: load_downstream(world_dir, s) for s in SPLITS}
    for t in tasks:
        if t not in splits["train"]:
            raise ValueError(f"unknown task {t!r}; the world has {sorted(k for k in splits['train'] if k != 'images')}")
    runs = []
    for name, path in backbones.items():
        feats = backbone_features(path, arch, world_dir, width=width, blocks=blocks)
        for task in tasks:
            y = {s: splits[s][task] for s in SPLITS}
            for seed in seeds:
                keep = subsample(y["train"], seed)
                res = linear_probe((feats["train"][keep], y["train"][keep]), (feats["val"], y["val"]),
                                   (feats["test"], y["test"]), seed=seed)
                runs.append({"backbone": name, "task": task, "seed": seed, **res})
    return {"runs": runs, "tasks": tasks, "seeds": seeds, "backbones": list(backbones)}
