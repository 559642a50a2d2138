"""CSV: a header ``path,label[,split]``; paths relative to the data root (default: the CSV's folder), inside it."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from vise_lib.transfer.datasets.base import ImageDataset, read_text_bounded
from vise_lib.transfer.datasets.table import read_table


def read_csv(path, data_root=None) -> ImageDataset:
    """A CSV with header ``path,label[,split]``; a UTF-8 byte-order mark (Excel) is accepted.

    Image paths are relative to ``data_root`` (default: the CSV's folder), so the CSV may sit
    anywhere; every path must resolve inside that root (symlinks followed: one whose target is
    inside the root is fine, one pointing out of it is a skip; :mod:`vise_lib.transfer.datasets.base`).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"CSV not found: {path}")
    if data_root is not None and not Path(data_root).is_dir():
        raise FileNotFoundError(f"{path}: data root is not a folder: {data_root}")
    reader = csv.DictReader(io.StringIO(read_text_bounded(path), newline=""))
    cols = [c.strip().lower() for c in reader.fieldnames or []]
    if "path" not in cols or "label" not in cols:
        raise ValueError(f"{path}: header must name columns path,label[,split], got {reader.fieldnames}")
    rows, skipped = [], []
    for lineno, r in enumerate(reader, 2):
        r = {k.strip().lower(): (v or "").strip() for k, v in r.items() if isinstance(k, str)}
        if not r.get("path") or not r.get("label"):
            skipped.append((f"{path.name}:{lineno}", "empty path or label"))
            continue
        rows.append((f"{path.name}:{lineno}", r["path"], r["label"], r.get("split") or None))
    return read_table(path, rows, skipped, root=None if data_root is None else Path(data_root))
