"""The lock of the whole dependency tree: ``requirements.lock`` at the repository root.

``make lock`` writes it from ``pyproject.toml`` (every dependency, extras ``dev`` and ``scale``)
with ``uv pip compile --generate-hashes`` for Linux x86_64 and Python 3.11; ``make book`` and
``make test`` install it with ``pip install --require-hashes``, so a fresh clone gets exactly
these files or nothing. This module reads it (stdlib only, so ``make lock`` can run it before
any virtual environment exists), derives ``environment.yml`` from it, and tells which installed
versions differ from it (the Reproducibility page).

    python -m vise_lib.run.lock environment.yml   # rewrite environment.yml from the lock
"""

from __future__ import annotations

import hashlib
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
LOCK_NAME = "requirements.lock"
LOCK_PYTHON = "3.11"  # the interpreter the lock is resolved for (`make lock`)

_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?==([^\s;\\]+)")


class LockError(ValueError):
    """The lock file is malformed: the message names the file and the line."""


def normalize(name: str) -> str:
    """A distribution name as PEP 503 compares them (``PyYAML`` == ``pyyaml``, ``a_b`` == ``a-b``)."""
    return re.sub(r"[-_.]+", "-", name).lower()


@dataclass(frozen=True)
class Lock:
    """A parsed lock: ``versions`` maps each normalized distribution name to its pinned version."""

    path: Path
    digest: str  # sha256 of the file's bytes
    versions: dict[str, str]


def _logical_lines(text: str) -> list[tuple[int, str]]:
    """The file's requirement lines with ``\\`` continuations joined, each with its first line number."""
    out: list[tuple[int, str]] = []
    buf, start = "", 0
    for no, raw in enumerate(text.splitlines(), 1):
        line = raw.split(" #", 1)[0].rstrip() if not raw.lstrip().startswith("#") else ""
        if not buf:
            start = no
        if line.endswith("\\"):
            buf += line[:-1] + " "
            continue
        buf += line
        if buf.strip():
            out.append((start, buf.strip()))
        buf = ""
    if buf.strip():
        out.append((start, buf.strip()))
    return out


def read_lock(path: Path | None = None) -> Lock:
    """Parse ``requirements.lock``: every entry must be ``name==version`` with at least one
    ``--hash=sha256:…`` (what ``pip install --require-hashes`` needs); anything else is a
    :class:`LockError` naming the line."""
    path = Path(path) if path is not None else REPO_ROOT / LOCK_NAME
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no lock file; `make lock` writes it from pyproject.toml")
    data = path.read_bytes()
    versions: dict[str, str] = {}
    for no, line in _logical_lines(data.decode("utf-8")):
        if line.startswith("-"):  # options (--index-url …) carry no pin
            continue
        m = _PIN.match(line)
        if not m:
            raise LockError(f"{path}:{no}: not an exact pin `name==version`: {line[:80]!r}")
        if "--hash=sha256:" not in line:
            raise LockError(f"{path}:{no}: {m.group(1)} has no --hash=sha256 (run `make lock`)")
        name = normalize(m.group(1))
        if name in versions:
            raise LockError(f"{path}:{no}: {m.group(1)} is pinned twice")
        versions[name] = m.group(3)
    if not versions:
        raise LockError(f"{path}: pins no package")
    return Lock(path=path, digest=hashlib.sha256(data).hexdigest(), versions=dict(sorted(versions.items())))


def same_version(locked: str, installed: str) -> bool:
    """Whether an installed version is the locked one; a local label the lock does not name
    (``2.14.1+cu130`` for ``2.14.1``) is the same release, as pip's ``==`` treats it."""
    if installed == locked:
        return True
    return "+" not in locked and installed.split("+", 1)[0] == locked


@dataclass(frozen=True)
class Drift:
    """One package whose installed version is not the locked one (``installed`` None: missing)."""

    name: str
    locked: str
    installed: str | None


def drift(locked: Mapping[str, str], installed: Mapping[str, str]) -> list[Drift]:
    """Every locked package that is missing or installed at another version (names normalized)."""
    have = {normalize(k): v for k, v in installed.items()}
    out = []
    for name, version in sorted(locked.items()):
        got = have.get(normalize(name))
        if got is None or not same_version(version, got):
            out.append(Drift(normalize(name), version, got))
    return out


def unlocked(locked: Mapping[str, str], installed: Mapping[str, str], ignore: tuple[str, ...] = ()) -> list[str]:
    """Installed distributions the lock does not name (``ignore``: e.g. the project itself, pip)."""
    names = {normalize(k) for k in locked}
    skip = {normalize(k) for k in ignore}
    return sorted(n for n in (normalize(k) for k in installed) if n not in names and n not in skip)


ENV_HEADER = """\
# Conda environment for users who prefer conda. GENERATED from requirements.lock by `make lock`
# (python -m vise_lib.run.lock environment.yml); do not edit by hand, a test checks the two agree.
# conda provides Python, pip installs the locked versions and then the project:
#   conda env create -f environment.yml && conda activate vise
# (`make book` / `make test` install the same lock with its hashes: pip --require-hashes.)
"""


def environment_yml(lock: Lock) -> str:
    """``environment.yml`` for conda users: Python, then every locked version through pip, then the project."""
    lines = [
        ENV_HEADER.rstrip("\n"),
        "name: vise",
        "channels:",
        "  - conda-forge",
        "dependencies:",
        f"  - python={LOCK_PYTHON}",
        "  - pip",
        "  - pip:",
    ]
    lines += [f"      - {name}=={version}" for name, version in lock.versions.items()]
    lines.append("      - -e .")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m vise_lib.run.lock ENVIRONMENT_YML", file=sys.stderr)
        return 2
    Path(args[0]).write_text(environment_yml(read_lock()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
