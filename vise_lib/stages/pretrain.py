"""The pretrain stage (``02_pretrain``): every variant x every pretraining seed.

:func:`run_pretrain` trains the preset's ``pretrain.variants`` for each of its ``seeds`` on the
posts in ``<run_dir>/world`` with the pseudo labels in ``<run_dir>/labels``
(:func:`~vise_lib.study.backbone_runs.train_backbones`: one training setup for every variant; a
backbone resumes from the checkpoint a previous run left in ``<run_dir>/pretrain/<variant>/
seed<seed>``) and writes ``pretrain/results.json`` (:class:`PretrainResult`).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from vise_lib.io import PathArg, write_json
from vise_lib.pretrain.config import TrainConfig
from vise_lib.pretrain.stage_config import PretrainStageConfig
from vise_lib.stages.result_files import ResultFile, typed_config
from vise_lib.study.backbone_runs import resume_summary, train_backbones

STAGE = "02_pretrain"


@dataclass(frozen=True)
class PretrainResult(ResultFile):
    """``pretrain/results.json``: the backbones in training ``order`` (``<variant>@<seed>``),
    each one's run in ``variants`` (``variant``, ``seed``, ``backbone`` (the checkpoint's path),
    ``objective``, ``sources``, ``num_classes``, ``steps``, ``seconds``, ``images_per_s``,
    ``history``, ``bn_recomputed``, ``n_images``; see
    :func:`~vise_lib.study.backbone_runs.train_backbones`), the training ``config`` every
    variant shares (:class:`~vise_lib.pretrain.config.TrainConfig` fields; each run sets its own
    ``seed``), the ``stage`` config (:class:`~vise_lib.pretrain.stage_config.PretrainStageConfig`
    fields) and the stage's wall time in ``seconds``."""

    STAGE: ClassVar[str] = STAGE
    FILE: ClassVar[str] = "pretrain/results.json"

    order: list[str]
    variants: dict[str, dict]
    config: dict
    stage: dict
    seconds: float

    def train_config(self) -> TrainConfig:
        """The shared training config, typed."""
        return TrainConfig(**self.config)

    def stage_config(self) -> PretrainStageConfig:
        """The stage's config, typed."""
        return PretrainStageConfig.from_params(self.stage, where=self.FILE)

    def backbones(self) -> dict[str, str]:
        """Each backbone's checkpoint path, in training order."""
        return {n: self.variants[n]["backbone"] for n in self.order}

    @property
    def seeds(self) -> list[int]:
        """The pretraining seeds, sorted."""
        return sorted({int(r["seed"]) for r in self.variants.values()})

    @classmethod
    def from_json(cls, data: dict) -> PretrainResult:
        """From the file's layout; ``variants`` in training ``order`` (the file has its keys sorted)."""
        order, variants = data["order"], data["variants"]
        if sorted(order) != sorted(variants):
            raise ValueError(f"{cls.FILE}: 'order' {order} does not name the runs in 'variants' {sorted(variants)}")
        fields = {f.name: data[f.name] for f in dataclasses.fields(cls)}
        return cls(**{**fields, "variants": {n: variants[n] for n in order}})


def run_pretrain(
    config: PretrainStageConfig | dict | None, run_dir: PathArg, echo: Callable = print, progress: bool = False
) -> PretrainResult:
    """Train every backbone of the stage in ``run_dir/pretrain`` and write its results file;
    ``progress`` shows the training loop's progress bars."""
    run, stage = Path(run_dir), typed_config(PretrainStageConfig, config)
    cfg = stage.train_config()
    t0 = time.perf_counter()
    pre = train_backbones(
        stage.variants,
        stage.seeds,
        run / "world",
        run / "labels",
        cfg,
        run / "pretrain",
        progress=progress and stage.jobs == 1,
        jobs=stage.jobs,
        seeds_for=stage.variant_seeds,
        holdout=stage.holdout,
    )
    seconds = time.perf_counter() - t0
    result = PretrainResult(pre["order"], pre["variants"], pre["config"], stage.to_params(), seconds)
    write_json(run / PretrainResult.FILE, result.to_json(), stage=PretrainResult.STAGE)
    result = PretrainResult.read(run)
    echo(
        f"{len(result.order)} backbones written to {PretrainResult.FILE} in {seconds:.1f} s; "
        + resume_summary(pre["variants"])
    )
    return result
