"""Pretraining loop: any registered objective; checkpoint/resume.

The objective (:mod:`vise_lib.pretrain.objectives`: ``classify`` with one head per label set,
``simclr``, ``none`` for the untrained baseline, ...) builds the model, prepares each batch and
computes the loss; this loop owns everything else. SGD with momentum and a per-step cosine
schedule after a linear warmup. Every random draw is a pure function of ``(seed, epoch)``
(shuffling) or ``(seed, step, rank)`` (augmentation), so a run stopped at any checkpoint and
resumed gives bit-identical weights on CPU (same thread count). On CUDA the step runs under
bf16 autocast with channels_last tensors. Under ``torchrun`` the model is wrapped in
``DistributedDataParallel`` and each epoch is sharded by ``DistributedSampler``
(see :mod:`vise_lib.pretrain.distributed`); ``batch_size`` is the global batch. Also a script:
``python -m vise_lib.pretrain`` (see :mod:`vise_lib.pretrain.cli`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import time
from pathlib import Path
from typing import Any

import torch
from torch.nn.parallel import DistributedDataParallel
from tqdm import tqdm

from vise_lib.backbones.archs import build_backbone
from vise_lib.backbones.checkpoint import save_backbone
from vise_lib.backbones.tensors import check_images, check_labels, prefetch
from vise_lib.io import atomic_write, sweep_stale_temps
from vise_lib.pretrain import distributed as D
from vise_lib.pretrain.config import TrainConfig, derived_seed, lr_at
from vise_lib.pretrain.objectives import OBJECTIVES, check_settings, resolve_objective
from vise_lib.pretrain.objectives.base import Objective
from vise_lib.pretrain.streaming import ShardSource

__all__ = ["TrainConfig", "batch_stream", "lr_at", "pretrain"]

CKPT_FORMAT = 3  # 3: the objective's own settings are part of the run identity (``simclr.temperature`` ...)
PREV_NAME = "checkpoint.prev.pt"  # the checkpoint before the last one: the fallback when checkpoint.pt is damaged
_RESUME_FREE = ("ckpt_every", "num_threads", "device", "prefetch")  # may change when resuming


def _write_log(path: Path, history: list[dict]) -> None:
    if D.is_main():
        atomic_write(path, lambda f: f.writelines(json.dumps(row) + "\n" for row in history), mode="w")


def _identity(cfg: TrainConfig, obj: Objective) -> dict:
    """What a checkpoint must match to be resumed: ``cfg``'s fields and the trained objective's
    settings (``"simclr.temperature"``, ...), every default filled in; other objectives'
    settings do not matter to this run."""
    own = {f"{obj.name}.{k}": v for k, v in obj.settings(cfg).to_params().items()}
    return {**{k: v for k, v in dataclasses.asdict(cfg).items() if k != "objectives"}, **own}


def _result(history, t0, trained, train_seconds, backbone, steps, obj, cfg, digests, resume=None) -> dict:
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
) -> dict:
    """Pretrain a backbone on ``images``: classification heads, SimCLR, or nothing ("random").

    Args:
        images: uint8 ``(N, H, W, 3)``; may be ``None`` for the ``none`` objective; or a
            :class:`vise_lib.pretrain.streaming.ShardSource` to stream WebDataset shards (then
            ``label_sets`` is the source's own ``label_sets``, joined by post id).
        label_sets: list of 1-D int label arrays (engagement pseudo labels, object labels,
            ...), one head each, for ``classify``; ``None`` for ``simclr`` and ``none``.
        cfg: a :class:`TrainConfig`.
        out_dir: receives ``backbone.pt`` (official layout, written when training completes),
            ``log.jsonl`` (one row per epoch: epoch, step, loss, accuracy per head,
            images_per_s, lr, seconds) and ``checkpoint.pt`` (model, optimizer, step,
            history, RNG state; atomic). Under ``torchrun`` only rank 0 writes.
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
    streaming = isinstance(images, ShardSource)
    if not streaming and (images is not None or obj.trains):
        check_images(images)
    if streaming and obj.needs_labels and label_sets is not images.label_sets:
        raise ValueError("streaming from shards: pass the ShardSource's own label_sets (joined by post id)")
    n_labels = len(label_sets[0]) if streaming and label_sets else len(images) if images is not None else 0
    labels = check_labels(label_sets, n_labels) if obj.needs_labels else []
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
                return _result([], t0, 0, 0.0, path, 0, obj, cfg, D.all_gather_objects(D.state_digest(backbone)))
            model = obj.build(backbone, labels, cfg)
            return _train(images, labels, model, cfg, out, resume, progress, stop_after_steps, t0, obj)
    finally:
        torch.set_num_threads(prev_threads)


def batch_stream(images, label_t, todo, cfg: TrainConfig, objective: str = "classify", rank: int = 0):
    """The training data path: yield ``(x, [labels])`` for each ``(step, indices)`` in ``todo``.

    Indexes the uint8 ``images`` (in memory or memory-mapped) and lets the objective prepare
    the batch (crop + flip; two SimCLR views for ``simclr``) with a generator seeded by
    ``(cfg.seed, step, rank)``, ``cfg.prefetch`` batches ahead in a background thread.
    ``label_t`` is a list of int64 label tensors (empty for objectives without labels).
    """
    obj = OBJECTIVES[objective]

    def prepare(item):  # runs in the prefetch thread: one generator per step, no shared state
        s, idx = item
        g = torch.Generator().manual_seed(derived_seed(cfg.seed, 1, s, rank))
        x = obj.prepare(images[idx], g, cfg)
        t = torch.from_numpy(idx)
        return x, [y[t] for y in label_t]

    return prefetch(todo, prepare, depth=cfg.prefetch)


def _read_checkpoint(path: Path):
    """``(checkpoint, None)``, or ``(None, why)`` when the file is not a readable weights-only checkpoint."""
    try:
        return torch.load(path, map_location="cpu", weights_only=True), None
    except Exception as e:  # truncated or corrupt file, or a pickle carrying code
        return None, f"not a readable weights-only checkpoint ({type(e).__name__}: {str(e)[:200]})"


def _mismatch(ck, ident: dict, data_id: dict) -> str | None:
    """Why checkpoint ``ck`` cannot continue this run (format, config or data differ), or None.

    ``ident`` is this run's :func:`_identity`."""
    if not isinstance(ck, dict) or ck.get("format") != CKPT_FORMAT:
        return f"checkpoint format {ck.get('format') if isinstance(ck, dict) else None} is not {CKPT_FORMAT}"
    data = ck.get("data") or {}
    if data.get("objective") != data_id["objective"]:  # then its settings differ too: name the cause
        return f"data changed: objective {data.get('objective')!r} -> {data_id['objective']!r}"
    old, new = ck.get("cfg", {}), ident
    diff = sorted(k for k in set(old) | set(new) if k not in _RESUME_FREE and old.get(k) != new.get(k))
    if diff:
        return "parameters changed: " + ", ".join(f"{k} {old.get(k)!r} -> {new.get(k)!r}" for k in diff)
    changed = sorted(k for k in set(data) | set(data_id) if data.get(k) != data_id.get(k))
    if changed:
        return "data changed: " + ", ".join(changed)
    return None


def _aside_name(path: Path, kind: str) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    stem = path.name[: -len(path.suffix)] if path.suffix else path.name
    cand, i = path.with_name(f"{stem}.{kind}-{stamp}{path.suffix}"), 1
    while cand.exists():
        cand, i = path.with_name(f"{stem}.{kind}-{stamp}-{i}{path.suffix}"), i + 1
    return cand


def _pick_checkpoint(out: Path, ident: dict, data_id: dict):
    """Choose what to resume from: ``(checkpoint or None, its path, messages, [(path, kind)] to move aside)``.

    ``checkpoint.pt`` first, then ``checkpoint.prev.pt``; an unreadable file is set aside as
    ``corrupt``, one from a different run (config, data) as ``stale``. Reads only.
    """
    msgs: list[str] = []
    aside: list[tuple[Path, str]] = []
    for path in (out / "checkpoint.pt", out / PREV_NAME):
        if not path.is_file():
            continue
        ck, err = _read_checkpoint(path)
        why = err or _mismatch(ck, ident, data_id)
        if why is None:
            if path.name == PREV_NAME:
                msgs.append(
                    f"resuming from the previous good checkpoint {path.name}: "
                    f"{'checkpoint.pt is damaged' if aside else 'checkpoint.pt is missing'}"
                )
            return ck, path, msgs, aside
        aside.append((path, "corrupt" if err else "stale"))
        msgs.append(f"{path}: {why}")
    return None, None, msgs, aside


def _resume_state(out: Path, ident: dict, data_id: dict, model, opt, total: int, main: bool) -> tuple:
    """Restore model/optimizer/RNG from the best usable checkpoint in ``out`` (see :func:`pretrain`);
    return ``(saved loop state or None, resume info)``. Prints what it did (rank 0)."""
    ck, path, msgs, aside = _pick_checkpoint(out, ident, data_id)
    D.barrier()  # every rank has read before rank 0 moves anything
    moved = []
    for p, kind in aside:
        dst = _aside_name(p, kind)
        if main:
            os.replace(p, dst)
        moved.append(f"{p.name} moved to {dst.name}")
    D.barrier()
    if ck is not None:
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["optimizer"])
        torch.set_rng_state(ck["rng"]["torch"])
        msgs.append(
            f"resuming from {path} at step {ck['step']} of {total}: the stage's inputs and "
            f"parameters are unchanged" + ("; " + "; ".join(moved) if moved else "")
        )
    elif aside:
        msgs.append("starting fresh from step 0 (the checkpoint is not usable for this run); " + "; ".join(moved))
    else:
        msgs.append(f"no checkpoint in {out}: starting from step 0")
    if main:
        for m in msgs:
            print(f"[pretrain] {m}", flush=True)
    return ck, {"from": None if path is None else str(path), "step": ck["step"] if ck else 0, "messages": msgs}


