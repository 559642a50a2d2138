"""The downstream stage: every backbone, on every task, under one protocol, over seeds.

A :class:`Task` is images and labels per split (the world's ``emotion`` / ``stance`` /
``object``, or a real dataset read by :mod:`vise_lib.transfer.datasets`). A backbone is a checkpoint
path plus the architecture it is loaded as (the pipeline's pretrained variants, the released
VisE trunks, any torchvision ResNet state dict). Protocols:

* ``linear``: frozen features (extracted once per backbone and image set, cached on disk by
  :mod:`vise_lib.transfer.features`), then :func:`~vise_lib.transfer.probes.linear_probe`
  (one-vs-rest for multi-label tasks);
* ``finetune``: the whole network plus a linear head, trained by :func:`vise_lib.transfer.finetune.finetune`.

Each seed trains on a different stratified 80 % subsample of the training split
(:func:`vise_lib.transfer.splits.stratified_subsample`; validation and test are fixed), so the
spread over seeds shows how much a result depends on which training images were seen. Every
run records its ``protocol``.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from vise_lib.backbones.checkpoint import load_backbone
from vise_lib.io import PathArg
from vise_lib.transfer.datasets import load_dataset
from vise_lib.transfer.decode import decode_dataset
from vise_lib.transfer.features import FeatureCache, cached_features
from vise_lib.transfer.probes import DEFAULT_CS, linear_probe
from vise_lib.transfer.specs import SPEC_PREFIXES, resolve_spec
from vise_lib.transfer.splits import stratified_subsample

SPLITS = ("train", "val", "test")
PROTOCOLS = ("linear", "finetune")


@dataclass
class Task:
    """A downstream task: ``splits[s] = (images uint8 (n, H, W, 3), labels)`` for train/val/test."""

    name: str
    splits: dict
    classes: list
    multilabel: bool = False

    @property
    def chance(self) -> float | None:
        """Top-1 of a uniform guess (``None`` for multi-label tasks)."""
        return None if self.multilabel else 1.0 / len(self.classes)


def world_tasks(world_dir, tasks) -> list[Task]:
    """The world's downstream tasks (images shared by all tasks, so features are extracted once)."""
    from vise_lib.world.generate import TASK_CLASSES, load_downstream

    names = {t: list(c) for t, c in TASK_CLASSES.items()}
    splits = {s: load_downstream(world_dir, s) for s in SPLITS}
    out = []
    for t in tasks:
        if t not in names:
            raise ValueError(f"unknown task {t!r}; the world has {sorted(names)}")
        out.append(Task(t, {s: (splits[s]["images"], splits[s][t]) for s in SPLITS}, names[t]))
    return out


def dataset_task(path, dataset_format: str | None = "imagefolder", image_size: int = 224, split_seed: int = 0):
    """A real dataset on disk as a :class:`Task`; returns ``(task, dataset, skipped)``.

    Splits are assigned after decoding (:func:`vise_lib.transfer.decode.decode_dataset`);
    ``dataset`` holds the kept images (its ``skipped``: the reader's skips) and ``skipped`` the
    decode skips and dropped classes' images, ``[(path, reason)]``, the reason's category first
    (``"undecodable image"``, ``"class too small"``, ...).
    """
    dec = decode_dataset(load_dataset(path, dataset_format), image_size, seed=split_seed)
    task = Task(dec.dataset.name, dec.splits(), dec.dataset.classes, dec.dataset.multilabel)
    return task, dec.dataset, dec.decode_skipped


