"""Pretraining variants: which supervision each backbone is trained with.

All variants train the same network on the same post images. The classification variants
share one crop-and-flip augmentation; ``simclr`` draws two views per image with random
resized crops, flips and colour distortion (its objective needs them). The supervision:

=============== =========================================================================
``vise``        the engagement pseudo labels (``labels.npz`` key ``label``, the primary signal)
``vise_multi``  one head per engagement pseudo-label set (every ``label_*`` key: e.g.
                ``label_both``, ``label_comments``, ``label_reactions``), loss averaged
``comments``    pseudo labels from comments only (``label_comments``)
``reactions``   pseudo labels from reactions only (``label_reactions``)
``object``      the posts' object class: the conventional-label baseline
``simclr``      no labels: the self-supervised SimCLR baseline (two colour-distorted views)
``random``      no training: the seeded initialization (a floor); the pretrain stage
                recomputes its BatchNorm statistics on the post images
                (:mod:`vise_lib.pretrain.batchnorm`)
``shuffled``    the ``vise`` pseudo labels permuted across images (same K, same histogram,
                no relation to the image): the null control for the engagement signal
``oracle``      the posts' true affect (hidden in the world, unavailable on real data):
                a ceiling for what affect supervision on these images can give
=============== =========================================================================
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from vise_lib.labels.pseudo_labels import load_labels
from vise_lib.pretrain.streaming import ShardSource
from vise_lib.world.generate import load_latents

VARIANTS = ("vise", "vise_multi", "comments", "reactions", "object", "simclr", "random", "shuffled", "oracle")
_SINGLE_KEY = {"vise": "label", "comments": "label_comments", "reactions": "label_reactions"}
_RERUN = "rerun the 01_engagement_to_labels stage (its labels.npz predates the engagement-only label sets)"


@dataclass
class TrainingSet:
    """What one variant trains on: the images, its label sets and the training objective.

    ``objective`` is ``"classify"`` (one head per entry of ``label_sets``), ``"simclr"`` or
    ``"none"`` (``label_sets`` is None for both); ``sources`` names where each label set came
    from (``labels.npz:label``, ``latents.npz:object``, ...). ``images`` is a uint8 array, or a
    :class:`ShardSource` when the run streams its ingested shards (see :func:`shard_folder`).
    """

    variant: str
    images: np.ndarray | ShardSource
    label_sets: list[np.ndarray] | None
    objective: str
    sources: list[str] = field(default_factory=list)
    holdout: tuple[np.ndarray, list[np.ndarray]] | None = None  # (images, label_sets) not trained on

    @property
    def num_classes(self) -> list[int]:
        """Number of classes of each label set (empty without labels)."""
        return [int(y.max()) + 1 for y in self.label_sets or []]


def label_arrays(labels_dir) -> dict[str, np.ndarray]:
    """Every array of ``labels_dir/labels.npz``: ``image_index``, ``label`` and any ``label_*`` sets."""
    out = dict(load_labels(labels_dir))  # raises a clear FileNotFoundError when the stage has not run
    with np.load(Path(labels_dir) / "labels.npz") as z:
        out.update({k: z[k] for k in z.files if k.startswith("label_") and k not in out})
    return out


def _check_index(idx: np.ndarray, n_images: int, labels_path: Path) -> np.ndarray:
    idx = np.asarray(idx)
    if idx.ndim != 1 or not np.issubdtype(idx.dtype, np.integer):
        raise ValueError(f"{labels_path}: image_index must be a 1-D int array, got {idx.dtype} {idx.shape}")
    bad = np.flatnonzero((idx < 0) | (idx >= n_images))
    if len(bad):
        raise ValueError(
            f"{labels_path}: image_index row {bad[0]} is {idx[bad[0]]}, outside the {n_images} "
            f"post images ({len(bad)} such rows)"
        )
    return idx


def shuffled_labels(labels: np.ndarray, seed: int) -> np.ndarray:
    """``labels`` permuted across images (seeded): the same histogram, no link to any image."""
    return np.random.default_rng(np.random.SeedSequence([int(seed), 7919])).permutation(np.asarray(labels))


def shard_folder(world_dir) -> Path | None:
    """The run's ingested shards (``<run>/ingest/shards``, written by the 10_ingest stage for real
    posts), or None (the generated world, which only has ``images.npy``).

    Real posts are pretrained from these shards, streamed (:mod:`vise_lib.pretrain.streaming`):
    at 224 px an in-memory ``images.npy`` costs ~150 KB a post, which the paper's post counts
    cannot afford; the world's small images stay on the array path."""
    folder = Path(world_dir).parent / "ingest" / "shards"
    return folder if (folder / "shards.json").is_file() else None


def _streamed(variant: str, shards: Path, labels_dir) -> TrainingSet:
    labels_path = Path(labels_dir) / "labels.npz"
    pl = label_arrays(labels_dir)
    if "post_id" not in pl:
        raise ValueError(f"{labels_path}: no post_id: rerun the 01_engagement_to_labels stage to stream the shards")
    if variant == "object":
        raise ValueError("variant 'object' needs the world's object latents; real posts have none")
    if variant in ("oracle", "shuffled"):
        raise ValueError(
            f"variant {variant!r} is a world-study control; real posts are streamed for vise, "
            "vise_multi, comments, reactions, simclr and random"
        )
    keys = (
        sorted(k for k in pl if k.startswith("label_"))
        if variant == "vise_multi"
        else [_SINGLE_KEY.get(variant, "label")]
    )
    missing = [k for k in keys if k not in pl] if keys else ["label_*"]
    if missing:
        raise ValueError(f"{labels_path}: variant {variant!r} needs {missing} (present: {sorted(pl)}); {_RERUN}")
    src = ShardSource(shards, [pl[k] for k in keys], pl["post_id"])  # only labelled posts, for every variant
    if variant in ("simclr", "random"):
        return TrainingSet(variant, src, None, "simclr" if variant == "simclr" else "none")
    return TrainingSet(variant, src, src.label_sets, "classify", [f"labels.npz:{k}" for k in keys])


