"""The generated page "Reproducibility": versions, seeds, per-stage keys, parameters, rerun
commands and wall times, from what the run recorded.

:func:`reproducibility_context` gathers them from the pipeline's per-stage state files and
this environment; the prose is in ``templates/reproducibility.md``.
"""

from __future__ import annotations

import json
import platform
import shlex
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib import metadata
from typing import Protocol

from vise_lib.run.lock import LOCK_NAME, Drift, Lock, drift, read_lock, unlocked
from vise_lib.run.page_template import render
from vise_lib.run.presets import Stage


class StageOutcome(Protocol):
    """What the page reads of a stage's outcome (``vise_lib.run.pipeline.StageResult``)."""

    stage: str
    status: str


KEY_PACKAGES = (
    "torch",
    "torchvision",
    "numpy",
    "scipy",
    "scikit-learn",
    "pandas",
    "faiss-cpu",
    "papermill",
    "jupyter-book",
    "sphinx",
    "matplotlib",
    "seaborn",
)
KEY_CHARS = 16  # of a stage's cache key shown
# installed but never in the lock: the project itself (pip install --no-deps -e .) and pip
NOT_LOCKED = ("vise-companion", "pip")


def installed_packages() -> dict[str, str]:
    """Every distribution in this environment, name -> version."""
    pk = {}
    for d in metadata.distributions():
        name = d.metadata["Name"]
        if name:
            pk[name.lower()] = d.version
    return dict(sorted(pk.items()))


def papermill_command(stage: Stage, preset: str, params: Mapping) -> str:
    """The exact command that reruns one stage alone (from the repository root)."""
    out = f"book/_generated/{preset}/{stage.name}.ipynb"
    parts = [".venv/bin/papermill", "-k", "vise-venv", "--cwd", f"book/_generated/{preset}", stage.notebook, out]
    for k, v in params.items():
        if k == "run_dir":
            continue
        if isinstance(v, str):
            parts += ["-p", k, v]
        else:
            parts += ["-y", f"{k}: {json.dumps(v)}"]
    cmd = " ".join(shlex.quote(p) for p in parts)
    return cmd.replace(" -p preset", f' -p run_dir "$PWD/runs/{preset}" -p preset', 1)


def seed_parameters(section: str, params: Mapping | None) -> list[str]:
    """``"section.name = value"`` for every parameter whose name holds ``seed``, at any depth of a
    stage's parameters (a typed section's are under ``config``, which the name leaves out)."""
    found = []

    def visit(path: tuple[str, ...], node: Mapping) -> None:
        for k, v in node.items():
            here = (*path, str(k))
            if "seed" in str(k):
                found.append(f"{'.'.join(here)} = {v}")
            elif isinstance(v, Mapping):
                visit(here, v)

    params = params or {}
    visit((section,), params["config"] if isinstance(params.get("config"), Mapping) else params)
    return found


@dataclass(frozen=True)
class StageRecord:
    """One stage as the run recorded it; None where it has no state (never executed)."""

    stage: str
    status: str | None  # this run: ran, cached, skipped, failed
    key: str | None  # the first KEY_CHARS characters of its cache key
    seconds: float | None  # wall time when it was executed
    command: str | None  # the papermill command that reruns it alone


@dataclass(frozen=True)
class ReproducibilityContext:
    """Everything the Reproducibility page shows."""

    preset: str
    stages: tuple[StageRecord, ...]
    seeds: tuple[str, ...]  # "section.parameter = value" (:func:`seed_parameters`)
    python: str
    platform: str
    machine: str
    key_packages: tuple[tuple[str, str | None], ...]  # version None: not installed
    packages: tuple[tuple[str, str], ...]
    lock: LockReport | None  # None: no requirements.lock beside the library (not a source checkout)


@dataclass(frozen=True)
class LockReport:
    """The environment against ``requirements.lock``: its digest, and what differs from it."""

    name: str
    digest: str  # sha256 of the lock file
    locked: int  # how many packages it pins
    drift: tuple[Drift, ...]  # locked packages missing or installed at another version
    unlocked: tuple[str, ...]  # installed packages the lock does not name


def lock_report(lock: Lock, packages: Mapping[str, str]) -> LockReport:
    """Compare the installed ``packages`` (name -> version) with the lock."""
    return LockReport(
        name=LOCK_NAME,
        digest=lock.digest,
        locked=len(lock.versions),
        drift=tuple(drift(lock.versions, packages)),
        unlocked=tuple(unlocked(lock.versions, packages, ignore=NOT_LOCKED)),
    )


def _default_lock() -> Lock | None:
    try:
        return read_lock()
    except FileNotFoundError:
        return None


def reproducibility_context(
    preset: str,
    stages: Sequence[Stage],
    states: Mapping[str, Mapping],
    results: Iterable[StageOutcome],
    packages: Mapping[str, str] | None = None,
    lock: Lock | None = None,
) -> ReproducibilityContext:
    """The page's records: ``states`` are the pipeline's per-stage state files (``key``,
    ``seconds``, ``params``), ``results`` this run's outcomes, ``packages`` name -> version
    (default: :func:`installed_packages`), ``lock`` the lock to compare them with (default: the
    repository's ``requirements.lock``, when there is one)."""
    status = {r.stage: r.status for r in results}
    pk = installed_packages() if packages is None else dict(packages)
    lock = lock if lock is not None else _default_lock()
    records = []
    for s in stages:
        st = states.get(s.name, {})
        key, params = st.get("key"), st.get("params")
        records.append(
            StageRecord(
                stage=s.name,
                status=status.get(s.name),
                key=key[:KEY_CHARS] if key else None,
                seconds=st.get("seconds"),
                command=papermill_command(s, preset, params) if params else None,
            )
        )
    seeds = sorted({seed for s in stages for seed in seed_parameters(s.section, states.get(s.name, {}).get("params"))})
    return ReproducibilityContext(
        preset=preset,
        stages=tuple(records),
        seeds=tuple(seeds),
        python=platform.python_version(),
        platform=platform.platform(),
        machine=platform.machine(),
        key_packages=tuple((p, pk.get(p)) for p in KEY_PACKAGES),
        packages=tuple(pk.items()),
        lock=lock_report(lock, pk) if lock is not None else None,
    )


def reproducibility_page(
    preset: str, stages: Sequence[Stage], states: Mapping[str, Mapping], results: Iterable[StageOutcome]
) -> str:
    """Markdown of the page "Reproducibility" (``templates/reproducibility.md``)."""
    return render("reproducibility.md", reproducibility_context(preset, stages, states, results))
