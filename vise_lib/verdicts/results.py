"""The study's plain results files, written and read only through this module.

* ``<run>/downstream/scores.csv``: one row per backbone, task, pretraining seed and probe
  seed, columns :data:`SCORE_COLUMNS` (``top1`` in percent). Pseudo-backbones such as
  ``majority`` and ``chance`` may add one row per task.
* ``<run>/downstream/correct.npz``: per-image correctness behind each score row (key
  ``backbone/task/pretrain_seed/probe_seed``, a bool array over the task's test images in a
  fixed order), what the paired bootstrap of :mod:`vise_lib.verdicts.statistics` resamples.
* ``<run>/summary/claims.json``: a list of claims, each with the fields of
  :data:`CLAIM_FIELDS` plus free ``text`` and ``kind``.

Anyone can check a verdict from these files without the book. Each is written with its check
file ``<name>.check.json`` (size, row count, SHA-256 and the writing stage:
:func:`vise_lib.io.write_check`), and each reader here verifies it first: a truncated or
hand-edited file stops with one line naming the file and the stage to rerun.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from vise_lib.io import atomic_write, atomic_write_text, read_json, verify_check, write_check, write_json
from vise_lib.verdicts.statistics import VERDICTS, Comparison, Rule, paired_bootstrap, verdict, with_power

if TYPE_CHECKING:
    import pandas as pd

SCORE_COLUMNS = ("backbone", "task", "pretrain_seed", "probe_seed", "top1")
CLAIM_FIELDS = ("claim", "task", "a", "b", "diff", "ci_low", "ci_high", "verdict")


def _key(backbone: str, task: str, pretrain_seed: int, probe_seed: int) -> str:
    return f"{backbone}/{task}/{int(pretrain_seed)}/{int(probe_seed)}"


def write_scores(path: str | os.PathLike, rows: Iterable[Mapping], stage: str = "") -> Path:
    """Write ``scores.csv`` (atomically) and its check file naming ``stage``; each row needs every
    column of :data:`SCORE_COLUMNS`."""
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=SCORE_COLUMNS, lineterminator="\n")
    w.writeheader()
    for i, r in enumerate(rows):
        missing = [c for c in SCORE_COLUMNS if c not in r]
        if missing:
            raise ValueError(f"score row {i} lacks {missing}: {dict(r)}")
        w.writerow(
            {
                "backbone": r["backbone"],
                "task": r["task"],
                "pretrain_seed": int(r["pretrain_seed"]),
                "probe_seed": int(r["probe_seed"]),
                "top1": f"{float(r['top1']):.4f}",
            }
        )
    out = atomic_write_text(path, buf.getvalue())
    write_check(out, stage)
    return out


def read_scores(path: str | os.PathLike, stage: str | None = None) -> pd.DataFrame:
    """``scores.csv`` as a pandas DataFrame (typed columns), verified against its check file;
    ``ValueError`` naming the file (and ``stage``, or the stage its check file names, to rerun)
    if it is truncated, edited or malformed."""
    import pandas as pd

    path = Path(path)
    verify_check(path, stage)
    try:
        df = pd.read_csv(path)
        if tuple(df.columns[: len(SCORE_COLUMNS)]) != SCORE_COLUMNS:
            raise ValueError(f"expected columns {list(SCORE_COLUMNS)}, got {list(df.columns)}")
        return df.astype({"backbone": str, "task": str, "pretrain_seed": int, "probe_seed": int, "top1": float})
    except (ValueError, pd.errors.ParserError) as e:
        raise ValueError(f"{path}: {e}") from None


def write_correct(
    path: str | os.PathLike, correct: Mapping[tuple[str, str, int, int], np.ndarray], stage: str = ""
) -> Path:
    """Write per-image correctness, keyed by ``(backbone, task, pretrain_seed, probe_seed)``,
    and its check file naming ``stage``."""
    arrays = {_key(*k): np.asarray(v, dtype=bool) for k, v in correct.items()}
    # numpy's stub types **kwds against the allow_pickle flag; these keys are array names
    out = atomic_write(path, lambda f: np.savez_compressed(f, **arrays))  # type: ignore[arg-type]
    write_check(out, stage)
    return out


def read_correct(path: str | os.PathLike, stage: str | None = None) -> dict[tuple[str, str, int, int], np.ndarray]:
    """Per-image correctness as written by :func:`write_correct`, verified against its check file."""
    verify_check(path, stage)
    out: dict[tuple[str, str, int, int], np.ndarray] = {}
    with np.load(path, allow_pickle=False) as z:
        for k in z.files:
            b, t, ps, qs = k.rsplit("/", 3)
            out[(b, t, int(ps), int(qs))] = z[k]
    return out


def seed_cube(correct: Mapping, backbone: str, task: str) -> np.ndarray:
    """``(pretraining seeds, probe seeds, images)`` correctness of one backbone on one task
    (sorted by seed); ``ValueError`` when the pretraining seeds do not share one set of probe seeds."""
    runs: dict[int, dict[int, np.ndarray]] = {}
    for (b, t, ps, qs), v in sorted(correct.items()):
        if b == backbone and t == task:
            runs.setdefault(int(ps), {})[int(qs)] = np.asarray(v, dtype=bool)
    if not runs:
        raise ValueError(f"no per-image results for backbone {backbone!r} on task {task!r}")
    probes = {tuple(r) for r in runs.values()}
    if len(probes) != 1:
        raise ValueError(
            f"backbone {backbone!r} on task {task!r}: pretraining seeds have different probe seeds "
            f"({ {s: sorted(r) for s, r in runs.items()} }); rerun the stage that wrote its correct.npz"
        )
    return np.stack([np.stack(list(r.values())) for r in runs.values()])


def compare(correct: Mapping, a: str, b: str, task: str, claim: str, rule: Rule, **extra: Any) -> dict:
    """One claim row: ``a`` vs ``b`` on ``task`` with its hierarchical bootstrap CI, the design's
    power (``se``, ``mde``, ``equivalence_power``) and its verdict under ``rule``: ``exploratory``
    when a trained backbone (not in ``rule.fixed``) has fewer than ``rule.min_seeds`` pretraining seeds."""
    a_cube, b_cube = seed_cube(correct, a, task), seed_cube(correct, b, task)
    c: Comparison = with_power(paired_bootstrap(a_cube, b_cube, rule.n_boot, rule.seed), rule.epsilon)
    short = [n for n, k in ((a, c.n_seeds_a), (b, c.n_seeds_b)) if n not in rule.fixed and k < rule.min_seeds]
    return {
        "claim": claim,
        "task": task,
        "a": a,
        "b": b,
        "diff": round(c.diff, 3),
        "ci_low": round(c.ci_low, 3),
        "ci_high": round(c.ci_high, 3),
        "verdict": "exploratory" if short else verdict(c, rule.min_effect, rule.epsilon),
        "min_effect": rule.min_effect,
        "epsilon": rule.epsilon,
        "min_seeds": rule.min_seeds,
        "n_images": c.n_images,
        "n_seeds_a": c.n_seeds_a,
        "n_seeds_b": c.n_seeds_b,
        "n_probe_a": c.n_probe_a,
        "n_probe_b": c.n_probe_b,
        "se": round(c.se, 3),
        "mde": round(c.mde, 3),
        "equivalence_power": round(c.equivalence_power, 3),
        **extra,
    }


def write_claims(path: str | os.PathLike, claims: list[dict], stage: str = "") -> Path:
    """Write ``claims.json`` and its check file naming ``stage``; each claim must carry
    :data:`CLAIM_FIELDS` and a known verdict."""
    for i, c in enumerate(claims):
        missing = [f for f in CLAIM_FIELDS if f not in c]
        if missing:
            raise ValueError(f"claim {i} lacks {missing}")
        if c["verdict"] not in VERDICTS:
            raise ValueError(f"claim {i}: verdict {c['verdict']!r} is not one of {VERDICTS}")
    return write_json(path, claims, stage=stage)


def read_claims(path: str | os.PathLike, stage: str | None = None) -> list[dict]:
    """The claims written by :func:`write_claims`, verified against their check file."""
    verify_check(path, stage)
    return read_json(path)


def training_seconds(run: dict) -> float:
    """Seconds a backbone's training took in all: its epoch log's ``seconds`` (the log travels in
    the checkpoint, so a run resumed or found finished still counts the original training), or
    the run's own ``seconds`` when there is no log (the untrained ``random``)."""
    return float(sum(h["seconds"] for h in run.get("history") or [])) or float(run["seconds"])