#: The seed of the held-out split: one split for every variant and pretraining seed.
HOLDOUT_SEED = 104729


def holdout_split(n: int, fraction: float) -> tuple[np.ndarray, np.ndarray]:
    """``(train, held_out)`` row positions of ``n`` posts, ``fraction`` of them held out (seeded,
    the same for every variant and pretraining seed; both sorted)."""
    if not 0.0 <= fraction < 1.0:
        raise ValueError(f"holdout fraction must be in [0, 1), got {fraction}")
    k = round(fraction * n)
    perm = np.random.default_rng(HOLDOUT_SEED).permutation(n)
    return np.sort(perm[k:]), np.sort(perm[:k])


def with_holdout(ts: TrainingSet, fraction: float) -> TrainingSet:
    """``ts`` with ``fraction`` of its posts set aside as :attr:`TrainingSet.holdout` (every
    variant trains on the same remaining posts; a variant without labels keeps none)."""
    if fraction <= 0:
        return ts
    if not isinstance(ts.images, np.ndarray):
        raise ValueError("a held-out split needs in-memory images (images.npy); streamed shards have none")
    keep, out = holdout_split(len(ts.images), fraction)
    sets = ts.label_sets
    return TrainingSet(
        ts.variant,
        np.ascontiguousarray(ts.images[keep]),
        None if sets is None else [y[keep] for y in sets],
        ts.objective,
        ts.sources,
        None if sets is None else (np.ascontiguousarray(ts.images[out]), [y[out] for y in sets]),
    )


def training_set(variant: str, world_dir, labels_dir, seed: int = 0, holdout: float = 0.0) -> TrainingSet:
    """:func:`all_posts_set` with ``holdout`` of the posts set aside (:func:`with_holdout`)."""
    return with_holdout(all_posts_set(variant, world_dir, labels_dir, seed), holdout)


def all_posts_set(variant: str, world_dir, labels_dir, seed: int = 0) -> TrainingSet:
    """Images and supervision for one variant (see the module docstring for the variants).

    ``seed`` only matters for ``shuffled`` (which permutation). Images are the posts that have
    pseudo labels (``labels.npz``'s ``image_index``), in that order, for every variant, so all
    variants see the same images. A run with ingested shards (real posts, :func:`shard_folder`)
    streams them instead, joined with the labels by post id.

    Raises:
        ValueError: unknown variant; a missing label set (the message names the key and the
            stage to rerun); an ``image_index`` row outside the post images.
        FileNotFoundError: the world's or the labels stage's files are missing.
    """
    if variant not in VARIANTS:
        raise ValueError(f"unknown pretraining variant {variant!r}; choose from {VARIANTS}")
    if (shards := shard_folder(world_dir)) is not None:
        return _streamed(variant, shards, labels_dir)
    world_dir, labels_path = Path(world_dir), Path(labels_dir) / "labels.npz"
    images_path = world_dir / "posts" / "images.npy"
    if not images_path.is_file():
        raise FileNotFoundError(f"{images_path} is missing: run the 00_world stage first")
    images = np.load(images_path, mmap_mode="r")
    pl = label_arrays(labels_dir)
    idx = _check_index(pl["image_index"], len(images), labels_path)
    x = np.ascontiguousarray(images[idx])
    if variant == "random":
        return TrainingSet(variant, x, None, "none")
    if variant == "simclr":
        return TrainingSet(variant, x, None, "simclr")
    if variant in ("object", "oracle"):
        key = {"object": "object", "oracle": "affect"}[variant]
        return TrainingSet(variant, x, [load_latents(world_dir)[key][idx]], "classify", [f"latents.npz:{key}"])
    if variant == "shuffled":
        return TrainingSet(
            variant, x, [shuffled_labels(pl["label"], seed)], "classify", [f"labels.npz:label (permuted, seed {seed})"]
        )
    if variant == "vise_multi":
        keys = sorted(k for k in pl if k.startswith("label_"))
        if not keys:
            raise ValueError(
                f"{labels_path}: variant 'vise_multi' needs label_* sets (label_both, "
                f"label_comments, label_reactions) and there are none; {_RERUN}"
            )
    else:
        keys = [_SINGLE_KEY[variant]]
        if keys[0] not in pl:
            raise ValueError(
                f"{labels_path}: variant {variant!r} needs the key {keys[0]!r}, which is missing "
                f"(present: {sorted(pl)}); {_RERUN}"
            )
    for k in keys:
        if len(pl[k]) != len(idx):
            raise ValueError(f"{labels_path}: {k!r} has {len(pl[k])} rows but image_index has {len(idx)}")
    return TrainingSet(variant, x, [pl[k] for k in keys], "classify", [f"labels.npz:{k}" for k in keys])
