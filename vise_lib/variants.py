"""Pretraining variants: which labels each backbone is trained on.

All variants train on the same post images with the same augmentations; only the labels
differ. ``vise`` uses the engagement pseudo labels, ``object`` the posts' object class (the
conventional-label baseline), ``random`` is the untrained, seeded initialization.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .labels import load_labels
from .world import load_latents

VARIANTS = ("vise", "object", "random")


def training_set(variant: str, world_dir, labels_dir) -> tuple[np.ndarray, list[np.ndarray] | None]:
    """Images and label sets for one variant (``None`` label sets = no training)."""
    if variant not in VARIANTS:
        raise ValueError(f"unknown pretraining variant {variant!r}; choose from {VARIANTS}")
    world_dir = Path(world_dir)
    images = np.load(world_dir / "posts" / "images.npy", mmap_mode="r")
    pl = load_labels(labels_dir)
    idx = pl["image_index"]
    x = np.ascontiguousarray(images[idx])
    if variant == "vise":
        return x, [pl["label"]]
    if variant == "object":
        return x, [load_latents(world_dir)["object"][idx]]
    return x, None
