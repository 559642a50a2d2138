"""Small, atomic file helpers shared by the stages.

Every output is written to a temp file ``.<name>.<pid>.<random>.tmp`` in the same folder, then
renamed over the target, so a reader never sees half a file. The temp file is removed on any
error; one left by a killed process (SIGKILL, power loss) is removed by the next
:func:`atomic_write` of the same target (:func:`sweep_stale_temps`: only when the process that
made it is gone). Outputs get the usual permissions (0666 less the umask, e.g. 0644), not the
0600 of a bare temp file.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np

#: what every path parameter of the library accepts
PathArg = str | os.PathLike[str]

STALE_AFTER_S = 24 * 3600  # a temp file without a readable pid counts as stale after this


def _umask() -> int:
    try:  # Linux: read it without changing it (os.umask would, for a moment, for every thread)
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


def sweep_stale_temps(path) -> list[Path]:
    """Remove the temp files of earlier, dead writers of ``path`` (``.<name>.<pid>.*.tmp`` or
    ``.<name>.tmp<pid>`` whose process is gone, or any other ``.<name>.*tmp*`` older than a
    day); returns what it removed. A ``*`` in the name stands for any text, to sweep the temps
    of several targets at once (``folder / "shard-*.tar"``)."""
    path = Path(path)
    if not path.parent.is_dir():
        return []
    name = re.escape(f".{path.name}.").replace(r"\*", ".*")
    pattern = re.compile(name + r"(?:(\d+)\..*\.tmp|tmp(\d+)|.*tmp.*)$")
    removed, now = [], time.time()
    for entry in os.scandir(path.parent):
        m = pattern.match(entry.name)
        if m is None or not entry.is_file(follow_symlinks=False):
            continue
        pid = next((int(g) for g in m.groups() if g), None)
        try:
            stale = (not _pid_alive(pid)) if pid is not None else now - entry.stat().st_mtime > STALE_AFTER_S
            if stale:
                os.unlink(entry.path)
                removed.append(Path(entry.path))
        except FileNotFoundError:  # another sweeper got it first
            pass
    return removed


def atomic_write(path, write: Callable, mode: str = "wb") -> Path:
    """Write a file atomically: ``write(f)`` fills a temp file in the same folder, which is
    fsynced and then ``os.replace``-d over ``path``; on any error the temp file is removed.
    Stale temp files of the same target are swept first; the file gets mode 0666 & ~umask."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    sweep_stale_temps(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp", dir=path.parent)
    text: dict[str, Any] = {} if "b" in mode else {"encoding": "utf-8", "newline": "\n"}
    try:
        with os.fdopen(fd, mode, **text) as f:
            os.fchmod(f.fileno(), 0o666 & ~_umask())
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


def write_npy_stream(f, dtype, shape: tuple, parts: Iterable[np.ndarray]) -> None:
    """Write an ``.npy`` of ``dtype`` and ``shape`` into the open file ``f`` part by part
    (memory: one part); the parts' rows, concatenated, are the array. ``ValueError`` when they
    do not hold ``shape[0]`` rows. With :func:`atomic_write` for an array larger than memory."""
    dtype = np.dtype(dtype)
    np.lib.format.write_array_header_2_0(
        f, {"descr": np.lib.format.dtype_to_descr(dtype), "fortran_order": False, "shape": tuple(shape)}
    )
    written = 0
    for a in parts:
        f.write(np.ascontiguousarray(a, dtype=dtype).tobytes())
        written += len(a)
    if written != shape[0]:
        raise ValueError(f"wrote {written} rows, expected {shape[0]}")
