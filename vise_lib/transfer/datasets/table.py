"""Datasets given as a list of ``(image path, label[, split])`` rows (the CSV and Politics readers).

Paths are relative to the list's folder (or a given data root) and must resolve inside it (no absolute paths, no
``..``, no symlinks out; see :mod:`vise_lib.transfer.datasets.base`); a row naming a file that
does not exist is a listed ``"image file missing"`` skip, not a decode failure later.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from vise_lib.transfer.datasets.base import SPLITS, ImageDataset, contained


def read_table(path: Path, rows, skipped, label_names=None, name="csv", root: Path | None = None) -> ImageDataset:
    """Build a dataset from ``(where, path, label, split|None)`` rows (``skipped`` is extended);
    paths are relative to ``root`` (default: the list's folder)."""
    keep, root = [], root if root is not None else path.parent
    for where, p, label, s in rows:
        why = (
            f"unknown label: {label!r} is not one of {list(label_names)}"
            if label_names and label.lower() not in label_names
            else f"unknown split: {s!r} is not one of {SPLITS}"
            if s is not None and s.lower() not in SPLITS
            else None
        )
        if why:
            skipped.append((where, why))
        elif (rel := contained(root, p, where, skipped)) is not None:
            keep.append((rel, label.lower() if label_names else label, s.lower() if s is not None else None))
    paths, labels, split = (list(c) for c in zip(*keep, strict=False)) if keep else ([], [], [])
    names = list(label_names) if label_names is not None else sorted(set(labels))
    if not paths:
        raise ValueError(
            f"{path}: no usable rows ({len(skipped)} skipped: " + "; ".join(f"{w}: {r}" for w, r in skipped[:3]) + ")"
        )
    has_split = [s is not None for s in split]
    if any(has_split) and not all(has_split):
        raise ValueError(f"{path}: the split column is empty on some rows and set on others")
    return ImageDataset(
        name,
        root,
        paths,
        np.asarray([names.index(y) for y in labels], np.int64),
        names,
        np.asarray(split) if all(has_split) else None,
        skipped=skipped,
    )
