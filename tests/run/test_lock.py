"""requirements.lock: it satisfies pyproject.toml, covers every package the project imports, is
installable with --require-hashes, and environment.yml is derived from it."""

from __future__ import annotations

import ast
import json
import sys
from importlib import metadata

import pytest
import tomllib
from conftest import REPO
from packaging.markers import default_environment
from packaging.requirements import Requirement

from vise_lib.run.lock import LockError, drift, environment_yml, normalize, read_lock, same_version, unlocked

# The platform the lock is resolved for (`make lock`): Linux x86_64, CPython 3.11.
LOCK_ENV = {
    **default_environment(),
    "python_version": "3.11",
    "python_full_version": "3.11.0",
    "sys_platform": "linux",
    "platform_system": "Linux",
    "platform_machine": "x86_64",
    "os_name": "posix",
    "implementation_name": "cpython",
    "platform_python_implementation": "CPython",
}


def pyproject_requirements() -> list[Requirement]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    reqs = list(project["dependencies"])
    for extra in ("dev", "scale"):
        reqs += project["optional-dependencies"][extra]
    return [Requirement(r) for r in reqs]


def unmet(reqs: list[Requirement], locked: dict[str, str]) -> list[str]:
    """Requirements (for the lock's platform) that the locked versions do not satisfy."""
    bad = []
    for r in reqs:
        if r.marker is not None and not r.marker.evaluate({**LOCK_ENV, "extra": ""}):
            continue
        version = locked.get(normalize(r.name))
        if version is None:
            bad.append(f"{r}: not in the lock")
        elif not r.specifier.contains(version, prereleases=True):
            bad.append(f"{r}: locked {version}")
    return bad


def test_the_lock_satisfies_every_dependency_of_pyproject():
    bad = unmet(pyproject_requirements(), read_lock().versions)
    assert not bad, f"requirements.lock disagrees with pyproject.toml (run `make lock`): {bad}"


def test_a_lock_that_disagrees_with_pyproject_is_caught():
    locked = dict(read_lock().versions)
    locked["torch"] = "2.0.0"
    del locked["seaborn"]
    bad = unmet(pyproject_requirements(), locked)
    assert any(b.startswith("torch==") and "locked 2.0.0" in b for b in bad), bad
    assert any(b.startswith("seaborn") and "not in the lock" in b for b in bad), bad


def _optional(tree: ast.AST) -> set[int]:
    """Line numbers of imports inside ``try: … except ImportError`` (optional, reported at use)."""
    lines = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Try) and any(
            h.type is not None and "ImportError" in ast.unparse(h.type) for h in node.handlers
        ):
            for inner in node.body:
                lines |= {n.lineno for n in ast.walk(inner) if isinstance(n, ast.Import | ast.ImportFrom)}
    return lines


def imported_modules(source: str) -> set[str]:
    """Top-level modules a source imports unconditionally (relative and optional imports left out)."""
    tree = ast.parse(source)
    optional = _optional(tree)
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom) and node.lineno in optional:
            continue
        if isinstance(node, ast.Import):
            found |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


def project_imports() -> dict[str, set[str]]:
    """Third-party top-level module -> the files (vise_lib, notebooks) that import it."""
    sources = [(p, p.read_text()) for p in sorted((REPO / "vise_lib").rglob("*.py"))]
    for nb in sorted((REPO / "notebooks").glob("*.ipynb")):
        cells = json.loads(nb.read_text())["cells"]
        code = "\n".join(
            "".join(c["source"]) for c in cells if c["cell_type"] == "code" and not "".join(c["source"]).startswith("%")
        )
        sources.append((nb, code))
    found: dict[str, set[str]] = {}
    for path, text in sources:
        for mod in imported_modules(text):
            if mod in sys.stdlib_module_names or mod in ("vise_lib", "__future__"):
                continue
            found.setdefault(mod, set()).add(str(path.relative_to(REPO)))
    return found


def test_imports_helper_skips_optional_and_relative_imports():
    src = "import numpy as np\nfrom .x import y\ntry:\n    import faiss\nexcept ImportError:\n    faiss = None\n"
    assert imported_modules(src) == {"numpy"}


def test_every_package_the_project_imports_is_locked():
    locked = read_lock().versions
    provides = metadata.packages_distributions()
    missing = []
    for mod, files in sorted(project_imports().items()):
        dists = {normalize(d) for d in provides.get(mod, [])}
        if not dists & set(locked):
            missing.append(
                f"{mod} (imported by {sorted(files)[0]}; provided by {sorted(dists) or 'nothing installed'})"
            )
    assert not missing, f"imported but not in requirements.lock (add to pyproject.toml, run `make lock`): {missing}"


def test_every_entry_is_an_exact_pin_with_hashes_for_linux_x86_64():
    text = (REPO / "requirements.lock").read_text()
    lock = read_lock()
    assert len(lock.versions) > 100  # the whole tree, not only the direct dependencies
    assert text.count("--hash=sha256:") >= len(lock.versions)
    assert "torch" in lock.versions and "jupyter-book" in lock.versions and "sphinx" in lock.versions


def test_environment_yml_is_derived_from_the_lock():
    lock = read_lock()
    assert (REPO / "environment.yml").read_text() == environment_yml(lock), "run `make lock`"
    import yaml

    env = yaml.safe_load(environment_yml(lock))
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)
    assert len(pip) == len(lock.versions) + 1 and pip[-1] == "-e ."
    assert "python=3.11" in env["dependencies"]


def test_read_lock_names_the_bad_line(tmp_path):
    good = "a==1.0 \\\n    --hash=sha256:" + "0" * 64 + "\n    # via x\n"
    (tmp_path / "ok.lock").write_text(good)
    assert read_lock(tmp_path / "ok.lock").versions == {"a": "1.0"}
    (tmp_path / "loose.lock").write_text(good + "b>=2 \\\n    --hash=sha256:" + "1" * 64 + "\n")
    with pytest.raises(LockError, match=r"loose.lock:4: not an exact pin"):
        read_lock(tmp_path / "loose.lock")
    (tmp_path / "nohash.lock").write_text(good + "C_d==2\n")
    with pytest.raises(LockError, match=r"nohash.lock:4: C_d has no --hash"):
        read_lock(tmp_path / "nohash.lock")
    with pytest.raises(FileNotFoundError, match="make lock"):
        read_lock(tmp_path / "absent.lock")


def test_drift_lists_missing_and_other_versions():
    locked = {"numpy": "2.4.6", "torch": "2.14.1", "py-yaml": "6.0.4", "scipy": "1.17.1"}
    installed = {"NumPy": "2.4.6", "torch": "2.14.1+cu130", "Py_YAML": "6.0.3", "extra-pkg": "1"}
    got = [(d.name, d.locked, d.installed) for d in drift(locked, installed)]
    assert got == [("py-yaml", "6.0.4", "6.0.3"), ("scipy", "1.17.1", None)]
    assert unlocked(locked, installed) == ["extra-pkg"]
    assert unlocked(locked, installed, ignore=("Extra_Pkg",)) == []
    assert same_version("2.14.1", "2.14.1+cpu") and not same_version("2.14.1+cpu", "2.14.1+cu130")
