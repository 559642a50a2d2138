"""Train every headline backbone for every pretraining seed (the pretrain stage of the study),
and the tables of those runs (:func:`runs_table`, :func:`history_frame`, :func:`time_table`).

A backbone is named ``<variant>@<seed>``; its folder is ``<out_root>/<variant>/seed<seed>``.
Training resumes from a checkpoint left in that folder (``pretrain(..., resume=True)``). The
``random`` backbone gets its BatchNorm statistics recomputed on the post images
(:mod:`vise_lib.pretrain.batchnorm`); its weights stay the seeded initialisation.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from vise_lib.pretrain.batchnorm import recompute_batchnorm_file
from vise_lib.pretrain.config import TrainConfig
from vise_lib.pretrain.loop import pretrain
from vise_lib.pretrain.variants import training_set


def backbone_name(variant: str, seed: int) -> str:
    return f"{variant}@{int(seed)}"


def split_name(name: str) -> tuple[str, int]:
    """``"vise@2"`` -> ``("vise", 2)``; a name without ``@`` is seed 0."""
    variant, _, seed = name.partition("@")
    return variant, int(seed or 0)


def train_backbones(variants, seeds, world_dir, labels_dir, cfg: TrainConfig, out_root, progress: bool = False) -> dict:
    """Train ``variants`` x ``seeds``; returns ``{"order": [names], "variants": {name: run}, "config"}``.

    Each run holds ``variant``, ``seed``, ``backbone`` (checkpoint path), ``objective``,
    ``sources``, ``num_classes``, ``steps``, ``seconds``, ``images_per_s``, ``history`` and
    ``bn_recomputed`` (True for ``random``). ``cfg.seed`` is replaced by each seed.
    """
    if not variants or not seeds:
        raise ValueError("need at least one variant and one pretraining seed")
    out_root, runs = Path(out_root), {}
    for seed in seeds:
        c = dataclasses.replace(cfg, seed=int(seed))
        for v in variants:
            ts = training_set(v, world_dir, labels_dir, seed=int(seed))
            r = pretrain(
                ts.images,
                ts.label_sets,
                c,
                out_root / v / f"seed{seed}",
                resume=True,
                progress=progress,
                objective=ts.objective,
            )
            if v == "random":
                if not isinstance(ts.images, np.ndarray):
                    raise ValueError("the random baseline's BatchNorm recompute needs in-memory images (images.npy)")
                recompute_batchnorm_file(r["backbone"], ts.images, c.arch, c.width, c.blocks)
            runs[backbone_name(v, seed)] = {
                "variant": v,
                "seed": int(seed),
                "backbone": r["backbone"],
                "objective": ts.objective,
                "sources": ts.sources,
                "num_classes": ts.num_classes,
                "steps": r["steps"],
                "seconds": r["seconds"],
                "images_per_s": r["images_per_s"],
                "history": r["history"],
                "bn_recomputed": v == "random",
                "n_images": len(ts.images),
            }
    return {"order": list(runs), "variants": runs, "config": dataclasses.asdict(cfg)}


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
    """The training curves: one row per (backbone, epoch) with its variant, seed, loss and
    training accuracy (mean over the heads), from each run's ``history`` (DataFrame)."""
    import pandas as pd

    return pd.DataFrame(
        [
            {
                "variant": r["variant"],
                "seed": r["seed"],
                "epoch": row["epoch"],
                "loss": row["loss"],
                "accuracy": sum(row["accuracy"]) / len(row["accuracy"]),
            }
            for r in runs.values()
            for row in r["history"]
        ]
    )


def time_table(runs: dict):
    """Each run's wall time in this stage (a backbone found finished costs little) and steps,
    summed over pretraining seeds per variant (DataFrame indexed by variant)."""
    import pandas as pd

    rows = [{"variant": r["variant"], "seconds": r["seconds"], "steps": r["steps"]} for r in runs.values()]
    return pd.DataFrame(rows).groupby("variant").sum()
