"""Train / val / test splits of a real dataset (the published ones made whole, or a seeded
stratified one), and the seeded stratified subsample of a training split that each probe seed
trains on.

Splits are assigned on the images that decoded (see :mod:`vise_lib.transfer.decode`), so
skipped files never distort the split sizes.
"""

from __future__ import annotations

import math

import numpy as np
from sklearn.model_selection import train_test_split

from vise_lib.transfer.datasets.base import SPLITS


def assign_splits(labels: np.ndarray, seed: int = 0, fractions=(0.6, 0.2, 0.2)) -> np.ndarray:
    """Deterministic stratified train/val/test assignment (per class, a seeded permutation cut
    by ``fractions``; multi-label rows are stratified by their rarest positive class)."""
    labels = np.asarray(labels)
    if len(fractions) != 3 or min(fractions) < 0 or abs(sum(fractions) - 1) > 1e-9:
        raise ValueError(f"fractions must be three non-negative numbers summing to 1, got {fractions}")
    if labels.ndim == 2:  # rarest positive class (or -1 for rows without labels)
        freq = labels.sum(0)
        strata = np.where(labels.any(1), np.argmin(np.where(labels > 0, freq, np.inf), axis=1), -1)
    else:
        strata = labels
    out = np.empty(len(labels), dtype="<U5")
    rng = np.random.default_rng(seed)
    for c in np.unique(strata):
        idx = rng.permutation(np.flatnonzero(strata == c))
        n_tr = round(fractions[0] * len(idx))
        n_va = round(fractions[1] * len(idx))
        out[idx[:n_tr]], out[idx[n_tr : n_tr + n_va]], out[idx[n_tr + n_va :]] = "train", "val", "test"
    return out


def complete_splits(labels: np.ndarray, split: np.ndarray | None, seed: int = 0) -> np.ndarray:
    """The published ``split`` made whole: assigned if absent (60/20/20 stratified); a missing
    val or test split is carved out of train (20 % of it, stratified)."""
    if split is None:
        return assign_splits(labels, seed)
    split = np.asarray(split).copy()
    missing = tuple(s for s in ("val", "test") if not (split == s).any())
    if missing:
        tr = np.flatnonzero(split == "train")
        fractions = {("val",): (0.8, 0.2, 0.0), ("test",): (0.8, 0.0, 0.2), ("val", "test"): (0.6, 0.2, 0.2)}
        split[tr] = assign_splits(np.asarray(labels)[tr], seed, fractions=fractions[missing])
    bad = sorted(set(split.tolist()) - set(SPLITS))
    if bad:
        raise ValueError(f"unknown split names {bad}; expected {SPLITS}")
    return split


def stratified_subsample(y: np.ndarray, seed: int, frac: float = 0.8) -> np.ndarray:
    """Sorted indices of a seeded ``frac`` subsample of ``y``, stratified by class: the training
    images of one probe seed (the world study's and the real-data study's).

    The draw is scikit-learn's stratified shuffle split, ``train_test_split(..., train_size=frac,
    stratify=y, random_state=seed)``, which the study's numbers rest on. Where it cannot split
    (a class with a single image, or fewer images than classes on either side of the cut), each
    class keeps ``max(1, round(frac * n_class))`` of its images, drawn by a seeded permutation
    (``numpy.random.default_rng(seed)``), so even a class with one training image keeps it.
    Multi-label targets ``(N, K)`` get a plain seeded subsample (``train_test_split`` without
    ``stratify``).
    """
    if not 0 < frac < 1:
        raise ValueError(f"frac must be in (0, 1), got {frac!r}")
    y = np.asarray(y)
    idx = np.arange(len(y))
    if y.ndim == 1:
        classes, counts = np.unique(y, return_counts=True)
        n_train = math.floor(frac * len(y))
        if not len(y) or counts.min() < 2 or min(n_train, len(y) - n_train) < len(classes):
            rng = np.random.default_rng(seed)
            keep = [
                rng.permutation(np.flatnonzero(y == c))[: max(1, round(frac * n))]
                for c, n in zip(classes, counts, strict=True)
            ]
            return np.sort(np.concatenate(keep)) if keep else idx
    keep, _ = train_test_split(idx, train_size=frac, stratify=y if y.ndim == 1 else None, random_state=seed)
    return np.sort(keep)
