"""Pretraining loop: any registered objective, any data source; checkpoint/resume.

The objective (:mod:`vise_lib.pretrain.objectives`: ``classify`` with one head per label set,
``simclr``, ``none`` for the untrained baseline, ...) builds the model, prepares each batch and
computes the loss; the data source (:mod:`vise_lib.pretrain.sources`: a uint8 array, or
WebDataset shards streamed by :mod:`vise_lib.pretrain.streaming`) hands out each epoch's
batches; the checkpoints and the resume policy live in :mod:`vise_lib.pretrain.resume`. This
loop owns everything else: SGD with momentum and a per-step cosine schedule after a linear
warmup, the log, the result. Every random draw is a pure function of ``(seed, epoch)``
(shuffling) or ``(seed, step, rank)`` (augmentation), so a run stopped at any checkpoint and
resumed gives bit-identical weights on CPU (same thread count). On CUDA the step runs under
bf16 autocast with channels_last tensors and ``cudnn.benchmark``; the sources send uint8
batches in pinned memory, which :mod:`vise_lib.pretrain.feed` copies (images and labels,
``non_blocking``, one batch ahead on a side stream) and normalizes on the GPU; each process
trains on GPU ``LOCAL_RANK`` (:func:`vise_lib.pretrain.distributed.resolve_device`).
``TrainConfig.compile`` wraps the model in ``torch.compile``; ``decay_norm_bias`` False leaves
BatchNorm weights and biases out of weight decay. Under ``torchrun`` the model is wrapped in
``DistributedDataParallel`` and each epoch is sharded by ``DistributedSampler``
(see :mod:`vise_lib.pretrain.distributed`); ``batch_size`` is the global batch. Also a script:
``python -m vise_lib.pretrain`` (see :mod:`vise_lib.pretrain.cli`).
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.nn.parallel import DistributedDataParallel
from tqdm import tqdm

from vise_lib.backbones.archs import build_backbone
from vise_lib.backbones.checkpoint import save_backbone
from vise_lib.backbones.memory_format import training_memory_format
from vise_lib.backbones.tensors import to_tensor
from vise_lib.io import atomic_write
from vise_lib.pretrain import distributed as D
from vise_lib.pretrain.config import TrainConfig, lr_at
from vise_lib.pretrain.feed import on_device
from vise_lib.pretrain.objectives import check_settings, resolve_objective
from vise_lib.pretrain.objectives.base import Objective
from vise_lib.pretrain.resume import Checkpoints, LoopState, run_identity
from vise_lib.pretrain.sources import DataSource, batch_stream, open_source

__all__ = ["TrainConfig", "batch_stream", "lr_at", "param_groups", "pretrain"]


def _write_log(path: Path, history: list[dict]) -> None:
    if D.is_main():
        atomic_write(path, lambda f: f.writelines(json.dumps(row) + "\n" for row in history), mode="w")


def _result(
    obj: Objective,
    cfg: TrainConfig,
    t0: float,
    *,
    history: list[dict],
    trained: int,
    train_seconds: float,
    backbone,
    steps: int,
    digests: list[str],
    resume: dict | None = None,
) -> dict:
    return {
        "resume": resume,
        "history": history,
        "seconds": time.perf_counter() - t0,
        "steps": steps,
        "objective": obj.name,
        "settings": obj.settings(cfg).to_params(),
        "images_per_s": trained / train_seconds if train_seconds > 0 else 0.0,
        "backbone": None if backbone is None else str(backbone),
        "completed": backbone is not None,
        "train_accuracy": history[-1]["accuracy"] if history else [],
        "rank_digests": digests,
    }


def pretrain(
    images,
    label_sets,
    cfg: TrainConfig,
    out_dir,
    resume: bool = False,
    progress: bool = True,
    stop_after_steps: int | None = None,
    objective: str = "auto",
    holdout: tuple[np.ndarray, list[np.ndarray]] | None = None,
    echo: bool = True,
) -> dict:
    """Pretrain a backbone on ``images``: classification heads, SimCLR, or nothing ("random").

    Args:
        images: uint8 ``(N, H, W, 3)``; may be ``None`` for the ``none`` objective; or a
            :class:`vise_lib.pretrain.sources.DataSource`, e.g. a
            :class:`vise_lib.pretrain.streaming.ShardSource` to stream WebDataset shards (then
            ``label_sets`` is the source's own ``label_sets``, joined by post id).
        label_sets: list of 1-D int label arrays (engagement pseudo labels, object labels,
            ...), one head each, for ``classify``; ``None`` for ``simclr`` and ``none``.
        cfg: a :class:`TrainConfig`.
        out_dir: receives ``backbone.pt`` (official layout, written when training completes),
            ``log.jsonl`` (one row per epoch: epoch, step, loss, accuracy per head,
            images_per_s, lr, seconds) and ``checkpoint.pt`` (model, optimizer, step,
            history, RNG state; atomic; see :mod:`vise_lib.pretrain.resume`). Under
            ``torchrun`` only rank 0 writes.
        resume: continue from ``out_dir/checkpoint.pt`` if present (else start fresh); the
            result is bit-identical to an uninterrupted run (CPU, same thread count). The
            checkpoint must come from the same config (except ``ckpt_every``,
            ``num_threads``, ``device``, ``prefetch``), the same settings of the objective
            trained (those of other objectives may differ), labels and world size; else it is
            set aside and the run starts fresh.
        progress: show a tqdm bar (rank 0 only).
        stop_after_steps: stop (after writing a checkpoint) once this many optimizer steps
            are done in total; ``backbone.pt`` is then not written and ``completed`` is False.
        objective: ``"auto"`` (``classify`` with label sets, ``none`` without), ``"classify"``,
            ``"simclr"`` or ``"none"``; its own settings come from ``cfg.objectives[objective]``
            (e.g. ``{"simclr": {"epochs": 2, "temperature": 0.5}}``; SimCLR's ``epochs`` 0, the
            default, means ``cfg.epochs``), unknown names or keys raise ``ValueError``.
        holdout: ``(images, label_sets)`` not trained on (``classify`` only): after each epoch
            every head's accuracy on them (no augmentation, BatchNorm in eval mode) is logged as
            ``holdout_accuracy``, the learning curve on unseen posts beside the training one.
        echo: print the resume messages (they are in ``resume`` of the result either way).

    Each rank's batches are ``min(batch_size, N) // world_size`` images; a final short batch is
    dropped each epoch. Returns ``history`` (the log rows), ``seconds``, ``images_per_s``
    (this call's training throughput, all ranks), ``backbone`` (path as str; None if stopped
    early), ``train_accuracy`` (per head, on the augmented batches of the last epoch; for
    simclr the contrastive top-1), ``steps``, ``completed``, ``objective``, ``settings`` (the
    objective's settings, defaults filled in),
    ``rank_digests`` (SHA-1 of the final model on each rank; all equal under DDP) and ``resume``
    (``{"from": checkpoint path or None, "step": first step of this call, "messages": [...]}``;
    None for objectives that do not train).
    """
    if not isinstance(cfg, TrainConfig):
        raise ValueError(f"cfg must be a TrainConfig, got {type(cfg).__name__}")
    if stop_after_steps is not None and (not isinstance(stop_after_steps, int) or stop_after_steps < 0):
        raise ValueError(f"stop_after_steps must be a non-negative int or None, got {stop_after_steps!r}")
    obj = resolve_objective(objective, label_sets is not None)
    check_settings(cfg)
    source = open_source(images, label_sets, obj.needs_labels, required=obj.trains)
    labels = (source.label_sets or []) if obj.needs_labels and source is not None else []
    out, prev_threads = Path(out_dir), torch.get_num_threads()
    if D.is_main():
        out.mkdir(parents=True, exist_ok=True)
    if cfg.num_threads:
        torch.set_num_threads(cfg.num_threads)
    t0 = time.perf_counter()
    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(cfg.seed)
            backbone = build_backbone(cfg.arch, cfg.width, cfg.blocks)
            if not obj.trains:
                _write_log(out / "log.jsonl", [])
                path = save_backbone(backbone, out / "backbone.pt") if D.is_main() else out / "backbone.pt"
                D.barrier()
                digests = D.all_gather_objects(D.state_digest(backbone))
                return _result(
                    obj, cfg, t0, history=[], trained=0, train_seconds=0.0, backbone=path, steps=0, digests=digests
                )
            model = obj.build(backbone, labels, cfg)
            assert source is not None  # open_source gives one to every objective that trains
            if holdout is not None and not obj.needs_labels:
                raise ValueError(f"holdout needs an objective with labels; {obj.name!r} has none")
            job = _Job(source, labels, cfg, obj, out, resume, progress, stop_after_steps, t0, holdout, echo)
            return _train(job, model)
    finally:
        torch.set_num_threads(prev_threads)


@dataclass(frozen=True)
class _Job:
    """One training call, as :func:`pretrain` checked it: the data and its labels (those the
    objective uses; empty without), the config and objective, where to write, how to run."""

    source: DataSource
    labels: list[np.ndarray]
    cfg: TrainConfig
    obj: Objective
    out: Path
    resume: bool
    progress: bool
    stop_after_steps: int | None
    t0: float
    holdout: tuple[np.ndarray, list[np.ndarray]] | None = None
    echo: bool = True


@dataclass(frozen=True)
class _Schedule:
    """The run's step arithmetic: ``batch`` samples per rank and step, ``per_epoch`` steps an
    epoch (a final short batch dropped), ``epochs``, ``total`` steps, ``warmup`` steps."""

    batch: int
    per_epoch: int
    epochs: int
    total: int
    warmup: int

    @classmethod
    def of(cls, n: int, cfg: TrainConfig, epochs: int, world: int) -> _Schedule:
        if n < 2:
            raise ValueError(f"need at least 2 images to train, got {n}")
        if (bs := min(cfg.batch_size, n)) % world or bs // world < 2:
            raise ValueError(f"batch_size {bs} must be a multiple of the world size {world} with >= 2 images per rank")
        batch = bs // world
        per_epoch = (n // world) // batch
        return cls(batch, per_epoch, epochs, per_epoch * epochs, round(cfg.warmup_epochs * per_epoch))


def _holdout_accuracy(job: _Job, model, device: torch.device, fmt: torch.memory_format) -> list[float]:
    """Each head's accuracy on the held-out images (eval mode, no augmentation, no random draw)."""
    assert job.holdout is not None
    images, ys = job.holdout
    hits, n = None, 0
    model.eval()
    with torch.no_grad():
        for i in range(0, len(images), 256):
            x = to_tensor(images[i : i + 256]).to(device, memory_format=fmt)
            y = [torch.as_tensor(np.asarray(t[i : i + 256]), dtype=torch.long, device=device) for t in ys]
            _, h, b = job.obj.loss(model(x), y, job.cfg)
            hits, n = (h if hits is None else hits + h), n + b
    model.train()
    return [] if hits is None else [float(h) / n for h in hits]


def param_groups(model: torch.nn.Module, cfg: TrainConfig) -> list[dict]:
    """The optimizer's parameter groups: one with ``cfg.weight_decay`` for every parameter, or,
    when ``cfg.decay_norm_bias`` is False, the 1-D parameters (BatchNorm weights and biases,
    every bias) in a second group without weight decay, as torchvision's and NVIDIA's ResNet-50
    recipes train them. The order of the parameters within a group is the model's."""
    params = list(model.parameters())
    if cfg.decay_norm_bias:
        return [{"params": params, "weight_decay": cfg.weight_decay}]
    decay = [p for p in params if p.ndim > 1]
    plain = [p for p in params if p.ndim <= 1]
    return [{"params": decay, "weight_decay": cfg.weight_decay}, {"params": plain, "weight_decay": 0.0}]


def _train(job: _Job, model) -> dict:  # model: the objective's (its .backbone is saved)
    cfg, obj, source, objective = job.cfg, job.obj, job.source, job.obj.name
    log_path, bb_path = job.out / "log.jsonl", job.out / "backbone.pt"
    (rank, world), main = D.rank_world(), D.is_main()
    device = D.run_device(cfg.device)
    if device.type == "cuda":
        if device.index is not None:
            torch.cuda.set_device(device)  # the side stream, pinned copies and NCCL all use this GPU
        torch.backends.cudnn.benchmark = True  # fixed shapes: the fastest convolution algorithms
    fmt = training_memory_format(model, device, cfg.channels_last)  # channels_last where safe: faster on CPU too
    model.to(device, memory_format=fmt)
    net = (
        model
        if world == 1
        else DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)
    )
    if cfg.compile:
        net = torch.compile(net)
    plan = _Schedule.of(len(source), cfg, obj.epochs(cfg), world)
    spe = plan.per_epoch
    opt = torch.optim.SGD(param_groups(model, cfg), lr=cfg.lr, momentum=cfg.momentum)
    heads = obj.heads(model, cfg)
    data_id = {
        "n_images": len(source),
        "image_shape": list(source.shape[1:]),
        "objective": objective,
        "world_size": world,
        "num_classes": heads,
        "labels_sha1": hashlib.sha1(b"".join(y.tobytes() for y in job.labels)).hexdigest(),
    }
    if stream := source.identity(world):
        data_id["stream"] = stream
    ckpts = Checkpoints(job.out, run_identity(cfg, obj), data_id)
    if main:
        ckpts.sweep()  # temp files of a run killed while writing a checkpoint
    resumed = ckpts.resume(model, opt, plan.total, echo=job.echo) if job.resume else None
    if resumed is not None and resumed.state is not None:
        state = resumed.state.on_rank(rank)
    else:
        state = LoopState.start(len(heads))
        if main and bb_path.exists():
            bb_path.unlink()  # a fresh run must not leave a stale result behind
    D.barrier()
    step, history, seconds = state.step, state.history, state.seconds
    loss_sum, correct = (torch.tensor(v, dtype=torch.float64, device=device) for v in (state.loss, state.hits))
    seen = torch.tensor(state.seen, dtype=torch.float64, device=device)  # running sums on the device: no sync

    def global_sums():
        return [D.all_reduce_sum(t.clone()) for t in (loss_sum, correct, seen)]

    def save_ckpt():
        g_loss, g_correct, g_seen = global_sums()  # collective: every rank calls save_ckpt
        if main:
            running = seconds + time.perf_counter() - mark
            now = LoopState(step, history, running, float(g_loss), g_correct.tolist(), int(g_seen))
            ckpts.save(now, model, opt, spe)

    amp = torch.autocast("cuda", dtype=torch.bfloat16, enabled=device.type == "cuda" and cfg.bf16)
    trained, stopped, t_loop, lr = 0, False, time.perf_counter(), cfg.lr
    stop_after = job.stop_after_steps
    model.train()
    bar = tqdm(
        total=plan.total, initial=step, disable=not (job.progress and main), desc=f"pretrain {objective}", unit="step"
    )
    for epoch in range(step // spe, plan.epochs):
        mark = time.perf_counter()
        # a resumed run continues at data_position: batch step - epoch * spe of the epoch
        batches = on_device(
            source.batches(epoch, step - epoch * spe, spe, plan.batch, cfg, objective, rank, world),
            device,
            fmt,
            lambda x: obj.finish(x, cfg),
        )
        for x, ys in batches:
            lr = lr_at(step, plan.total, plan.warmup, cfg.lr)
            for group in opt.param_groups:
                group["lr"] = lr
            with amp:
                outs = net(x)
            loss, hits, batch_n = obj.loss(outs, ys, cfg)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            with torch.no_grad():
                loss_sum += loss.detach() * batch_n
                correct += hits
                seen += batch_n
            step, trained = step + 1, trained + batch_n
            bar.update(1)
            stopped = stop_after is not None and stop_after <= step < plan.total
            if step % spe and (stopped or (cfg.ckpt_every and step % cfg.ckpt_every == 0)):
                save_ckpt()
            if stopped:
                batches.close()
                break
        if step % spe == 0:  # the epoch is complete
            seconds += time.perf_counter() - mark
            g_loss, g_correct, g_seen = global_sums()
            anchors = float(g_seen) * obj.views
            history.append(
                {
                    "epoch": epoch + 1,
                    "step": step,
                    "loss": float(g_loss) / float(g_seen),
                    "accuracy": [float(c) / anchors for c in g_correct],
                    "images_per_s": float(g_seen) / seconds if seconds > 0 else 0.0,
                    "lr": lr,
                    "seconds": seconds,
                }
            )
            if job.holdout is not None:
                history[-1]["holdout_accuracy"] = _holdout_accuracy(job, model, device, fmt)
            bar.set_postfix(loss=f"{history[-1]['loss']:.3f}", refresh=False)
            seconds, mark = 0.0, time.perf_counter()
            loss_sum.zero_(), correct.zero_(), seen.zero_()
            _write_log(log_path, history)
            save_ckpt()
        if stopped:
            break
    bar.close()
    source.close()  # a streamed source's loader workers were kept between epochs
    _write_log(log_path, history)
    backbone = None
    if step >= plan.total:
        D.average_buffers(model)
        backbone = save_backbone(model.backbone, bb_path) if main else bb_path
    digests = D.all_gather_objects(D.state_digest(model))
    D.barrier()
    return _result(
        obj,
        cfg,
        job.t0,
        history=history,
        trained=trained * world,
        train_seconds=time.perf_counter() - t_loop,
        backbone=backbone,
        steps=step,
        digests=digests,
        resume=None if resumed is None else resumed.info(),
    )
