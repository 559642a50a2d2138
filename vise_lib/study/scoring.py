"""Score backbones and reference features on the world's tasks as the study's rows.

Rows follow :data:`vise_lib.verdicts.results.SCORE_COLUMNS` (``top1`` in percent); per-image
correctness is keyed ``(backbone, task, pretrain_seed, probe_seed)`` as
:func:`vise_lib.verdicts.results.write_correct` expects. Backbone names ``<variant>@<seed>``
(:mod:`vise_lib.study.backbone_runs`) are split into the variant and its pretraining seed;
reference features (no pretraining) have pretraining seed 0.
"""

from __future__ import annotations

from vise_lib.study.backbone_runs import split_name
from vise_lib.study.reference_features import REFERENCES
from vise_lib.transfer.runner import SPLITS, probe_features, resolve_backbones, run_transfer, world_tasks


def score_rows(runs, correct, prefix: str = "") -> tuple[list[dict], dict]:
    """Linear-protocol runs of :func:`run_transfer` (and their ``correct_out``) as score rows and
    correctness keyed ``(variant, task, pretrain_seed, probe_seed)``."""
    rows, out = [], {}
    for r in runs:
        if r.get("protocol", "linear") != "linear":
            continue
        variant, ps = split_name(r["backbone"])
        rows.append(
            {
                "backbone": prefix + variant,
                "task": r["task"],
                "pretrain_seed": ps,
                "probe_seed": r["seed"],
                "top1": 100.0 * r["test"]["top1"],
            }
        )
    for (name, task, qs), v in correct.items():
        variant, ps = split_name(name)
        out[(prefix + variant, task, ps, qs)] = v
    return rows, out


def score_backbones(
    world_dir,
    backbones: dict,
    arch: str,
    width: int,
    blocks: int,
    tasks,
    probe_seeds,
    cache_dir=None,
    num_threads: int = 0,
    prefix: str = "",
) -> tuple[dict, list[dict], dict]:
    """Linear-probe ``backbones`` (``{"variant@seed": checkpoint}``) on the world's ``tasks``.

    Returns ``(transfer results, score rows, correctness)``; ``prefix`` is put before every
    variant name in the rows (e.g. ``"content_only:"`` for an ablation world).
    """
    specs = resolve_backbones(backbones, arch, width, blocks)
    correct: dict = {}
    res = run_transfer(
        world_tasks(world_dir, tasks),
        specs,
        probe_seeds,
        cache_dir=cache_dir,
        num_threads=num_threads,
        correct_out=correct,
    )
    rows, corr = score_rows(res["runs"], correct, prefix)
    return res, rows, corr


def score_references(world_dir, tasks, probe_seeds, names=tuple(REFERENCES)) -> tuple[list[dict], dict]:
    """Score rows and correctness of the reference features (``pixels``, ``handmade``)."""
    rows, corr, memo = [], {}, {}
    for task in world_tasks(world_dir, tasks):
        for name in names:
            feats = {}
            for s in SPLITS:  # the world's tasks share their images: compute each feature set once
                x = task.splits[s][0]
                key = (name, s, id(x))
                if key not in memo:
                    memo[key] = REFERENCES[name](x)
                feats[s] = memo[key]
            correct: dict = {}
            runs = probe_features(name, task, feats, probe_seeds, correct_out=correct)
            r, c = score_rows(runs, correct)
            rows += r
            corr.update(c)
    return rows, corr