def resolve_backbones(
    backbones: dict,
    arch: str | None = None,
    width: int | None = None,
    blocks: int | None = None,
    work_dir: PathArg | None = None,
) -> dict:
    """Normalize ``{name: spec}`` to full specs ``{"path", "arch", "width", "blocks"}`` through
    the one resolver, :func:`vise_lib.transfer.specs.resolve_spec`: a spec is a path (loaded as
    the checkpoint describes itself), ``torchvision:`` / ``random:`` (``random:`` checkpoints
    are written under ``work_dir``) or ``{"path", "arch"[, "width", "blocks"]}``.

    ``arch`` / ``width`` / ``blocks`` are the explicit architecture of the bare paths (the
    pretrain stage's runs, as they were trained): they must agree with a file that describes
    itself and are needed only for one that does not. Missing files, unknown architectures
    and disagreements raise here, before any work starts.
    """
    if not backbones:
        raise ValueError("no backbones to evaluate")
    explicit = {k: v for k, v in (("arch", arch), ("width", width), ("blocks", blocks)) if v is not None}
    out = {}
    for name, spec in backbones.items():
        if isinstance(spec, Path) or (explicit and isinstance(spec, str) and not spec.startswith(SPEC_PREFIXES)):
            spec = {"path": str(spec), **explicit}
        b = resolve_spec(name, spec, work_dir)
        out[name] = {"path": b["path"], "arch": b["arch"], "width": b["width"], "blocks": b["blocks"]}
    return out


def _model_kwargs(spec):
    return {"arch": spec["arch"], "width": spec["width"], "blocks": spec["blocks"]}


def _load(spec):
    return load_backbone(spec["path"], spec["arch"], width=spec["width"], blocks=spec["blocks"])


def run_transfer(
    tasks: list[Task],
    backbones: dict,
    seeds: Sequence[int],
    protocol: str | list = "linear",
    cache_dir: PathArg | None = None,
    Cs: Sequence[float] = DEFAULT_CS,
    max_iter: int = 1000,
    finetune_epochs: int = 3,
    finetune_lr: float = 0.01,
    finetune_batch_size: int = 64,
    num_threads: int = 0,
    correct_out: dict | None = None,
) -> dict:
    """Evaluate every backbone on every task for every seed under each protocol.

    Args:
        tasks: :class:`Task` list.
        backbones: specs from :func:`resolve_backbones`.
        seeds: at least one seed (use >= 3 for mean ± std).
        protocol: ``"linear"``, ``"finetune"``, or a list / ``"linear+finetune"``.
        cache_dir: folder of the feature cache (``None``: no cache on disk).
        Cs, max_iter: the probe's C grid and iteration cap.
        finetune_*: epochs, learning rate and batch size of the fine-tuning protocol.
        num_threads: torch intra-op threads for the stage (restored afterwards); 0 keeps
            torch's default. On a few shared cores, 1 is often several times faster for these
            small convolutions (the threads spin-wait on each other).
        correct_out: when a dict, the linear protocol also fills it with per-image test
            correctness, ``correct_out[(backbone, task, seed)] = bool array`` (what the paired
            bootstrap of :mod:`vise_lib.verdicts.statistics` resamples); it is not in the result.

    Returns ``{"runs": [...], "tasks", "seeds", "backbones", "protocols", "chance",
    "cache": {"hits", "misses", "invalid"}, "timing": {"features", "probes", "finetune"}}``
    (seconds spent on each); each run holds ``backbone``, ``task``, ``seed``,
    ``protocol``, ``best_C`` (``None`` for fine-tuning) and ``test`` metrics.
    """
    protocols = protocol.split("+") if isinstance(protocol, str) else list(protocol)
    bad = [p for p in protocols if p not in PROTOCOLS]
    if bad or not protocols:
        raise ValueError(f"protocol must be among {PROTOCOLS} (joined by '+'), got {protocol!r}")
    if isinstance(seeds, (str, bytes)) or not all(
        isinstance(s, (int, np.integer)) and not isinstance(s, bool) for s in seeds
    ):
        raise ValueError(f"seeds must be a list of ints, got {seeds!r}")
    seeds = [int(s) for s in seeds]
    if not seeds or not tasks:
        raise ValueError("need at least one task and one seed")
    if isinstance(num_threads, bool) or not isinstance(num_threads, int) or num_threads < 0:
        raise ValueError(f"num_threads must be an int >= 0, got {num_threads!r}")
    cache, runs, threads = FeatureCache(cache_dir), [], torch.get_num_threads()
    timing = dict.fromkeys(("features", "probes", "finetune"), 0.0)
    try:
        if num_threads:
            torch.set_num_threads(num_threads)
        for name, spec in backbones.items():
            if "linear" in protocols:
                runs += _linear_runs(name, spec, tasks, seeds, cache, Cs, max_iter, correct_out, timing)
            if "finetune" in protocols:
                t0 = time.perf_counter()
                runs += _finetune_runs(name, spec, tasks, seeds, finetune_epochs, finetune_lr, finetune_batch_size)
                timing["finetune"] += time.perf_counter() - t0
    finally:
        torch.set_num_threads(threads)
    return {
        "runs": runs,
        "tasks": [t.name for t in tasks],
        "seeds": seeds,
        "backbones": list(backbones),
        "protocols": protocols,
        "chance": {t.name: t.chance for t in tasks if t.chance is not None},
        "cache": dict(cache.stats),
        "timing": {k: round(v, 2) for k, v in timing.items()},
    }


