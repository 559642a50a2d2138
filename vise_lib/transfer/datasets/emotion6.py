"""Emotion6: ``images/<emotion>/<file>`` (six emotions; or the folders at the root), and an optional
``ground_truth.txt``: rows ``<emotion>/<file>``, valence, arousal and 7 vote shares (anger, disgust,
fear, joy, sadness, surprise, neutral), kept in ``extra`` (``valence``, ``arousal``, ``votes``);
tab, comma or space separated; a ``[...]`` header line is skipped."""

from __future__ import annotations

import re

import numpy as np

from vise_lib.transfer.datasets.base import ImageDataset, read_text_bounded, require_dir
from vise_lib.transfer.datasets.imagefolder import images_dir, read_imagefolder

EMOTION6 = ("anger", "disgust", "fear", "joy", "sadness", "surprise")
EMOTION6_VOTES = EMOTION6 + ("neutral",)
_NUMBER = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")


def read_emotion6(path) -> ImageDataset:
    """Emotion6 (see the module docstring)."""
    root = require_dir(path)
    base = images_dir(root, EMOTION6)
    ds = read_imagefolder(base, classes=EMOTION6, name="emotion6")
    gt, n = root / "ground_truth.txt", len(ds)
    va, votes = np.full((n, 2), np.nan), np.full((n, len(EMOTION6_VOTES)), np.nan)
    lines = read_text_bounded(gt).splitlines() if gt.is_file() else None
    index, seen = {p: i for i, p in enumerate(ds.paths)}, np.zeros(n, bool)
    for lineno, line in enumerate(lines or [], 1):
        parts = re.split(r"[\t,]+|\s+", line.strip())
        if not line.strip() or parts[0].startswith("["):
            continue  # blank or the "[image_filename] [valence] ..." header
        nums = [float(v) for v in parts[1:] if _NUMBER.fullmatch(v)]
        i = index.get(parts[0].replace("\\", "/"))
        why = (f"bad ground_truth row: expected 9 numbers after the file name, got {line.strip()!r}"
               if len(nums) != len(parts) - 1 or len(nums) != 2 + len(EMOTION6_VOTES) else
               f"ground_truth row names no image of the dataset: {parts[0]!r}" if i is None else None)
        if why:
            ds.skipped.append((f"{gt.name}:{lineno}", why))
        else:
            va[i], votes[i], seen[i] = nums[:2], nums[2:], True
    if lines is not None:
        ds.skipped += [(ds.paths[i], "no ground_truth.txt row: valence/arousal/votes are NaN (the image is kept)")
                       for i in np.flatnonzero(~seen)]
    ds.root = base
    ds.extra = {"valence": va[:, 0], "arousal": va[:, 1], "votes": votes}
    return ds
