"""Small, atomic file helpers shared by the stages."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np


def atomic_write(path, write: Callable, mode: str = "wb") -> Path:
    """Write a file atomically: ``write(f)`` fills a temp file in the same folder, which is
    fsynced and then ``os.replace``-d over ``path``; on any error the temp file is removed."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, mode, **({} if "b" in mode else {"encoding": "utf-8"})) as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def atomic_write_text(path, text: str) -> Path:
    """Atomically write ``text`` (UTF-8) to ``path``."""
    return atomic_write(path, lambda f: f.write(text), mode="w")


def _default(o):
    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, np.floating):
        return float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON serializable: {type(o).__name__}")


def write_json(path, obj) -> Path:
    """Atomically write ``obj`` as indented JSON (numpy scalars and arrays allowed)."""
    return atomic_write_text(path, json.dumps(obj, indent=1, default=_default, sort_keys=True) + "\n")


def read_json(path):
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: run the stage that writes it first")
    return json.loads(path.read_text())


def save_npy(path, array: np.ndarray) -> Path:
    """Atomic ``np.save``."""
    return atomic_write(path, lambda f: np.save(f, array))
