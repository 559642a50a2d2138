"""Small, atomic file helpers shared by the stages.

Every output is written to a temp file ``.<name>.<pid>.<random>.tmp`` in the same folder, then
renamed over the target, so a reader never sees half a file. The temp file is removed on any
error; one left by a killed process (SIGKILL, power loss) is removed by the next
:func:`atomic_write` of the same target (:func:`sweep_stale_temps`: only when the process that
made it is gone). Outputs get the usual permissions (0666 less the umask, e.g. 0644), not the
0600 of a bare temp file.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
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
    except BaseException as e:
        if os.path.exists(tmp):
            os.unlink(tmp)
        if isinstance(e, OSError) and (e.filename is None or e.errno is None):
            raise named_os_error(e, path) from e
        raise
    return path


def named_os_error(e: OSError, path: Path) -> OSError:
    """``e`` as an ``OSError`` that names ``path`` and has an errno: a short write that says only
    ``"9600 requested and 9184 written"`` (numpy) is ``ENOSPC`` when the disk is (nearly) full."""
    code = e.errno
    if code is None:
        try:
            st = os.statvfs(path.parent)
            code = errno.ENOSPC if st.f_bavail * st.f_frsize < (1 << 20) else None
        except OSError:
            code = None
    text = os.strerror(code) if code is not None else (e.strerror or str(e))
    return OSError(code, text, str(path)) if code is not None else OSError(f"{path}: {text}")


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


def write_json(path, obj, stage: str | None = None) -> Path:
    """Atomically write ``obj`` as indented JSON (numpy scalars and arrays allowed). A stage's
    results file passes its ``stage``: the file then gets its check file (:func:`write_check`)."""
    out = atomic_write_text(path, json.dumps(obj, indent=1, default=_default, sort_keys=True) + "\n")
    if stage is not None:
        write_check(out, stage)
    return out


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


# ---- content digests, computed once and remembered -------------------------------------------

DIGEST_CHUNK = 1 << 24  # bytes hashed at a time


def digest_cache_dir() -> Path:
    """Where content digests are remembered: ``$VISE_DIGEST_CACHE``, else
    ``$XDG_CACHE_HOME/vise/digests`` (``~/.cache/vise/digests``). Entries are named by a
    signature of the file's path and ``stat`` (size, mtime, ctime, inode), so a file written
    since (even with its old mtime put back: ctime moves) is hashed again; nothing there is ever
    trusted for a file whose signature changed."""
    env = os.environ.get("VISE_DIGEST_CACHE")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "vise" / "digests"


def _signature(path: Path, st: os.stat_result) -> str:
    text = f"{path.resolve()}\0{st.st_size}\0{st.st_mtime_ns}\0{st.st_ctime_ns}\0{st.st_ino}\0{st.st_dev}"
    return hashlib.sha256(text.encode()).hexdigest()


def _cached(signature: str, compute: Callable[[], str]) -> str:
    """``compute()``, remembered under ``signature`` in :func:`digest_cache_dir` (a cache that
    cannot be written, a read-only home, only means the digest is computed again next time)."""
    entry = digest_cache_dir() / signature[:2] / signature
    try:
        value = entry.read_text().strip()
        if re.fullmatch(r"[0-9a-f]{64}", value):
            return value
    except OSError:
        pass
    value = compute()
    with contextlib.suppress(OSError):
        atomic_write_text(entry, value + "\n")
    return value


def file_digest(path: PathArg) -> str:
    """SHA-256 (hex) of a file's bytes, computed once per version of the file (see
    :func:`digest_cache_dir`)."""
    path = Path(path)

    def compute() -> str:
        h = hashlib.sha256()
        with open(path, "rb") as f:
            while chunk := f.read(DIGEST_CHUNK):
                h.update(chunk)
        return h.hexdigest()

    return _cached(_signature(path, path.stat()), compute)


def _hash_array(a: np.ndarray) -> str:
    h = hashlib.sha256(f"{a.dtype.str} {tuple(a.shape)}\n".encode())
    flat = a.reshape(len(a), -1) if a.ndim > 1 else a.reshape(-1, 1)
    rows = max(1, DIGEST_CHUNK // max(1, flat.shape[1] * a.dtype.itemsize))
    for i in range(0, len(flat), rows):
        h.update(np.ascontiguousarray(flat[i : i + rows]).tobytes())
    return h.hexdigest()


def array_digest(a: np.ndarray) -> str:
    """SHA-256 (hex) of an array's dtype, shape and values (in C order), the same for a copy in
    memory and the ``.npy`` it came from. A whole ``.npy`` opened with ``np.load(...,
    mmap_mode="r")`` is hashed once per version of the file (see :func:`digest_cache_dir`)."""
    if a.ndim == 0:
        a = a.reshape(1)
    filename = getattr(a, "filename", None)
    if isinstance(a, np.memmap) and filename and a.flags.c_contiguous:
        path = Path(filename)
        try:
            st = path.stat()
            whole = np.load(path, mmap_mode="r")
        except (OSError, ValueError):
            whole = None
        if whole is not None and whole.shape == a.shape and whole.dtype == a.dtype:  # the whole file, not a slice
            return _cached(_signature(path, st) + "-array", lambda: _hash_array(a))
    return _hash_array(a)


def tree_digest(folder: PathArg) -> str:
    """SHA-256 (hex) of a folder: the relative path and :func:`file_digest` of every file below
    it (dangling links skipped); remembered as a whole while no file's ``stat`` changed."""
    folder = Path(folder)
    files: list[tuple[str, Path, os.stat_result]] = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames.sort()
        for name in sorted(filenames):
            f = Path(dirpath) / name
            try:
                st = f.stat()
            except OSError:  # a dangling symlink
                continue
            files.append((f.relative_to(folder).as_posix(), f, st))
    sig = hashlib.sha256()
    for rel, f, st in files:
        sig.update(f"{rel}\0{_signature(f, st)}\n".encode())

    def compute() -> str:
        h = hashlib.sha256()
        for rel, f, _ in files:
            h.update(f"{rel}\0{file_digest(f)}\n".encode())
        return h.hexdigest()

    return _cached(sig.hexdigest() + "-tree", compute)


