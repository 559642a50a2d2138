"""The downstream stage (``03_downstream``): every backbone on the same tasks, under one protocol.

:func:`run_downstream` resolves the backbones (the config's ``backbones``, or every
``<variant>@<seed>`` run of the pretrain stage, read from ``pretrain/results.json`` with its
architecture), takes the world's tasks and runs :func:`~vise_lib.transfer.runner.run_transfer`
over the probe seeds; or, with ``dataset``, one real dataset given as a local path, through the
``vise evaluate`` code path (:func:`run_on_dataset`: the same decoding, splits, probes and
tables, the task named after the dataset). It writes

* ``downstream/scores.csv`` and ``downstream/correct.npz`` (:mod:`vise_lib.verdicts.results`):
  the backbones' score rows, plus the reference rows ``pixels`` / ``handmade`` on the world, or
  the ``majority`` and ``chance`` rows on a dataset;
* ``downstream/results.json``: :class:`DownstreamResult`, everything else (each run's metrics,
  chance per task, the feature cache's counts, timing, the data it ran on, and on the world the
  factor readout: a probe per hidden factor, pretraining seed 0 and probe seed 0).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import torch

from vise_lib.io import PathArg, write_json
from vise_lib.stages.pretrain import PretrainResult
from vise_lib.stages.result_files import read_result, typed_config
from vise_lib.study.backbone_runs import split_name
from vise_lib.study.latent_readout import factor_tasks
from vise_lib.study.scoring import score_references, score_rows
from vise_lib.transfer.config import TransferConfig
from vise_lib.transfer.evaluate import probe_dataset, read_datasets
from vise_lib.transfer.features import FeatureCache
from vise_lib.transfer.runner import Task, resolve_backbones, run_transfer, world_tasks
from vise_lib.transfer.stage_config import DownstreamConfig
from vise_lib.verdicts.results import write_correct, write_scores

STAGE = "03_downstream"


@dataclass(frozen=True)
class DownstreamResult:
    """``downstream/results.json``: what :func:`~vise_lib.transfer.runner.run_transfer` returns
    (``runs``, ``tasks``, ``seeds`` (probe seeds), ``backbones`` (names), ``protocols``,
    ``chance`` per task, ``cache`` counts, ``timing`` in seconds per phase), the ``data`` it ran
    on (``{"source": "world", "tasks"}``, or on a dataset what ``vise evaluate`` records for it:
    path, format, group, classes, split sizes, skipped files, plus ``baselines``: the majority
    class and the ``majority`` / ``chance`` scores) and, on the world, ``factor_readout`` (``[{"backbone", "factor", "top1"}]``,
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

    def transfer_view(self) -> dict:
        """On a dataset: the result in the shape of ``vise evaluate``'s ``results.json`` (``runs``,
        ``backbones``, ``tasks``, ``datasets``, ``baselines``), so the tables and figures of
        :mod:`vise_lib.transfer.report` (per class, confusion matrices, the headline table with
        its ``majority`` and ``chance`` rows) render the stage's run as they render ``vise evaluate``'s."""
        if self.data.get("source") == "world":
            raise ValueError("transfer_view: the stage ran on the world's tasks, not on a dataset")
        task = self.tasks[0]
        linear = [r for r in self.runs if r.get("protocol", "linear") == "linear"]
        return {
            "runs": linear,
            "backbones": {b: {} for b in self.backbones},
            "tasks": list(self.tasks),
            "seeds": list(self.seeds),
            "datasets": {task: {k: v for k, v in self.data.items() if k != "baselines"}},
            "baselines": {task: self.data["baselines"]},
        }

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


def stage_tasks(stage: DownstreamConfig, run_dir: PathArg) -> tuple[list[Task], dict]:
    """The world's tasks and the ``data`` entry describing them (a dataset goes through
    :func:`run_on_dataset`)."""
    return world_tasks(Path(run_dir) / "world", stage.tasks), {"source": "world", "tasks": stage.tasks}


def dataset_name(path: PathArg) -> str:
    """A task name for a dataset path: its folder's name, or a file's stem (the parent folder's
    name for a generic stem such as ``labels.csv``)."""
    p = Path(path)
    if p.suffix and p.stem.lower() in ("labels", "list", "data", "annotations", "images", "train", "dataset"):
        return p.parent.name or p.stem
    return p.stem if p.suffix else p.name


def dataset_config(stage: DownstreamConfig) -> tuple[str, TransferConfig]:
    """The stage's dataset as the one-dataset :class:`~vise_lib.transfer.config.TransferConfig`
    that ``vise evaluate`` would run: ``(task name, config)``."""
    assert stage.dataset is not None
    name = stage.dataset_name or dataset_name(stage.dataset)
    entry = {
        "path": stage.dataset,
        "format": stage.dataset_format,
        "group": stage.dataset_group,
        "data_root": stage.data_root,
    }
    params = {"datasets": {name: entry}, "image_size": stage.image_size, "seeds": list(stage.seeds)}
    return name, TransferConfig.from_params({**params, "num_threads": stage.num_threads}, "downstream (dataset)")


def run_on_dataset(stage: DownstreamConfig, run: Path, specs: dict, echo: Callable = print) -> dict:
    """The stage on a dataset: the ``vise evaluate`` code path
    (:func:`~vise_lib.transfer.evaluate.read_datasets`, :func:`~vise_lib.transfer.evaluate.probe_dataset`)
    for the linear protocol, so the same posts give the same tables (per class, ``majority``,
    ``chance``); the fine-tuning protocol, when asked for, adds its runs. Writes the scores and
    correctness files; returns the results dict."""
    name, cfg = dataset_config(stage)
    data, decoded = read_datasets(cfg, echo)
    dec = decoded[name]
    for path, reason in dec.skipped[:10]:
        echo(f"  skipped {path}: {reason}")
    protocols = stage.protocol.split("+")
    scores: list[dict] = []
    correct: dict = {}
    runs: list[dict] = []
    cache, threads, timing = FeatureCache(run / "features"), torch.get_num_threads(), {}
    t0 = time.perf_counter()
    try:
        if stage.num_threads:
            torch.set_num_threads(stage.num_threads)
        info: dict = {}
        if "linear" in protocols:
            runs, info = probe_dataset(cfg, name, dec, specs, cache, scores, correct, score_name=split_name)
        timing["features and probes"] = round(time.perf_counter() - t0, 2)
    finally:
        torch.set_num_threads(threads)
    if "finetune" in protocols:
        task = Task(name, dec.splits(), dec.dataset.classes, dec.dataset.multilabel)
        ft = run_transfer(
            [task], specs, stage.seeds, "finetune", finetune_epochs=stage.finetune_epochs, num_threads=stage.num_threads
        )
        runs += ft["runs"]
        timing["finetune"] = ft["timing"]["finetune"]
    write_scores(run / DownstreamResult.SCORES, scores, stage=STAGE)
    write_correct(run / DownstreamResult.CORRECT, correct, stage=STAGE)
    echo(
        f"{len(scores)} score rows: {len({r['backbone'] for r in scores})} backbones (majority and chance "
        f"included) x task {name} x pretraining seeds x {len(stage.seeds)} probe seed(s)"
    )
    chance = {} if dec.dataset.multilabel else {name: 1.0 / len(dec.dataset.classes)}
    return {
        "runs": runs,
        "tasks": [name],
        "seeds": list(stage.seeds),
        "backbones": list(specs),
        "protocols": protocols,
        "chance": chance,
        "cache": dict(cache.stats),
        "timing": timing,
        "data": {
            "source": str(stage.dataset),
            **data[name],
            "image_size": stage.image_size,
            "baselines": info,
        },
    }


def run_downstream(
    config: DownstreamConfig | dict | None, run_dir: PathArg, echo: Callable = print
) -> DownstreamResult:
    """Run the downstream stage in ``run_dir`` (see the module docstring); ``echo`` gets progress lines."""
    run, stage = Path(run_dir), typed_config(DownstreamConfig, config)
    specs = stage_backbones(stage, run)
    echo(f"{len(specs)} backbones: {', '.join(specs)}")
    if stage.dataset is not None:
        results = run_on_dataset(stage, run, specs, echo)
        write_json(run / DownstreamResult.FILE, DownstreamResult.from_json(results).to_json(), stage=STAGE)
        return DownstreamResult.read(run)
    tasks, data = stage_tasks(stage, run)
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
    if stage.references:
        ref_rows, ref_corr = score_references(run / "world", stage.tasks, stage.seeds, stage.references)
        rows, corr = rows + ref_rows, {**corr, **ref_corr}
    write_scores(run / DownstreamResult.SCORES, rows, stage=STAGE)
    write_correct(run / DownstreamResult.CORRECT, corr, stage=STAGE)
    echo(
        f"{len(rows)} score rows: {len({r['backbone'] for r in rows})} backbones x "
        f"{len({r['task'] for r in rows})} tasks x pretraining seeds x {len(stage.seeds)} probe seed(s)"
    )
    firsts = {n: s for n, s in specs.items() if n.endswith("@0")}
    readout = run_transfer(
        factor_tasks(run / "world") + tasks, firsts, [0], cache_dir=run / "features", num_threads=stage.num_threads
    )
    results["timing"]["factor readout"] = round(sum(readout["timing"].values()), 2)
    results["factor_readout"] = [
        {"backbone": r["backbone"], "factor": r["task"], "top1": 100 * r["test"]["top1"]} for r in readout["runs"]
    ]
    write_json(run / DownstreamResult.FILE, DownstreamResult.from_json(results).to_json(), stage=STAGE)
    return DownstreamResult.read(run)
