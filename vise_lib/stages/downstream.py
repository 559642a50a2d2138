"""The downstream stage (``03_downstream``): every backbone on the same tasks, under one protocol.

:func:`run_downstream` resolves the backbones (the config's ``backbones``, or every
``<variant>@<seed>`` run of the pretrain stage, read from ``pretrain/results.json`` with its
architecture), takes the world's tasks (or, with ``dataset``, one real dataset given as a local
path), runs :func:`~vise_lib.transfer.runner.run_transfer` over the probe seeds and writes

* ``downstream/scores.csv`` and ``downstream/correct.npz`` (:mod:`vise_lib.verdicts.results`):
  the backbones' score rows, plus the reference rows ``pixels`` / ``handmade`` on the world;
* ``downstream/results.json``: :class:`DownstreamResult`, everything else (each run's metrics,
  chance per task, the feature cache's counts, timing, the data it ran on, and on the world the
  factor readout: a probe per hidden factor, pretraining seed 0 and probe seed 0).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from vise_lib.io import PathArg, write_json
from vise_lib.stages.pretrain import PretrainResult
from vise_lib.stages.result_files import read_result, typed_config
from vise_lib.study.latent_readout import factor_tasks
from vise_lib.study.scoring import score_references, score_rows
from vise_lib.transfer.runner import Task, dataset_task, resolve_backbones, run_transfer, world_tasks
from vise_lib.transfer.stage_config import DownstreamConfig
from vise_lib.verdicts.results import write_correct, write_scores

STAGE = "03_downstream"


@dataclass(frozen=True)
class DownstreamResult:
    """``downstream/results.json``: what :func:`~vise_lib.transfer.runner.run_transfer` returns
    (``runs``, ``tasks``, ``seeds`` (probe seeds), ``backbones`` (names), ``protocols``,
    ``chance`` per task, ``cache`` counts, ``timing`` in seconds per phase), the ``data`` it ran
    on (``{"source": "world", "tasks"}`` or the dataset's path, format, classes, split sizes and
    skipped files) and, on the world, ``factor_readout`` (``[{"backbone", "factor", "top1"}]``,
    top-1 in %; ``None`` on a dataset)."""

    FILE: ClassVar[str] = "downstream/results.json"
    SCORES: ClassVar[str] = "downstream/scores.csv"
    CORRECT: ClassVar[str] = "downstream/correct.npz"

    runs: list[dict]
    tasks: list[str]
    seeds: list[int]
    backbones: list[str]
    protocols: list[str]
    chance: dict[str, float]
    cache: dict[str, int]
    timing: dict[str, float]
    data: dict
    factor_readout: list[dict] | None = None

    def to_json(self) -> dict:
        """The file's layout (``factor_readout`` only when there is one)."""
        out = dataclasses.asdict(self)
        if self.factor_readout is None:
            del out["factor_readout"]
        return out

    @classmethod
    def from_json(cls, data: dict) -> DownstreamResult:
        """From the file's layout (a key the result does not know is an error, not dropped)."""
        unknown = sorted(set(data) - {f.name for f in dataclasses.fields(cls)})
        if unknown:
            raise ValueError(f"{cls.FILE}: unknown key(s) {unknown}")
        fields: dict[str, Any] = {f.name: data.get(f.name) for f in dataclasses.fields(cls)}
        return cls(**fields)

    @classmethod
    def read(cls, run_dir: PathArg) -> DownstreamResult:
        names = [f.name for f in dataclasses.fields(cls)]
        return cls.from_json(read_result(run_dir, cls.FILE, STAGE, names[:-1], optional=names[-1:]))


def stage_backbones(stage: DownstreamConfig, run_dir: PathArg) -> dict:
    """The backbones' full specs: the config's ``backbones`` (a bare path loads as the checkpoint
    describes itself; see :func:`vise_lib.transfer.specs.resolve_spec`), or every run of the
    pretrain stage with the architecture it was trained as."""
    if stage.backbones is not None:
        return resolve_backbones(stage.backbones, work_dir=run_dir)
    pre = PretrainResult.read(run_dir)
    cfg = pre.train_config()
    return resolve_backbones(pre.backbones(), cfg.arch, cfg.width, cfg.blocks)


def stage_tasks(stage: DownstreamConfig, run_dir: PathArg, echo: Callable = print) -> tuple[list[Task], dict]:
    """The tasks (the world's, or the config's dataset) and the ``data`` entry describing them."""
    if stage.dataset is None:
        return world_tasks(Path(run_dir) / "world", stage.tasks), {"source": "world", "tasks": stage.tasks}
    task, ds, decode_skipped = dataset_task(stage.dataset, stage.dataset_format, stage.image_size)
    skipped = ds.skipped + decode_skipped
    data = {
        "source": str(stage.dataset),
        "format": stage.dataset_format,
        "image_size": stage.image_size,
        "classes": ds.classes,
        "n_images": {s: len(x) for s, (x, _) in task.splits.items()},
        "skipped": [list(s) for s in skipped],
    }
    echo(ds.summary())
    echo(f"{len(decode_skipped)} files could not be decoded and were skipped")
    for path, reason in skipped[:10]:
        echo(f"  skipped {path}: {reason}")
    return [task], data


def run_downstream(
    config: DownstreamConfig | dict | None, run_dir: PathArg, echo: Callable = print
) -> DownstreamResult:
    """Run the downstream stage in ``run_dir`` (see the module docstring); ``echo`` gets progress lines."""
    run, stage = Path(run_dir), typed_config(DownstreamConfig, config)
    specs = stage_backbones(stage, run)
    echo(f"{len(specs)} backbones: {', '.join(specs)}")
    tasks, data = stage_tasks(stage, run, echo)
    for t in tasks:
        echo(f"{t.name}: {len(t.classes)} classes, " + ", ".join(f"{s} {len(x)}" for s, (x, _) in t.splits.items()))
    correct: dict = {}
    results = run_transfer(
        tasks,
        specs,
        stage.seeds,
        protocol=stage.protocol,
        cache_dir=run / "features",
        finetune_epochs=stage.finetune_epochs,
        num_threads=stage.num_threads,
        correct_out=correct,
    )
    results["data"] = data
    rows, corr = score_rows(results["runs"], correct)
    if stage.dataset is None and stage.references:
        ref_rows, ref_corr = score_references(run / "world", stage.tasks, stage.seeds, stage.references)
        rows, corr = rows + ref_rows, {**corr, **ref_corr}
    write_scores(run / DownstreamResult.SCORES, rows)
    write_correct(run / DownstreamResult.CORRECT, corr)
    echo(
        f"{len(rows)} score rows: {len({r['backbone'] for r in rows})} backbones x "
        f"{len({r['task'] for r in rows})} tasks x pretraining seeds x {len(stage.seeds)} probe seed(s)"
    )
    if stage.dataset is None:
        firsts = {n: s for n, s in specs.items() if n.endswith("@0")}
        readout = run_transfer(
            factor_tasks(run / "world") + tasks, firsts, [0], cache_dir=run / "features", num_threads=stage.num_threads
        )
        results["timing"]["factor readout"] = round(sum(readout["timing"].values()), 2)
        results["factor_readout"] = [
            {"backbone": r["backbone"], "factor": r["task"], "top1": 100 * r["test"]["top1"]} for r in readout["runs"]
        ]
    write_json(run / DownstreamResult.FILE, DownstreamResult.from_json(results).to_json())
    return DownstreamResult.read(run)
