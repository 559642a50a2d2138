"""ImageFolder: ``<class>/**/<file>`` (classes sorted), or ``{train,val,test}/<class>/...`` with splits.

Also the base of the folder-per-class formats (Emotion6, FI, UnbiasedEmo): with ``classes``
given, folder names are matched case-insensitively, a missing class folder is an error and an
extra folder is a listed skip.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from vise_lib.transfer.datasets.base import SPLITS, ImageDataset, list_files, require_dir, subdirs


def folder_classes(root: Path, base: Path, classes, name, skipped, allow_missing=False):
    """Read ``base/<class>/**`` for the given classes (all subfolders when ``classes`` is None)."""
    dirs = {d.name.lower() if classes else d.name: d for d in subdirs(base)}
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
    paths: list[str] = []
    labels: list[int] = []
    for k, c in enumerate(names):
        d = dirs.get(c.lower()) or dirs.get(c)
        files = list_files(d, root, skipped) if d is not None else []
        paths, labels = paths + files, labels + [k] * len(files)
    return paths, labels, names


def images_dir(root: Path, classes) -> Path:
    """``root/images`` when the class folders live there, else ``root``."""
    sub = root / "images"
    return sub if sub.is_dir() and not (set(classes) & {d.name.lower() for d in subdirs(root)}) else root


def read_imagefolder(path, classes=None, name="imagefolder") -> ImageDataset:
    """``<class>/**/<file>`` (classes sorted), or ``{train,val,test}/<class>/...`` with splits."""
    root = require_dir(path)
    skipped: list = []
    split_dirs = {d.name.lower(): d for d in subdirs(root) if d.name.lower() in SPLITS}
    if "train" in split_dirs and ("test" in split_dirs or "val" in split_dirs):
        names = list(classes) if classes else sorted({d.name for s in split_dirs.values() for d in subdirs(s)})
        paths: list[str] = []
        labels: list[int] = []
        split: list[str] = []
        for s, d in split_dirs.items():
            p, y, _ = folder_classes(root, d, names, name, skipped, allow_missing=True)
            paths, labels, split = paths + p, labels + y, split + [s] * len(p)
        ds = ImageDataset(name, root, paths, np.asarray(labels, np.int64), names, np.asarray(split), skipped=skipped)
    else:
        paths, labels, names = folder_classes(root, root, classes, name, skipped)
        ds = ImageDataset(name, root, paths, np.asarray(labels, np.int64), names, skipped=skipped)
    if not len(ds):
        raise ValueError(f"{root}: no image files found")
    return ds
