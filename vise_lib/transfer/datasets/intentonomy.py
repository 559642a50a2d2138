"""Intentonomy: ``intentonomy_{train,val,test}2020.json`` (COCO-style, in the root or ``annotations/``);
images under ``images/`` (or the root) by ``filename``; multi-label.

Train annotations carry ``category_ids_softprob`` (share of the 3 annotators per class); a class
counts as positive when its share is above ``softprob_threshold`` (ours: any annotator).
Val/test annotations carry ``category_ids``. Every ``filename`` must resolve inside the image
folder (see :mod:`vise_lib.transfer.datasets.base`).
"""

from __future__ import annotations

import json

import numpy as np

from vise_lib.transfer.datasets.base import SPLITS, ImageDataset, contained, read_text_bounded, require_dir


def read_intentonomy(path, softprob_threshold: float = 0.0) -> ImageDataset:
    """Intentonomy (see the module docstring)."""
    root = require_dir(path)
    ann_dir = root / "annotations" if (root / "annotations").is_dir() else root
    img_root = root / "images" if (root / "images").is_dir() else root
    files = {s: ann_dir / f"intentonomy_{s}2020.json" for s in SPLITS}
    if not any(f.is_file() for f in files.values()):
        raise ValueError(f"{root}: no intentonomy_{{train,val,test}}2020.json found (looked in {ann_dir})")
    classes: list[str] | None = None
    cat_index: dict[object, int] = {}  # set with classes, from the first annotation file
    entries: list[tuple[str, np.ndarray, str]] = []
    skipped: list[tuple[str, str]] = []
    for s, f in files.items():
        if not f.is_file():
            continue
        try:
            data = json.loads(read_text_bounded(f))
            cats = sorted(data["categories"], key=lambda c: c["id"])
            images = {im["id"]: im["filename"] for im in data["images"]}
            anns = data["annotations"]
        except (json.JSONDecodeError, KeyError, TypeError) as e:
            raise ValueError(f"{f}: not an Intentonomy annotation file ({type(e).__name__}: {e})") from None
        if classes is None:
            classes = [c["name"] for c in cats]
            cat_index = {c["id"]: k for k, c in enumerate(cats)}
        for a in anns:
            y, k, why = np.zeros(len(classes), np.int64), len(classes), None
            soft, ids = a.get("category_ids_softprob"), a.get("category_ids")
            if soft is not None and np.shape(soft) != (k,):
                why = f"bad annotation: softprob has {np.size(soft)} entries, expected {k}"
            elif soft is not None:
                y[np.asarray(soft, float) > softprob_threshold] = 1
            elif ids is None:
                why = "bad annotation: no category_ids or category_ids_softprob"
            elif any(c not in cat_index for c in ids):
                why = f"bad annotation: unknown category ids {[c for c in ids if c not in cat_index]}"
            else:
                y[[cat_index[c] for c in ids]] = 1
            if why is None and a.get("image_id") not in images:
                why = f"bad annotation: image_id {a.get('image_id')!r} not in the file's images"
            where = f"{f.name}: annotation {a.get('id')}"
            if why:
                skipped.append((where, why))
            elif (rel := contained(img_root, str(images[a["image_id"]]), where, skipped)) is not None:
                entries.append((rel, y, s))
    if not entries or classes is None:  # classes is None only when no file was read, so no entries
        raise ValueError(f"{root}: the Intentonomy annotations list no usable images")
    paths, rows, split = zip(*entries, strict=False)
    return ImageDataset(
        "intentonomy",
        img_root,
        list(paths),
        np.stack(rows),
        classes,
        np.asarray(split),
        multilabel=True,
        skipped=skipped,
    )
