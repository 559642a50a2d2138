"""Train every headline backbone for every pretraining seed (the pretrain stage of the study),
and the tables of those runs (:func:`runs_table`, :func:`history_frame`, :func:`time_table`).

A backbone is named ``<variant>@<seed>``; its folder is ``<out_root>/<variant>/seed<seed>``.
Training resumes from a checkpoint left in that folder (``pretrain(..., resume=True)``). The
``random`` backbone gets its BatchNorm statistics recomputed on the post images
(:mod:`vise_lib.pretrain.batchnorm`); its weights stay the seeded initialisation.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import Executor, ProcessPoolExecutor
from pathlib import Path

import numpy as np

from vise_lib.pretrain.batchnorm import recompute_batchnorm_file
from vise_lib.pretrain.config import TrainConfig
from vise_lib.pretrain.loop import pretrain
from vise_lib.pretrain.variants import training_set
from vise_lib.verdicts.results import training_seconds


def backbone_name(variant: str, seed: int) -> str:
    return f"{variant}@{int(seed)}"


def split_name(name: str) -> tuple[str, int]:
    """``"vise@2"`` -> ``("vise", 2)``; a name without ``@`` is seed 0."""
    variant, _, seed = name.partition("@")
    return variant, int(seed or 0)


def train_one(
    variant: str,
    seed: int,
    world_dir,
    labels_dir,
    cfg: TrainConfig,
    out_dir,
    progress: bool = False,
    holdout: float = 0.0,
) -> dict:
    """Train (or resume, or find finished) one backbone ``variant@seed`` in ``out_dir``; returns its run
    (see :func:`train_backbones`). A pure function of its arguments, so it can run in a worker process."""
    c = dataclasses.replace(cfg, seed=int(seed))
    ts = training_set(variant, world_dir, labels_dir, seed=int(seed), holdout=holdout)
    r = pretrain(
        ts.images,
        ts.label_sets,
        c,
        out_dir,
        resume=True,
        progress=progress,
        objective=ts.objective,
        holdout=ts.holdout,
        echo=False,  # the stage says in one line how many backbones resumed (:func:`resume_summary`)
    )
    if variant == "random":
        if not isinstance(ts.images, np.ndarray):
            raise ValueError("the random baseline's BatchNorm recompute needs in-memory images (images.npy)")
        recompute_batchnorm_file(r["backbone"], ts.images, c.arch, c.width, c.blocks)
    return {
        "variant": variant,
        "seed": int(seed),
        "backbone": r["backbone"],
        "objective": ts.objective,
        "sources": ts.sources,
        "num_classes": ts.num_classes,
        "steps": r["steps"],
        "seconds": r["seconds"],
        "images_per_s": r["images_per_s"],
        "history": r["history"],
        "bn_recomputed": variant == "random",
        "n_images": len(ts.images),
        "n_holdout": 0 if ts.holdout is None else len(ts.holdout[0]),
        "resumed_from_step": None if not r.get("resume") or r["resume"]["from"] is None else r["resume"]["step"],
    }


def resume_summary(runs: dict) -> str:
    """One line: how many of the backbones started fresh, and how many continued from (or were
    found finished in) their checkpoints."""
    resumed = [n for n, r in runs.items() if r.get("resumed_from_step") is not None]
    return (
        f"{len(runs) - len(resumed)} backbone(s) trained from step 0, {len(resumed)} continued from their "
        "checkpoints (same inputs and parameters)"
    )


def training_pool(jobs: int) -> Executor | None:
    """A process pool for ``jobs`` > 1 concurrent trainings (``spawn``: torch's thread pools do not
    survive ``fork``), or None for one at a time. Each training is single-threaded and seeded, so
    its weights do not depend on how many run at once."""
    if jobs <= 1:
        return None
    ctx = multiprocessing.get_context("spawn")
    return ProcessPoolExecutor(max_workers=jobs, mp_context=ctx, initializer=exit_with_parent, initargs=(os.getpid(),))


def exit_with_parent(parent: int, every: float = 1.0) -> None:
    """In a training worker: end this process once ``parent`` is gone (a killed stage or kernel
    must not leave its trainings running), checked every ``every`` seconds by a daemon thread."""

    def watch() -> None:
        while True:
            time.sleep(every)
            if os.getppid() != parent:
                os._exit(3)

    threading.Thread(target=watch, daemon=True, name="exit-with-parent").start()


def train_backbones(
    variants,
    seeds,
    world_dir,
    labels_dir,
    cfg: TrainConfig,
    out_root,
    progress: bool = False,
    jobs: int = 1,
    pool: Executor | None = None,
    seeds_for: dict[str, list[int]] | None = None,
    holdout: float = 0.0,
) -> dict:
    """Train ``variants`` x ``seeds``; returns ``{"order": [names], "variants": {name: run}, "config"}``.

    Each run holds ``variant``, ``seed``, ``backbone`` (checkpoint path), ``objective``,
    ``sources``, ``num_classes``, ``steps``, ``seconds``, ``images_per_s``, ``history`` and
    ``bn_recomputed`` (True for ``random``). ``cfg.seed`` is replaced by each seed;
    ``seeds_for`` gives a variant other seeds than ``seeds``. ``jobs`` > 1 trains that many
    backbones at once in worker processes (or in ``pool``, if given); the order of the result is
    the same either way. ``holdout`` sets that fraction of the posts aside for every variant
    (:func:`~vise_lib.pretrain.variants.with_holdout`): each epoch logs the held-out accuracy.
    """
    own = training_pool(jobs) if pool is None else None
    try:
        return submit_backbones(
            variants, seeds, world_dir, labels_dir, cfg, out_root, pool or own, seeds_for, holdout, progress
        )()
    finally:
        if own is not None:
            own.shutdown()


def submit_backbones(
    variants,
    seeds,
    world_dir,
    labels_dir,
    cfg: TrainConfig,
    out_root,
    pool: Executor | None,
    seeds_for: dict[str, list[int]] | None = None,
    holdout: float = 0.0,
    progress: bool = False,
) -> Callable[[], dict]:
    """Hand the trainings of :func:`train_backbones` to ``pool`` now (None: train them when the
    result is asked for) and return a function that waits for them and gives that result, so a
    caller can queue the trainings of several studies before it waits for the first."""
    if not variants or not seeds:
        raise ValueError("need at least one variant and one pretraining seed")
    out_root, seeds_for = Path(out_root), seeds_for or {}
    todo = [(v, int(s)) for s in seeds for v in variants if int(s) in [int(x) for x in seeds_for.get(v, seeds)]]
    todo += [(v, int(s)) for v in variants for s in seeds_for.get(v, []) if int(s) not in [int(x) for x in seeds]]
    args = [(v, s, world_dir, labels_dir, cfg, out_root / v / f"seed{s}", progress, holdout) for v, s in todo]
    futures = None if pool is None else [pool.submit(train_one, *a) for a in args]

    def result() -> dict:
        done = [train_one(*a) for a in args] if futures is None else [f.result() for f in futures]
        runs = {backbone_name(v, s): r for (v, s), r in zip(todo, done, strict=True)}
        return {"order": list(runs), "variants": runs, "config": dataclasses.asdict(cfg)}

    return result


def runs_table(runs: dict):
    """One row per backbone of :func:`train_backbones`' ``variants``: its variant, seed,
    objective, supervision, classes, steps and whether its BatchNorm was recomputed (DataFrame)."""
    import pandas as pd

    return pd.DataFrame(
        [
            {
                "backbone": n,
                "variant": r["variant"],
                "seed": r["seed"],
                "objective": r["objective"],
                "supervision": ", ".join(r["sources"]) or "-",
                "classes": r["num_classes"],
                "steps": r["steps"],
                "BatchNorm recomputed": r["bn_recomputed"],
            }
            for n, r in runs.items()
        ]
    )


def history_frame(runs: dict):
    """The learning curves: one row per (backbone, epoch) with its variant, seed, loss, training
    accuracy (on the augmented batches of that epoch, mean over the heads) and, where the run
    held posts out, ``held-out accuracy`` (after that epoch, mean over the heads) (DataFrame)."""
    import pandas as pd

    def mean(xs):
        return sum(xs) / len(xs) if xs else float("nan")

    return pd.DataFrame(
        [
            {
                "variant": r["variant"],
                "seed": r["seed"],
                "epoch": row["epoch"],
                "loss": row["loss"],
                "accuracy": mean(row["accuracy"]),
                "held-out accuracy": mean(row.get("holdout_accuracy") or []),
            }
            for r in runs.values()
            for row in r["history"]
        ]
    )


#: A learning curve is flat at the end when the held-out accuracy on the variant's own labels
#: (``holdout``; the seed-mean curve) rose by at most this many points over the last quarter of
#: the epochs. Training accuracy is shown next to it but is not read: under a cosine schedule it
#: keeps rising as the learning rate anneals, the network memorising its training posts
#: (``shuffled``, whose labels carry nothing, shows how far memorising alone goes). A flat end is
#: necessary, not sufficient: the annealing itself flattens every curve, so whether more epochs
#: teach more is measured by a budget point (:func:`budget_gain_table`, :data:`LEARNED_GAIN`).
FLAT_RISE = 2.0
#: A variant had learned its labels at the main budget when twice the epochs (a budget point)
#: raise its held-out accuracy by at most this many points.
LEARNED_GAIN = 2.0


def last_quarter_rise(accuracy: list[float]) -> float:
    """Points gained over the last quarter of the epochs: the slope of a least-squares line through
    the accuracies from the epoch a quarter of the run before the end to the last, times that span
    (a per-epoch accuracy is noisy; the line does not hinge on two noisy epochs). NaN with fewer
    than 2 epochs or any NaN among them."""
    n = len(accuracy)
    if n < 2:
        return float("nan")
    k = max(1, round(n / 4))
    tail = np.asarray(accuracy[n - 1 - k :], dtype=float)
    if np.isnan(tail).any():
        return float("nan")
    slope = float(np.polyfit(np.arange(len(tail)), tail, 1)[0])
    return 100.0 * slope * k


def convergence_table(runs: dict):
    """Per trained variant (over its pretraining seeds): epochs, final training and held-out
    accuracy (%, mean over seeds), the last-quarter rise (:func:`last_quarter_rise`, points) of
    the training accuracy (the largest among the seeds) and of the held-out accuracy (the
    seed-mean curve: the mean of the seeds' rises), and ``flat at the end``: the held-out rise is
    at most :data:`FLAT_RISE` (a variant without held-out curves, SimCLR, is judged on its
    training curve). DataFrame indexed by variant; runs without a log are left out."""
    import pandas as pd

    h = history_frame(runs)
    if h.empty:
        return pd.DataFrame()
    rows = []
    for variant, g in h.groupby("variant", sort=False):
        per_seed = [s.sort_values("epoch") for _, s in g.groupby("seed")]
        train_rise = max(last_quarter_rise(list(s["accuracy"])) for s in per_seed)
        held_rise = float(np.mean([last_quarter_rise(list(s["held-out accuracy"])) for s in per_seed]))
        judged = train_rise if np.isnan(held_rise) else held_rise
        rows.append(
            {
                "variant": variant,
                "seeds": len(per_seed),
                "epochs": int(max(s["epoch"].max() for s in per_seed)),
                "final train accuracy (%)": 100 * float(np.mean([s["accuracy"].iloc[-1] for s in per_seed])),
                "final held-out accuracy (%)": 100
                * float(np.mean([s["held-out accuracy"].iloc[-1] for s in per_seed])),
                "training rise (points)": train_rise,
                "held-out rise (points)": held_rise,
                "flat at the end": bool(judged <= FLAT_RISE),
            }
        )
    return pd.DataFrame(rows).set_index("variant").round(2)


def budget_gain_table(main: dict, more: dict, point: str):
    """What a budget point's extra epochs bought: per variant trained at ``point`` (its runs
    ``more``), the final training and held-out accuracy on its own labels (%, mean over seeds) of
    the main run's backbones of the same variant and seeds (``main``) and of the point's, and the
    held-out gain in points, and whether that gain is at most :data:`LEARNED_GAIN` (DataFrame
    indexed by variant)."""
    import pandas as pd

    seeds = {(r["variant"], r["seed"]) for r in more.values()}
    same = {n: r for n, r in main.items() if (r["variant"], r["seed"]) in seeds}
    a, b = convergence_table(same), convergence_table(more)
    if a.empty or b.empty:
        return pd.DataFrame()
    both = a.index.intersection(b.index)
    out = pd.DataFrame(
        {
            "seeds": b.loc[both, "seeds"],
            "epochs (main)": a.loc[both, "epochs"],
            f"epochs ({point})": b.loc[both, "epochs"],
            "train (main)": a.loc[both, "final train accuracy (%)"],
            f"train ({point})": b.loc[both, "final train accuracy (%)"],
            "held-out (main)": a.loc[both, "final held-out accuracy (%)"],
            f"held-out ({point})": b.loc[both, "final held-out accuracy (%)"],
        }
    )
    out["held-out gain (points)"] = out[f"held-out ({point})"] - out["held-out (main)"]
    out["learned at the main budget"] = out["held-out gain (points)"] <= LEARNED_GAIN
    return out.round(2)


def time_table(runs: dict):
    """Each variant's training time summed over its pretraining seeds (the epoch log's seconds, so
    a backbone resumed or found finished counts its original training, as the Performance page
    does), its steps and seeds (DataFrame indexed by variant)."""
    import pandas as pd

    rows = [
        {"variant": r["variant"], "seconds": training_seconds(r), "steps": r["steps"], "seeds": 1}
        for r in runs.values()
    ]
    return pd.DataFrame(rows).groupby("variant", sort=False).sum()
