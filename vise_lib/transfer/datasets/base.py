"""The dataset record every reader returns, and the helpers readers share (containment, bounded reads).

An :class:`ImageDataset` lists image paths relative to ``root``, labels (ints, or a 0/1 matrix for
multi-label sets), class names, each image's published split where there is one, and extra
per-image annotations. Files are not decoded here (:mod:`vise_lib.transfer.decode` does that,
then assigns splits). Unusable entries are listed in ``skipped`` as ``(where, reason)``; the
reason starts with a short category (text before the first ``": "``) that summaries count.

Containment (the ingestion's rule, :class:`vise_lib.engagement.data_root.DataRoot`): every
image path a reader lists resolves inside the dataset's folder; absolute paths, ``..``
components and symlinks out of the folder are skipped as ``"image path escapes the data
root"``, names of files that do not exist (or are not regular files: devices, FIFOs) as
``"image file missing"``. Annotation files are read with a size bound
(:data:`MAX_ANNOTATION_BYTES`).
"""

from __future__ import annotations

import os
import stat
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from vise_lib.engagement.data_root import DataRoot, ImagePathError

SPLITS = ("train", "val", "test")
MAX_ANNOTATION_BYTES = 256 * 1024 * 1024  # a label list / annotation JSON larger than this is refused
HIDDEN = "hidden file, not read"
NOT_REGULAR = "not a regular file"
SYMLINK_DIR = "symlinked folder, not followed"


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
    format: str = ""

    def __len__(self) -> int:  # noqa: D105
        return len(self.paths)

    def subset(self, index, labels=None, classes=None, split=None) -> "ImageDataset":
        """The images at ``index`` (extras follow); ``labels`` / ``classes`` / ``split`` replace them."""
        index = np.asarray(index, dtype=np.int64)
        return ImageDataset(
            self.name, self.root, [self.paths[i] for i in index],
            self.labels[index] if labels is None else labels, list(classes or self.classes),
            (self.split[index] if self.split is not None else None) if split is None else split,
            self.multilabel, {k: np.asarray(v)[index] for k, v in self.extra.items()}, list(self.skipped),
            self.format)

    def summary(self) -> str:
        """One deterministic line: name, images, classes, splits, skipped entries by reason."""
        sp = "" if self.split is None else ", " + ", ".join(f"{s} {int((self.split == s).sum())}" for s in SPLITS)
        return (f"{self.name}: {len(self)} images, {len(self.classes)} {'multi-label ' * self.multilabel}classes"
                f"{sp}; {count_skipped(self.skipped)}")


def skip_category(reason: str) -> str:
    """The countable category of a skip reason (its text before the first ``": "``)."""
    return reason.split(": ", 1)[0]


def count_skipped(skipped) -> str:
    """``"3 entries skipped (2 image file missing, 1 hidden file, not read)"`` or ``"0 entries skipped"``."""
    counts = Counter(skip_category(r) for _, r in skipped)
    detail = ", ".join(f"{n} {c}" for c, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))
    return f"{len(skipped)} entries skipped" + (f" ({detail})" if detail else "")


def require_dir(path) -> Path:
    if not Path(path).is_dir():
        raise FileNotFoundError(f"dataset folder not found: {path}")
    return Path(path)


def subdirs(folder: Path) -> list[Path]:
    """Visible subfolders (symlinked ones too; their files are checked by :func:`list_files`)."""
    return sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))


def list_files(folder: Path, root: Path, skipped: list) -> list[str]:
    """Image candidates under ``folder`` (recursive, sorted), relative to ``root``, all inside ``root``.

    Hidden files, symlinked subfolders (not followed), non-regular files and files (or a
    symlinked ``folder``) resolving outside ``root`` are listed in ``skipped``.
    """
    data_root, out = DataRoot(root), []
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=False):
        d = Path(dirpath)
        for name in sorted(dirnames):
            if (d / name).is_symlink():
                skipped.append(((d / name).relative_to(root).as_posix() + "/", SYMLINK_DIR))
        dirnames[:] = sorted(n for n in dirnames if not (d / n).is_symlink())
        for name in sorted(filenames):
            p = d / name
            rel = p.relative_to(root).as_posix()
            if any(part.startswith(".") for part in p.relative_to(folder).parts):
                skipped.append((rel, HIDDEN))
                continue
            try:
                real = data_root.resolve(rel, must_exist=False)
            except ImagePathError as e:
                skipped.append((rel, str(e)))
                continue
            if not real.exists() or not stat.S_ISREG(real.stat().st_mode):
                skipped.append((rel, f"{NOT_REGULAR}: {rel}"))
                continue
            out.append(rel)
    return sorted(out)


def contained(root: Path, rel: str, where: str, skipped: list) -> str | None:
    """``rel`` in POSIX form if it names an existing file inside ``root``; else a listed skip, ``None``."""
    try:
        DataRoot(root).resolve(rel, must_exist=True)
    except ImagePathError as e:
        skipped.append((where, str(e)))
        return None
    return DataRoot(root).check_relative(rel)


def read_text_bounded(path: Path, limit: int = MAX_ANNOTATION_BYTES) -> str:
    """The UTF-8 text of an annotation file (a BOM is dropped); refuses non-regular or oversized files."""
    path = Path(path)
    with open(path, "rb") as f:
        st = os.fstat(f.fileno())
        if not stat.S_ISREG(st.st_mode):
            raise ValueError(f"{path}: not a regular file")
        data = f.read(limit + 1)
    if len(data) > limit:
        raise ValueError(f"{path}: larger than {limit} bytes; refusing to read it as an annotation file")
    return data.decode("utf-8", errors="replace").removeprefix("\ufeff")
