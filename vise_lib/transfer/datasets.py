"""Adapters for real downstream datasets on local disk, in their published layouts.

Every reader returns an :class:`ImageDataset`: image paths relative to ``root``, labels (ints,
or a 0/1 matrix for multi-label sets), class names, each image's published split where there
is one, and extra per-image annotations. Files are not decoded here (see
:func:`vise_lib.transfer.runner.decode_splits`); unusable entries (hidden files, list rows naming no
image, unknown labels) are listed in ``skipped`` with the reason, never dropped silently.
Formats (:data:`FORMATS`): ``imagefolder``, ``emotion6``, ``fi``, ``unbiasedemo``,
``intentonomy`` (multi-label), ``politics``, ``csv``; each reader's docstring gives the layout.
Datasets without published splits get a deterministic stratified one
(:func:`vise_lib.transfer.runner.complete_splits`).
"""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

SPLITS = ("train", "val", "test")
FORMATS = ("imagefolder", "emotion6", "fi", "unbiasedemo", "intentonomy", "politics", "csv")
EMOTION6 = ("anger", "disgust", "fear", "joy", "sadness", "surprise")
EMOTION6_VOTES = EMOTION6 + ("neutral",)
FI = ("amusement", "anger", "awe", "contentment", "disgust", "excitement", "fear", "sadness")
UNBIASEDEMO = ("anger", "fear", "joy", "love", "sadness", "surprise")
POLITICS = ("left", "right")


@dataclass
class ImageDataset:
    """A labelled image set on disk (paths relative to ``root``)."""

    name: str
    root: Path
    paths: list[str]
    labels: np.ndarray  # (N,) int64, or (N, K) 0/1 int64 when multilabel
    classes: list[str]
    split: np.ndarray | None = None  # (N,) of "train" / "val" / "test", or None
    multilabel: bool = False
    extra: dict = field(default_factory=dict)  # name -> per-image array
    skipped: list = field(default_factory=list)  # [(path or row, reason)]

    def __len__(self) -> int:  # noqa: D105
        return len(self.paths)

    def summary(self) -> str:
        """One deterministic line: name, images, classes, splits, skipped entries."""
        sp = "" if self.split is None else ", " + ", ".join(f"{s} {int((self.split == s).sum())}" for s in SPLITS)
        return (f"{self.name}: {len(self)} images, {len(self.classes)} {'multi-label ' * self.multilabel}classes"
                f"{sp}; {len(self.skipped)} entries skipped")


def _files(folder: Path, root: Path, skipped: list) -> list[str]:
    """Regular files under ``folder`` (recursive, sorted), relative to ``root``; hidden ones skipped."""
    out = []
    for p in sorted(folder.rglob("*")):
        rel = p.relative_to(root).as_posix()
        if p.is_file() and any(part.startswith(".") for part in p.relative_to(folder).parts):
            skipped.append((rel, "hidden file, not read"))
        elif p.is_file():
            out.append(rel)
    return out


def _subdirs(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))


def _require_dir(path) -> Path:
    if not Path(path).is_dir():
        raise FileNotFoundError(f"dataset folder not found: {path}")
    return Path(path)


def _folder_classes(root: Path, base: Path, classes, name, skipped, allow_missing=False):
    """Read ``base/<class>/**`` for the given classes (all subfolders when ``classes`` is None)."""
    dirs = {d.name.lower() if classes else d.name: d for d in _subdirs(base)}
    if classes:
        missing = [c for c in classes if c.lower() not in dirs and c not in dirs]
        if missing and not allow_missing:
            raise ValueError(f"{base}: not a {name} layout: missing class folders {missing} (found {sorted(dirs)})")
        known = {c.lower() for c in classes} | set(classes)
        for extra in sorted(set(dirs) - known):
            skipped.append((dirs[extra].relative_to(root).as_posix() + "/", f"folder is not a {name} class"))
    names = list(classes) if classes else sorted(dirs)
    if not names:
        raise ValueError(f"{base}: no class folders found")
    paths, labels = [], []
    for k, c in enumerate(names):
        d = dirs.get(c.lower()) or dirs.get(c)
        files = _files(d, root, skipped) if d is not None else []
        paths, labels = paths + files, labels + [k] * len(files)
    return paths, labels, names