def _linear_runs(name, spec, tasks, seeds, cache, Cs, max_iter, correct_out, timing):
    memo: dict = {}

    def backbone():
        if "net" not in memo:
            memo["net"] = _load(spec)
        return memo["net"]

    runs = []
    for task in tasks:
        t0 = time.perf_counter()
        feats = {
            s: cached_features(cache, backbone, spec["path"], task.splits[s][0], _model_kwargs(spec)) for s in SPLITS
        }
        t1 = time.perf_counter()
        runs += probe_features(name, task, feats, seeds, Cs, max_iter, correct_out)
        timing["features"] += t1 - t0  # loading the backbone and extracting (or reading cached) features
        timing["probes"] += time.perf_counter() - t1
    return runs


def probe_features(
    name: str, task: Task, feats: dict, seeds, Cs=DEFAULT_CS, max_iter: int = 1000, correct_out: dict | None = None
) -> list[dict]:
    """Linear-probe precomputed features ``feats[split]`` (rows aligned with ``task.splits``) for each
    seed; one run per seed, as :func:`run_transfer` returns them. Reference rows (a pixel probe,
    hand-made statistics) use this directly; ``correct_out`` as in :func:`run_transfer`."""
    y = {s: task.splits[s][1] for s in SPLITS}
    runs = []
    for seed in seeds:
        keep = stratified_subsample(y["train"], seed)
        args = ((feats["train"][keep], y["train"][keep]), (feats["val"], y["val"]), (feats["test"], y["test"]))
        want_correct = correct_out is not None and not task.multilabel
        res = linear_probe(*args, Cs=Cs, seed=seed, max_iter=max_iter, return_outputs=want_correct)
        if correct_out is not None and want_correct:
            res.pop("test_proba")
            correct_out[(name, task.name, seed)] = np.asarray(res.pop("test_pred")) == y["test"]
        runs.append({"backbone": name, "task": task.name, "seed": seed, "protocol": "linear", **res})
    return runs


def _finetune_runs(name, spec, tasks, seeds, epochs, lr, batch_size):
    from vise_lib.transfer.finetune import finetune

    runs = []
    for task in tasks:
        y = {s: task.splits[s][1] for s in SPLITS}
        for seed in seeds:
            keep = stratified_subsample(y["train"], seed)
            train = (task.splits["train"][0][keep], y["train"][keep])
            res = finetune(
                _load(spec),
                train,
                task.splits["val"],
                task.splits["test"],
                n_classes=len(task.classes),
                multilabel=task.multilabel,
                epochs=epochs,
                lr=lr,
                batch_size=batch_size,
                seed=seed,
            )
            runs.append({"backbone": name, "task": task.name, "seed": seed, "protocol": "finetune", **res})
    return runs