def _rotate(ckpt_path: Path) -> None:
    """Keep the current checkpoint as ``checkpoint.prev.pt`` before it is replaced (hard link when possible)."""
    if not ckpt_path.is_file():
        return
    prev = ckpt_path.with_name(PREV_NAME)
    prev.unlink(missing_ok=True)
    try:
        os.link(ckpt_path, prev)  # checkpoint.pt stays in place until the new one replaces it
    except OSError:
        os.replace(ckpt_path, prev)


def _device(cfg: TrainConfig, world: int) -> torch.device:
    dev = ("cuda" if torch.cuda.is_available() else "cpu") if cfg.device == "auto" else cfg.device
    if dev == "cuda" and world > 1:
        dev = f"cuda:{D.env_rank_world()[2]}"
    return torch.device(dev)


def _train(images, labels, model, cfg, out, resume, progress, stop_after_steps, t0, obj):
    objective = obj.name
    ckpt_path, log_path, bb_path = out / "checkpoint.pt", out / "log.jsonl", out / "backbone.pt"
    (rank, world), main = D.rank_world(), D.is_main()
    device = _device(cfg, world)
    fmt = torch.channels_last if cfg.channels_last else torch.contiguous_format  # faster on CPU too
    model.to(device, memory_format=fmt)
    net = (
        model
        if world == 1
        else DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)
    )
    if (n := len(images)) < 2:
        raise ValueError(f"need at least 2 images to train, got {n}")
    if (bs := min(cfg.batch_size, n)) % world or bs // world < 2:
        raise ValueError(f"batch_size {bs} must be a multiple of the world size {world} with >= 2 images per rank")
    bs_rank, epochs = bs // world, obj.epochs(cfg)
    spe = (n // world) // bs_rank  # steps per epoch; a final short batch is dropped
    total, warmup = spe * epochs, round(cfg.warmup_epochs * spe)
    opt = torch.optim.SGD(model.parameters(), lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)
    heads = obj.heads(model, cfg)
    data_id = {
        "n_images": n,
        "image_shape": list(images.shape[1:]),
        "objective": objective,
        "world_size": world,
        "num_classes": heads,
        "labels_sha1": hashlib.sha1(b"".join(y.tobytes() for y in labels)).hexdigest(),
    }
    if isinstance(images, ShardSource):
        data_id["stream"] = images.identity(world)
    st: dict[str, Any] = {
        "step": 0,
        "history": [],
        "running": (0.0, 0.0, [0.0] * len(heads), 0),
    }  # running: secs, loss, hits, n
    if main:
        sweep_stale_temps(ckpt_path)  # temp files of a run killed while writing a checkpoint
    ident = _identity(cfg, obj)
    ck, info = _resume_state(out, ident, data_id, model, opt, total, main) if resume else (None, None)
    if ck is not None:
        st = ck
        if rank:  # rank 0 carries the (all-reduced) running sums of the interrupted epoch
            st["running"] = (st["running"][0], 0.0, [0.0] * len(heads), 0)
    elif main and bb_path.exists():
        bb_path.unlink()  # a fresh run must not leave a stale result behind
    D.barrier()
    step, history, (seconds, loss_sum, correct, seen) = st["step"], st["history"], st["running"]
    loss_sum, correct = (torch.tensor(v, dtype=torch.float64, device=device) for v in (loss_sum, correct))  # no sync
    seen = torch.tensor(seen, dtype=torch.float64, device=device)

    def global_sums():
        return [D.all_reduce_sum(t.clone()) for t in (loss_sum, correct, seen)]

    def save_ckpt():
        g_loss, g_correct, g_seen = global_sums()  # collective: every rank calls save_ckpt
        if main:
            ck = {
                "format": CKPT_FORMAT,
                "cfg": ident,
                "data": data_id,
                "step": step,
                "history": history,
                "model": model.state_dict(),
                "optimizer": opt.state_dict(),
                "data_position": {"epoch": step // spe, "batch": step % spe, "batches_per_epoch": spe},
                "rng": {"torch": torch.get_rng_state()},
                "running": (seconds + time.perf_counter() - mark, float(g_loss), g_correct.tolist(), int(g_seen)),
            }
            _rotate(ckpt_path)
            atomic_write(ckpt_path, lambda f: torch.save(ck, f))

    label_t = [torch.from_numpy(y) for y in labels]
    amp = torch.autocast("cuda", dtype=torch.bfloat16, enabled=device.type == "cuda" and cfg.bf16)
    trained, stopped, t_loop, lr = 0, False, time.perf_counter(), cfg.lr
    model.train()
    bar = tqdm(total=total, initial=step, disable=not (progress and main), desc=f"pretrain {objective}", unit="step")
    for epoch in range(step // spe, epochs):
        mark = time.perf_counter()
        if isinstance(images, ShardSource):  # resumes at data_position: batch step - epoch * spe of the epoch
            batches = images.batches(epoch, step - epoch * spe, spe, bs_rank, cfg, objective, rank, world)
        else:
            order = D.epoch_indices(n, epoch, derived_seed(cfg.seed, 0) % 2**62, rank, world)
            todo = [(epoch * spe + i, order[i * bs_rank : (i + 1) * bs_rank]) for i in range(step - epoch * spe, spe)]
            batches = batch_stream(images, label_t, todo, cfg, objective, rank)
        for x, ys in batches:
            x, ys = x.to(device, memory_format=fmt, non_blocking=True), [y.to(device) for y in ys]
            lr = lr_at(step, total, warmup, cfg.lr)
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
            stopped = stop_after_steps is not None and stop_after_steps <= step < total
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
            bar.set_postfix(loss=f"{history[-1]['loss']:.3f}", refresh=False)
            seconds, mark = 0.0, time.perf_counter()
            loss_sum.zero_(), correct.zero_(), seen.zero_()
            _write_log(log_path, history)
            save_ckpt()
        if stopped:
            break
    bar.close()
    if isinstance(images, ShardSource):
        images.close()  # its loader workers were kept between epochs
    _write_log(log_path, history)
    backbone = None
    if step >= total:
        D.average_buffers(model)
        backbone = save_backbone(model.backbone, bb_path) if main else bb_path
    digests = D.all_gather_objects(D.state_digest(model))
    D.barrier()
    return _result(history, t0, trained * world, time.perf_counter() - t_loop, backbone, step, obj, cfg, digests, info)