def read_imagefolder(path, classes=None, name="imagefolder") -> ImageDataset:
    """``<class>/**/<file>`` (classes sorted), or ``{train,val,test}/<class>/...`` with splits.

    With ``classes`` given (the named formats), folder names are matched case-insensitively,
    a missing class folder is an error and an extra folder is a listed skip.
    """
    root = _require_dir(path)
    skipped: list = []
    split_dirs = {d.name.lower(): d for d in _subdirs(root) if d.name.lower() in SPLITS}
    if "train" in split_dirs and ("test" in split_dirs or "val" in split_dirs):
        names = list(classes) if classes else sorted({d.name for s in split_dirs.values() for d in _subdirs(s)})
        paths, labels, split = [], [], []
        for s, d in split_dirs.items():
            p, y, _ = _folder_classes(root, d, names, name, skipped, allow_missing=True)
            paths, labels, split = paths + p, labels + y, split + [s] * len(p)
        ds = ImageDataset(name, root, paths, np.asarray(labels, np.int64), names, np.asarray(split), skipped=skipped)
    else:
        paths, labels, names = _folder_classes(root, root, classes, name, skipped)
        ds = ImageDataset(name, root, paths, np.asarray(labels, np.int64), names, skipped=skipped)
    if not len(ds):
        raise ValueError(f"{root}: no image files found")
    return ds


def _images_dir(root: Path, classes) -> Path:
    sub = root / "images"
    return sub if sub.is_dir() and not (set(classes) & {d.name.lower() for d in _subdirs(root)}) else root