# ---- results files a reader can trust ----------------------------------------------------------

CHECK_SUFFIX = ".check.json"


def check_path(path: PathArg) -> Path:
    """The check file of a results file: ``scores.csv`` -> ``scores.csv.check.json``."""
    path = Path(path)
    return path.with_name(path.name + CHECK_SUFFIX)


def count_rows(path: PathArg) -> int:
    """Rows of a results file: data lines of a ``.csv`` (header excluded), arrays of an ``.npz``,
    items of a JSON list (1 for any other JSON value), lines of anything else."""
    path = Path(path)
    if path.suffix == ".npz":
        with np.load(path, allow_pickle=False) as z:
            return len(z.files)
    data = path.read_bytes()
    if path.suffix == ".json":
        try:
            value = json.loads(data)
        except ValueError:  # not JSON (yet): its reader says so; count lines
            value = None
        else:
            return len(value) if isinstance(value, list) else 1
    lines = data.count(b"\n") + (0 if data.endswith(b"\n") or not data else 1)
    return max(0, lines - 1) if path.suffix == ".csv" else lines


def write_check(path: PathArg, stage: str = "") -> Path:
    """Write ``path``'s check file (atomically, after ``path`` itself): its size, row count
    (:func:`count_rows`), SHA-256 and the ``stage`` that wrote it. :func:`verify_check` compares
    them, so a truncated or hand-edited results file is caught before anything is built from it
    (a writer killed between the two files leaves a check that does not match: caught too)."""
    path = Path(path)
    data = path.read_bytes()
    check = {
        "file": path.name,
        "bytes": len(data),
        "rows": count_rows(path),
        "sha256": hashlib.sha256(data).hexdigest(),
        "stage": stage,
    }
    return atomic_write_text(check_path(path), json.dumps(check, indent=1, sort_keys=True) + "\n")


def rerun_hint(stage: str | None) -> str:
    return f"run the stage {stage} (vise run --stage {stage} --force)" if stage else "run the stage that writes it"


def verify_check(path: PathArg, stage: str | None = None) -> None:
    """``ValueError`` (one line naming the file and the stage to rerun) unless ``path`` is
    exactly what its writer wrote: its check file (:func:`write_check`) exists and its size,
    SHA-256 and row count match. ``stage`` names the writer for the message (default: the one
    the check file records). A missing ``path`` is ``FileNotFoundError``."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: {rerun_hint(stage)} first")
    cp = check_path(path)
    try:
        check = json.loads(cp.read_text(encoding="utf-8"))
        want_bytes, want_rows, want_sha = int(check["bytes"]), int(check["rows"]), str(check["sha256"])
    except FileNotFoundError:
        raise ValueError(
            f"{path} has no check file {cp.name} (written by an older version, or edited): "
            f"cannot be trusted; {rerun_hint(stage)} again"
        ) from None
    except (OSError, ValueError, KeyError, TypeError, UnicodeDecodeError) as e:
        raise ValueError(f"{cp} is damaged ({type(e).__name__}); {rerun_hint(stage)} again") from None
    stage = stage or check.get("stage") or None
    data = path.read_bytes()
    if len(data) == want_bytes and hashlib.sha256(data).hexdigest() == want_sha:
        return
    try:
        rows = f"{count_rows(path)} rows"
    except Exception:  # a cut npz or JSON has no countable rows
        rows = "unreadable rows"
    what = "truncated or edited" if len(data) < want_bytes else "edited"
    raise ValueError(
        f"{path} is {what} ({len(data)} bytes, {rows}; written as {want_bytes} bytes, {want_rows} rows): "
        f"{rerun_hint(stage)} again"
    )


def checked_outputs(folder: PathArg, stage: str) -> list[Path]:
    """The results files below ``folder`` whose check file records ``stage`` as their writer."""
    out = []
    for cp in sorted(Path(folder).rglob("*" + CHECK_SUFFIX)):
        try:
            if json.loads(cp.read_text(encoding="utf-8")).get("stage") == stage:
                out.append(cp.with_name(cp.name[: -len(CHECK_SUFFIX)]))
        except (OSError, ValueError, AttributeError):
            continue
    return out
