"""Image paths relative to a data root: nothing outside the root gets in.

A manifest names each post's image by a path *relative to the data root*. Before any file is
opened, :meth:`DataRoot.resolve` checks that the path stays inside the root:

* absolute paths (``/etc/passwd``, ``C:\\x``, ``\\\\server\\share``) are rejected;
* any ``..`` component is rejected, even one that would land back inside the root;
* the path is resolved with symlinks followed, and the result must lie inside the resolved
  root, so a symlink (file or folder) that points out of the root is rejected too;
* a path that stays inside but does not exist is reported as missing.

Each outcome is an :class:`ImagePathError` whose ``reason`` is a short, countable category
(``"image path escapes the data root"`` or ``"image file missing"``) and whose message gives the
detail; readers count the reason and list the message with the row number.
"""

from __future__ import annotations

import os
import re
from pathlib import Path, PurePosixPath, PureWindowsPath

ESCAPES = "image path escapes the data root"
MISSING = "image file missing"
_DRIVE = re.compile(r"^[A-Za-z]:")


class ImagePathError(ValueError):
    """An image path is outside the data root or missing; ``reason`` is the count key."""

    def __init__(self, reason: str, detail: str):
        super().__init__(f"{reason}: {detail}")
        self.reason = reason


class DataRoot:
    """A data root folder; resolves manifest image paths inside it (see the module docstring)."""

    def __init__(self, root):
        root = Path(root)
        if not root.is_dir():
            raise FileNotFoundError(f"data root is not a folder: {root}")
        self.root = root
        self.real = root.resolve()

    def check_relative(self, rel: str) -> str:
        """Reject absolute and ``..`` paths; return the path in POSIX form (no I/O)."""
        if not isinstance(rel, str) or not rel.strip():
            raise ImagePathError(ESCAPES, f"empty image path {rel!r}")
        if "\x00" in rel:
            raise ImagePathError(ESCAPES, f"NUL byte in image path {rel!r}")
        if rel.startswith(("/", "\\")) or _DRIVE.match(rel) or PureWindowsPath(rel).is_absolute():
            raise ImagePathError(ESCAPES, f"absolute path {rel!r}")
        parts = PurePosixPath(rel.replace("\\", "/")).parts
        if ".." in parts:
            raise ImagePathError(ESCAPES, f"'..' in path {rel!r}")
        return "/".join(p for p in parts if p != ".")

    def resolve(self, rel: str, must_exist: bool = True) -> Path:
        """The real path of image ``rel``; :class:`ImagePathError` if it escapes or is missing."""
        clean = self.check_relative(rel)
        real = Path(os.path.realpath(self.real / clean))
        if real != self.real and self.real not in real.parents:
            raise ImagePathError(ESCAPES, f"{rel!r} resolves to {real} (a symlink out of {self.real})")
        if must_exist and not real.is_file():
            raise ImagePathError(MISSING, f"{self.root / clean} does not exist or is not a file")
        return real