def read_emotion6(path) -> ImageDataset:
    """Emotion6: ``images/<emotion>/<file>`` (six emotions; or the folders at the root), and an
    optional ``ground_truth.txt``: rows ``<emotion>/<file>``, valence, arousal and 7 vote shares
    (anger, disgust, fear, joy, sadness, surprise, neutral), kept in ``extra``; tab, comma or
    space separated; a ``[...]`` header line is skipped."""
    base = _images_dir(root := _require_dir(path), EMOTION6)
    ds = read_imagefolder(base, classes=EMOTION6, name="emotion6")
    gt, n = root / "ground_truth.txt", len(ds)
    va, votes = np.full((n, 2), np.nan), np.full((n, len(EMOTION6_VOTES)), np.nan)
    lines = gt.read_text(encoding="utf-8", errors="replace").splitlines() if gt.is_file() else None
    index, seen = {p: i for i, p in enumerate(ds.paths)}, np.zeros(n, bool)
    for lineno, line in enumerate(lines or [], 1):
        parts = re.split(r"[\t,]+|\s+", line.strip())
        if not line.strip() or parts[0].startswith("["):
            continue  # blank or the "[image_filename] [valence] ..." header
        nums = [float(v) for v in parts[1:] if re.fullmatch(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?", v)]
        i = index.get(parts[0].replace("\\", "/"))
        why = (f"expected 9 numbers after the file name, got {line.strip()!r}" if len(nums) != len(parts) - 1
               or len(nums) != 2 + len(EMOTION6_VOTES) else
               f"names {parts[0]!r}, not an image of the dataset" if i is None else None)
        if why:
            ds.skipped.append((f"{gt.name}:{lineno}", why))
        else:
            va[i], votes[i], seen[i] = nums[:2], nums[2:], True
    if lines is not None:
        ds.skipped += [(ds.paths[i], "no ground_truth.txt row (valence/arousal/votes are NaN)")
                       for i in np.flatnonzero(~seen)]
    ds.root = base
    ds.extra = {"valence": va[:, 0], "arousal": va[:, 1], "votes": votes}
    return ds


def read_fi(path) -> ImageDataset:
    """FI (Flickr & Instagram): the eight emotion folders (amusement … sadness), at the root or in ``images/``."""
    return read_imagefolder(_images_dir(_require_dir(path), FI), classes=FI, name="fi")


def read_unbiasedemo(path) -> ImageDataset:
    """UnbiasedEmo: ``<emotion>/<object>/<file>`` (six emotions, at the root or in ``images/``);
    the object folder is kept in ``extra["object"]``."""
    ds = read_imagefolder(_images_dir(_require_dir(path), UNBIASEDEMO), classes=UNBIASEDEMO, name="unbiasedemo")
    ds.extra["object"] = np.asarray([p.split("/")[1] if p.count("/") >= 2 else "" for p in ds.paths])
    return ds


def read_intentonomy(path, softprob_threshold: float = 0.0) -> ImageDataset:
    """Intentonomy: ``intentonomy_{train,val,test}2020.json`` (COCO-style, in the root or
    ``annotations/``); images under ``images/`` (or the root) by ``filename``; multi-label.

    Train annotations carry ``category_ids_softprob`` (share of the 3 annotators per class);
    a class counts as positive when its share is above ``softprob_threshold`` (ours: any
    annotator). Val/test annotations carry ``category_ids``.
    """
    root = _require_dir(path)
    ann_dir = root / "annotations" if (root / "annotations").is_dir() else root
    img_root = root / "images" if (root / "images").is_dir() else root
    files = {s: ann_dir / f"intentonomy_{s}2020.json" for s in SPLITS}
    if not any(f.is_file() for f in files.values()):
        raise ValueError(f"{root}: no intentonomy_{{train,val,test}}2020.json found (looked in {ann_dir})")
    classes, cat_index, entries, skipped = None, None, [], []
    for s, f in files.items():
        if not f.is_file():
            continue
        try:
            data = json.loads(f.read_text(encoding="utf-8"))
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
                why = f"softprob has {np.size(soft)} entries, expected {k}"
            elif soft is not None:
                y[np.asarray(soft, float) > softprob_threshold] = 1
            elif ids is None:
                why = "no category_ids or category_ids_softprob"
            elif any(c not in cat_index for c in ids):
                why = f"unknown category ids {[c for c in ids if c not in cat_index]}"
            else:
                y[[cat_index[c] for c in ids]] = 1
            if why is None and a.get("image_id") not in images:
                why = f"image_id {a.get('image_id')!r} not in the file's images"
            if why:
                skipped.append((f"{f.name}: annotation {a.get('id')}", why))
            else:
                entries.append((images[a["image_id"]], y, s))
    if not entries:
        raise ValueError(f"{root}: the Intentonomy annotations list no usable images")
    paths, rows, split = zip(*entries)
    return ImageDataset("intentonomy", img_root, list(paths), np.stack(rows), classes, np.asarray(split),
                        multilabel=True, skipped=skipped)


def _read_table(path: Path, rows, skipped, label_names=None, name="csv") -> ImageDataset:
    """Build a dataset from ``(where, path, label, split|None)`` rows (``skipped`` is extended)."""
    keep = []
    for where, p, label, s in rows:
        why = (f"label {label!r} is not one of {list(label_names)}" if label_names and label.lower() not in label_names
               else f"split {s!r} is not one of {SPLITS}" if s is not None and s.lower() not in SPLITS else None)
        if why:
            skipped.append((where, why))
        else:
            keep.append((p, label.lower() if label_names else label, s.lower() if s is not None else None))
    paths, labels, split = (list(c) for c in zip(*keep)) if keep else ([], [], [])
    names = list(label_names) if label_names is not None else sorted(set(labels))
    if not paths:
        raise ValueError(f"{path}: no usable rows")
    has_split = [s is not None for s in split]
    if any(has_split) and not all(has_split):
        raise ValueError(f"{path}: the split column is empty on some rows and set on others")
    return ImageDataset(name, path.parent, paths, np.asarray([names.index(y) for y in labels], np.int64), names,
                        np.asarray(split) if all(has_split) else None, skipped=skipped)


def read_csv(path) -> ImageDataset:
    """A CSV with header ``path,label[,split]`` (paths relative to the CSV's folder)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"CSV not found: {path}")
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        cols = [c.strip().lower() for c in reader.fieldnames or []]
        if "path" not in cols or "label" not in cols:
            raise ValueError(f"{path}: header must name columns path,label[,split], got {reader.fieldnames}")
        rows, skipped = [], []
        for lineno, r in enumerate(reader, 2):
            r = {k.strip().lower(): (v or "").strip() for k, v in r.items() if k}
            if not r.get("path") or not r.get("label"):
                skipped.append((f"{path.name}:{lineno}", "empty path or label"))
                continue
            rows.append((f"{path.name}:{lineno}", r["path"], r["label"], r.get("split") or None))
    return _read_table(path, rows, skipped)


def read_politics(path) -> ImageDataset:
    """Politics: an image list (``path``, or ``list.txt`` / ``labels.txt`` / ``images.txt`` in it),
    one ``<image> <left|right> [split]`` per line; paths relative to the list; ``#`` comments."""
    path = Path(path)
    if path.is_dir():
        found = [path / n for n in ("list.txt", "labels.txt", "images.txt") if (path / n).is_file()]
        path = found[0] if found else path / "list.txt"
    if not path.is_file():
        raise FileNotFoundError(f"image list not found: {path}")
    rows, skipped = [], []
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        parts = [p for p in re.split(r"[\t,]|\s+", line.strip()) if p]
        if len(parts) not in (2, 3):
            skipped.append((f"{path.name}:{lineno}", f"expected '<path> <left|right> [split]', got {line.strip()!r}"))
            continue
        rows.append((f"{path.name}:{lineno}", parts[0], parts[1], parts[2] if len(parts) == 3 else None))
    return _read_table(path, rows, skipped, label_names=POLITICS, name="politics")


_READERS = {"imagefolder": read_imagefolder, "emotion6": read_emotion6, "fi": read_fi,
            "unbiasedemo": read_unbiasedemo, "intentonomy": read_intentonomy, "politics": read_politics,
            "csv": read_csv}


def load_dataset(path, format: str = "imagefolder") -> ImageDataset:
    """Read a dataset in one of :data:`FORMATS` from a local path."""
    if format not in _READERS:
        raise ValueError(f"unknown dataset_format {format!r}; expected one of {FORMATS}")
    return _READERS[format](path)
