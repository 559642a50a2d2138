"""Command line of the pretraining engine: ``python -m vise_lib.pretrain`` (also under ``torchrun``).

Examples::

    # one process (CPU, or one GPU when present)
    python -m vise_lib.pretrain --images posts.npy --labels pseudo.npy --out runs/x/vise
    # resume after an interruption: continues exactly where the last checkpoint stopped
    python -m vise_lib.pretrain --images posts.npy --labels pseudo.npy --out runs/x/vise --resume
    # SimCLR (no labels), and the untrained baseline (no labels, objective none)
    python -m vise_lib.pretrain --images posts.npy --objective simclr --out runs/x/simclr
    # an objective's own settings (repeatable; the value is read as in a preset)
    python -m vise_lib.pretrain --images posts.npy --objective simclr --out runs/x/simclr \\
        --setting simclr.proj_dim=128 --setting simclr.temperature=0.5
    # straight from WebDataset shards (no images.npy), pseudo labels joined by post id
    python -m vise_lib.pretrain --shards ingest/shards --labels-npz labels/labels.npz --out runs/x/vise
    # ResNet-50 at 224 px on 8 GPUs: DDP + DistributedSampler, bf16 autocast, channels_last
    # (linear LR scaling: lr 0.1 x global batch / 256 = 0.8 at 2048; RandomResizedCrop; no weight
    # decay on BatchNorm and biases; loader worker processes: the cores per rank less one)
    torchrun --standalone --nproc_per_node=8 -m vise_lib.pretrain --images posts224.npy \\
        --labels pseudo.npy --out runs/paper/vise --arch resnet50 --batch-size 2048 --lr 0.8 \\
        --epochs 30 --warmup-epochs 2 --weight-decay 1e-4 --crop resized --decay-norm-bias false \\
        --ckpt-every 1000 --resume
    # the same from shards: each rank and loader worker reads its own shards
    torchrun --standalone --nproc_per_node=8 -m vise_lib.pretrain --shards shards224 \
        --labels-npz labels.npz --workers 6 --out runs/paper/vise --arch resnet50 --batch-size 2048 ...
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from collections.abc import Callable
from typing import Any

import numpy as np
import yaml

from vise_lib.pretrain import distributed as D
from vise_lib.pretrain.config import TrainConfig
from vise_lib.pretrain.loop import pretrain
from vise_lib.pretrain.objectives import CHOICES, OBJECTIVES
from vise_lib.pretrain.sources import ArraySource, DataSource, default_workers
from vise_lib.pretrain.streaming import DEFAULT_BUFFER, ShardSource


def _boolean(text: str) -> bool:
    if text.lower() not in ("true", "1", "false", "0"):
        raise ValueError(text)
    return text.lower() in ("true", "1")


def _setting(text: str) -> tuple[str, str, Any]:
    """``("simclr", "proj_dim", 8)`` from ``"simclr.proj_dim=8"`` (the value parsed as YAML, as in a preset)."""
    name, dot, rest = text.partition(".")
    key, eq, value = rest.partition("=")
    if not (dot and eq and name and key):
        raise argparse.ArgumentTypeError(f"expected OBJECTIVE.KEY=VALUE (e.g. simclr.proj_dim=8), got {text!r}")
    try:
        return name, key, yaml.safe_load(value)
    except yaml.YAMLError:
        raise argparse.ArgumentTypeError(f"{text!r}: cannot read the value {value!r}") from None


def _settings_help() -> str:
    known = [
        f"{o.name}.{f.name} (default {f.default})" for o in OBJECTIVES.values() for f in dataclasses.fields(o.Settings)
    ]
    return (
        "an objective's own setting, OBJECTIVE.KEY=VALUE (repeatable; TrainConfig.objectives), e.g. "
        "simclr.proj_dim=8; settings: " + (", ".join(known) or "none")
    ).replace("%", "%%")


def parser() -> argparse.ArgumentParser:
    """The argument parser: data and run options, one ``--flag`` per :class:`TrainConfig` field and
    ``--setting OBJECTIVE.KEY=VALUE`` for ``TrainConfig.objectives``."""
    p = argparse.ArgumentParser(
        prog="vise train",
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split("Examples::", 1)[1],
    )
    data = p.add_mutually_exclusive_group(required=True)
    data.add_argument("--images", help="uint8 .npy of shape (N, H, W, 3) (memory-mapped)")
    data.add_argument("--shards", help="WebDataset shard folder (with shards.json) to stream from")
    p.add_argument(
        "--labels", action="append", help="int .npy (N,), one per head (repeatable); none for simclr / random"
    )
    p.add_argument("--labels-npz", default=None, help="with --shards: labels.npz with post_id (joined by post id)")
    p.add_argument("--label-key", action="append", help="with --labels-npz: label set key per head (default: label)")
    p.add_argument(
        "--workers",
        type=int,
        default=None,
        help="loader worker processes per training process (default: the cores per rank less one; with "
        "--images on the CPU 0, batches prepared in the training process)",
    )
    p.add_argument("--shuffle-buffer", type=int, default=DEFAULT_BUFFER, help="with --shards: samples per worker")
    p.add_argument(
        "--objective",
        default="auto",
        choices=CHOICES,
        help="auto: classify with --labels, none (untrained 'random') without",
    )
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.pt if present")
    p.add_argument("--no-progress", action="store_true", help="no tqdm bar")
    p.add_argument("--stop-after-steps", type=int, default=None, help="stop after this many steps (resumable)")
    p.add_argument(
        "--setting", action="append", type=_setting, default=[], metavar="OBJECTIVE.KEY=VALUE", help=_settings_help()
    )
    # field annotations are strings here (postponed evaluation): the parser of each
    kinds: dict[Any, Callable[[str], Any]] = {"int": int, "float": float, "bool": _boolean, "str": str}
    for f in dataclasses.fields(TrainConfig):
        if f.name == "objectives":  # --setting
            continue
        kind = kinds[f.type]
        p.add_argument(
            "--" + f.name.replace("_", "-"),
            dest=f.name,
            type=kind,
            default=f.default,
            help=f"TrainConfig.{f.name} (default: %(default)s)",
        )
    return p


def _load(path: str, what: str, mmap: bool) -> np.ndarray:
    try:
        return np.load(path, allow_pickle=False, mmap_mode="r" if mmap else None)
    except FileNotFoundError:
        raise FileNotFoundError(f"{what} file not found: {path}") from None
    except ValueError as e:
        raise ValueError(f"{path}: cannot read {what} as a .npy array ({e})") from e


def main(argv: list[str] | None = None) -> dict:
    """Parse ``argv``, start the process group under ``torchrun``, pretrain, print a JSON summary.

    Bad input raises ``ValueError`` / ``FileNotFoundError`` naming the problem (``vise train``
    prints it as one line and exits with status 2). Only rank 0
    prints; the summary holds every key of :func:`vise_lib.pretrain.loop.pretrain`'s result but
    ``history``.
    """
    p = parser()
    a = p.parse_args(argv)
    started = False
    try:
        objectives: dict[str, dict] = {}
        for name, key, value in a.setting:
            objectives.setdefault(name, {})[key] = value
        fields = [f.name for f in dataclasses.fields(TrainConfig) if f.name != "objectives"]
        cfg = TrainConfig(**{name: getattr(a, name) for name in fields}, objectives=objectives)
        if a.shards is not None:
            if a.labels is not None:
                raise ValueError("--shards takes its labels from --labels-npz (joined by post id), not --labels")
            kw = {"workers": a.workers, "shuffle_buffer": a.shuffle_buffer}
            source = (
                ShardSource(a.shards, **kw)
                if a.labels_npz is None
                else ShardSource.from_labels_npz(a.shards, a.labels_npz, tuple(a.label_key or ("label",)), **kw)
            )
            images: DataSource | np.ndarray = source
            labels = source.label_sets
        else:
            if a.labels_npz is not None:
                raise ValueError("--labels-npz goes with --shards; with --images pass --labels")
            images = _load(a.images, "images", mmap=True)
            labels = None if a.labels is None else [_load(path, "labels", mmap=False) for path in a.labels]
            workers = a.workers
            if workers is None:  # a GPU run needs loader processes to keep up; a CPU run needs its cores
                workers = default_workers() if D.run_device(cfg.device).type == "cuda" else 0
            if workers:  # the memory-mapped array is shared with the forked workers, not copied
                images = ArraySource(images, labels, workers=workers)
                labels = images.label_sets
        started = D.init_from_env(cfg.device)
        res = pretrain(
            images,
            labels,
            cfg,
            a.out,
            resume=a.resume,
            progress=not a.no_progress,
            stop_after_steps=a.stop_after_steps,
            objective=a.objective,
        )
    except (ValueError, FileNotFoundError):
        if started:
            D.cleanup()
        raise
    if D.is_main():
        print(json.dumps({k: v for k, v in res.items() if k != "history"}), flush=True)
    if started:
        D.cleanup()
    return res
