"""The ablation stage (``04_ablations``): the main run with one thing changed, end to end, per point.

:func:`run_ablations` plans the points (:func:`vise_lib.study.ablation.plan`: the "no" worlds,
the engagement-noise and affect sweeps, other k-means and world seeds) from the main run's
world (``world/world.json``), pseudo-label settings (``labels/results.json``), training config
and pretraining seeds (``pretrain/results.json``) and probe seeds (``downstream/scores.csv``),
measures what the main run's pseudo labels carry, runs every point
(:func:`~vise_lib.study.ablation.run_point`) and writes

* ``ablations/scores.csv`` and ``ablations/correct.npz`` (:mod:`vise_lib.verdicts.results`),
  backbones named ``<point>:<variant>``, read by the summary's claims;
* ``ablations/results.json``: :class:`AblationsResult`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from vise_lib.io import PathArg, write_json
from vise_lib.labels.pseudo_labels import load_labels
from vise_lib.stages.labels import LabelsResult
from vise_lib.stages.pretrain import PretrainResult
from vise_lib.stages.result_files import ResultFile, read_result, result_path, typed_config
from vise_lib.study import ablation
from vise_lib.study.backbone_runs import budget_gain_table, training_pool
from vise_lib.study.label_information import label_information
from vise_lib.study.stage_configs import AblationsConfig
from vise_lib.verdicts.results import read_scores, write_correct, write_scores
from vise_lib.world.generate import load_latents

if TYPE_CHECKING:
    import pandas as pd

STAGE = "04_ablations"
#: the main run's pseudo-label settings every point starts from
LABEL_KEYS = ("signal", "n_clusters", "svd_dim", "seed", "backend", "encoder")


@dataclass(frozen=True)
class AblationsResult(ResultFile):
    """``ablations/results.json``: the ``points`` (names, in order), ``information`` (per point and
    for the ``"main run"``: NMI / AMI of the pseudo labels with each latent and the conditional MI
    of :func:`~vise_lib.study.label_information.label_information`), every score ``rows`` (the
    columns of ``scores.csv`` plus ``point``, ``kind`` and ``value``), the ``stage`` config,
    ``seconds`` of the whole stage, ``timing`` per point (its ``kind`` and the seconds of its
    phases) and ``histories``: every trained backbone's epoch log (``<point>:<backbone>`` ->
    variant, seed, history), the learning curves of the budget points."""

    STAGE: ClassVar[str] = STAGE
    FILE: ClassVar[str] = "ablations/results.json"
    SCORES: ClassVar[str] = "ablations/scores.csv"
    CORRECT: ClassVar[str] = "ablations/correct.npz"

    points: list[str]
    information: dict[str, dict[str, float]]
    rows: list[dict]
    stage: dict
    seconds: float
    timing: dict[str, dict]
    histories: dict[str, dict] = field(default_factory=dict)

    def frame(self) -> pd.DataFrame:
        """The score rows as a DataFrame (columns of ``scores.csv`` plus ``point``, ``kind``, ``value``)."""
        import pandas as pd

        return pd.DataFrame(self.rows)


def main_run_information(run_dir: PathArg) -> dict[str, float]:
    """What the main run's pseudo labels carry about each latent (the reference of every point)."""
    pl = load_labels(Path(run_dir) / "labels")
    latents = load_latents(Path(run_dir) / "world")
    return label_information(pl["label"], {k: v[pl["image_index"]] for k, v in latents.items()})


def run_ablations(config: AblationsConfig | dict | None, run_dir: PathArg, echo: Callable = print) -> AblationsResult:
    """Run the ablation stage in ``run_dir`` (see the module docstring); ``echo`` gets a progress line."""
    run, stage = Path(run_dir), typed_config(AblationsConfig, config)
    work = run / "ablations"
    pre, lab = PretrainResult.read(run), LabelsResult.read(run).to_json()
    base_world = read_result(run, "world/world.json", "00_world", ("config",))["config"]
    main = read_scores(result_path(run, "downstream/scores.csv", "03_downstream"), "03_downstream")
    points = ablation.plan(
        base_world,
        {k: lab[k] for k in LABEL_KEYS},
        stage.no_worlds,
        stage.sweep_engagement_noise,
        stage.sweep_eng_affect,
        stage.kmeans_seeds,
        stage.world_seeds,
        pre.seeds,
        stage.sweep_seeds,
        check_seeds=stage.check_seeds,
        budget_factors=stage.budget_factors,
        weak_tie=stage.weak_tie,
        base_epochs=pre.train_config().epochs,
    )
    cfg, probe_seeds = pre.train_config(), sorted(set(main["probe_seed"]))
    rows, correct, timing, histories, t0 = [], {}, {}, {}, time.perf_counter()
    info = {"main run": main_run_information(run)}
    pool, holdout = training_pool(stage.jobs), pre.stage_config().holdout
    try:  # every point's trainings are queued first, so the workers never wait for a point's probes
        started = [ablation.start_point(p, cfg, work, pool, holdout) for p in points]
        for p, s in zip(points, started, strict=True):
            out = ablation.finish_point(s, cfg, stage.tasks, probe_seeds, work, num_threads=stage.num_threads)
            rows += out["rows"]
            correct.update(out["correct"])
            histories.update(out["histories"])
            info[p.name] = out["information"]
            timing[p.name] = {"kind": p.kind, **out["timing"]}
            echo(
                f"{p.name}: {len(p.variants)} variant(s) x {len(p.seeds)} seed(s) in {sum(out['timing'].values()):.0f} s"
            )
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
    write_scores(run / AblationsResult.SCORES, rows, stage=STAGE)
    write_correct(run / AblationsResult.CORRECT, correct, stage=STAGE)
    seconds = time.perf_counter() - t0
    echo(f"{len(points)} points, {len(rows)} score rows")
    result = AblationsResult([p.name for p in points], info, rows, stage.to_params(), seconds, timing, histories)
    write_json(run / AblationsResult.FILE, result.to_json(), stage=STAGE)
    return AblationsResult.read(run)


def budget_tables(run_dir: PathArg) -> dict[str, pd.DataFrame]:
    """Per budget point of the run's ablations (none when the stage did not run): its
    :func:`~vise_lib.study.backbone_runs.budget_gain_table` against the main run's backbones of
    the same variants and seeds."""
    run = Path(run_dir)
    if not (run / AblationsResult.FILE).exists():
        return {}
    result, pre = AblationsResult.read(run), PretrainResult.read(run)
    return {
        point: budget_gain_table(
            pre.variants, {n: r for n, r in result.histories.items() if n.startswith(f"{point}:")}, point
        )
        for point in result.points
        if point.startswith("budget_")
    }


def budget_gains(run_dir: PathArg) -> dict[str, dict[str, float]]:
    """Each budget point's held-out accuracy gain (points) per variant, from :func:`budget_tables`."""
    return {
        point: {str(v): float(g) for v, g in table["held-out gain (points)"].items()}
        for point, table in budget_tables(run_dir).items()
        if len(table)
    }
