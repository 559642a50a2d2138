"""Politics: an image list (``path``, or ``list.txt`` / ``labels.txt`` / ``images.txt`` in it), one
``<image> <left|right> [split]`` per line; paths relative to the list (inside its folder); ``#`` comments."""

from __future__ import annotations

import re
from pathlib import Path

from vise_lib.transfer.datasets.base import ImageDataset, read_text_bounded
from vise_lib.transfer.datasets.table import read_table

POLITICS = ("left", "right")


def read_politics(path) -> ImageDataset:
    """Politics (see the module docstring)."""
    path = Path(path)
    if path.is_dir():
        found = [path / n for n in ("list.txt", "labels.txt", "images.txt") if (path / n).is_file()]
        path = found[0] if found else path / "list.txt"
    if not path.is_file():
        raise FileNotFoundError(f"image list not found: {path}")
    rows, skipped = [], []
    for lineno, line in enumerate(read_text_bounded(path).splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        parts = [p for p in re.split(r"[\t,]|\s+", line.strip()) if p]
        if len(parts) not in (2, 3):
            skipped.append((f"{path.name}:{lineno}", f"bad row: expected '<path> <left|right> [split]', got {line.strip()!r}"))
            continue
        rows.append((f"{path.name}:{lineno}", parts[0], parts[1], parts[2] if len(parts) == 3 else None))
    return read_table(path, rows, skipped, label_names=POLITICS, name="politics")
