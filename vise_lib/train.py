"""Pretraining loop: pseudo-label (or object-label) classification, checkpoint/resume.

One head per label set on a shared backbone, loss = mean of the heads' cross-entropies, SGD
with momentum and a per-step cosine schedule after a linear warmup. Every random draw is a
pure function of ``(seed, epoch)`` (shuffling) or ``(seed, step)`` (augmentation), so a run
stopped at any checkpoint and resumed gives bit-identical weights on CPU (same thread count).
Also a script: ``python -m vise_lib.train --images X.npy --labels Y.npy --out DIR``.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import math
import numbers
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from .data import augment, check_images, check_labels, iterate_batches, to_tensor
from .models import ARCHS, MultiHeadClassifier, atomic_write, build_backbone, save_backbone

CKPT_FORMAT = 1
_RESUME_FREE = ("ckpt_every", "num_threads", "device")  # may change when resuming


@dataclass(frozen=True)
class TrainConfig:
    """Pretraining hyper-parameters, validated on construction (``ValueError`` on bad values).

    ``ckpt_every`` is in steps (0: checkpoint only at the end of each epoch);
    ``num_threads`` 0 leaves torch's default (bit-identical results need the same thread
    count); ``device`` is ``"auto"`` (CUDA when available), ``"cpu"`` or ``"cuda[:i]"``;
    ``width``/``blocks`` only shape ``small_resnet``; ``pad`` is the random-crop padding.
    """

    arch: str = "small_resnet"
    width: int = 32
    blocks: int = 1
    epochs: int = 5
    batch_size: int = 128
    lr: float = 0.1
    momentum: float = 0.9
    weight_decay: float = 5e-4
    warmup_epochs: float = 0.5
    augment: bool = True
    pad: int = 4
    channels_last: bool = True
    seed: int = 0
    ckpt_every: int = 0
    num_threads: int = 0
    device: str = "auto"

    def __post_init__(self):
        lows = {"width": 1, "blocks": 1, "epochs": 1, "batch_size": 2, "pad": 0, "seed": 0, "ckpt_every": 0,
                "num_threads": 0, "lr": 0.0, "momentum": 0.0, "weight_decay": 0.0, "warmup_epochs": 0.0}
        for f in dataclasses.fields(self):
            v, kind = getattr(self, f.name), {"int": numbers.Integral, "float": numbers.Real}.get(f.type)
            if f.type == "bool":
                if not isinstance(v, (bool, np.bool_)):
                    raise ValueError(f"TrainConfig.{f.name} must be a bool, got {v!r}")
                object.__setattr__(self, f.name, bool(v))
            if kind is None:
                continue
            if isinstance(v, bool) or not isinstance(v, kind) or not math.isfinite(v) or v < lows[f.name]:
                raise ValueError(f"TrainConfig.{f.name} must be {'an int' if f.type == 'int' else 'a number'} "
                                 f">= {lows[f.name]}, got {v!r}")
            object.__setattr__(self, f.name, int(v) if f.type == "int" else float(v))
        dev_ok = isinstance(self.device, str) and (self.device in ("auto", "cpu") or self.device.startswith("cuda"))
        for ok, what in ((self.arch in ARCHS, f"arch must be one of {ARCHS}, got {self.arch!r}"),
                         (self.lr > 0, f"lr must be > 0, got {self.lr}"),
                         (self.momentum < 1, f"momentum must be in [0, 1), got {self.momentum}"),
                         (dev_ok, f"device must be 'auto', 'cpu' or 'cuda[:i]', got {self.device!r}")):
            if not ok:
                raise ValueError(f"TrainConfig.{what}")

    @classmethod
    def from_params(cls, params: dict) -> "TrainConfig":
        """Build from a flat dict (e.g. papermill parameters); unknown keys raise ``ValueError``."""
        names = [f.name for f in dataclasses.fields(cls)]
        if not isinstance(params, dict):
            raise ValueError(f"params must be a dict, got {type(params).__name__}")
        if unknown := sorted(set(params) - set(names)):
            raise ValueError(f"unknown TrainConfig keys {unknown}; valid keys: {names}")
        return cls(**params)


def _derived_seed(*parts: int) -> int:
    """A well-mixed 63-bit seed from integers (independent streams per epoch/step)."""
    a, b = np.random.SeedSequence(list(parts)).generate_state(2, np.uint32)
    return (int(a) << 31) ^ int(b)


def lr_at(step: int, total: int, warmup: int, base: float) -> float:
    """Learning rate at ``step`` (0-based): linear warmup over ``warmup`` steps, then cosine to 0."""
    if step < warmup:
        return base * (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return base * 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))


def _write_log(path: Path, history: list[dict]) -> None:
    atomic_write(path, lambda f: f.writelines(json.dumps(row) + "\n" for row in history), mode="w")


def _result(history, t0, trained, train_seconds, backbone, steps) -> dict:
    return {"history": history, "seconds": time.perf_counter() - t0, "steps": steps,
            "images_per_s": trained / train_seconds if train_seconds > 0 else 0.0,
            "backbone": None if backbone is None else str(backbone), "completed": backbone is not None,
            "train_accuracy": history[-1]["accuracy"] if history else []}


def pretrain(images, label_sets, cfg: TrainConfig, out_dir, resume: bool = False,
             progress: bool = True, stop_after_steps: int | None = None) -> dict:
    """Pretrain a backbone on ``images`` with one classification head per label set.

    Args:
        images: uint8 ``(N, H, W, 3)``; may be ``None`` in random mode.
        label_sets: list of 1-D int label arrays (engagement pseudo labels, object labels,
            ...), one head each; ``None`` means "random": no training, the seeded initial
            backbone is saved (the same init a trained run with this seed starts from).
        cfg: a :class:`TrainConfig`.
        out_dir: receives ``backbone.pt`` (official layout, written when training completes),
            ``log.jsonl`` (one row per epoch: epoch, step, loss, accuracy per head,
            images_per_s, lr, seconds) and ``checkpoint.pt`` (model, optimizer, step,
            history, RNG state; atomic).
        resume: continue from ``out_dir/checkpoint.pt`` if present (else start fresh); the
            result is bit-identical to an uninterrupted run (CPU, same thread count). The
            checkpoint must come from the same config (except ``ckpt_every``,
            ``num_threads``, ``device``) and the same labels, else ``ValueError``.
        progress: show a tqdm bar.
        stop_after_steps: stop (after writing a checkpoint) once this many optimizer steps
            are done in total (an interruption, or a run split in parts); ``backbone.pt``
            is then not written and ``completed`` is False.

    Batches are ``min(batch_size, N)`` images; a final short batch is dropped each epoch.
    Returns ``history`` (the log rows), ``seconds``, ``images_per_s`` (this call's training
    throughput), ``backbone`` (path as str; None if stopped early), ``train_accuracy`` (per
    head, on the augmented batches of the last epoch), ``steps``, ``completed``.
    """
    if not isinstance(cfg, TrainConfig):
        raise ValueError(f"cfg must be a TrainConfig, got {type(cfg).__name__}")
    if stop_after_steps is not None and (not isinstance(stop_after_steps, int) or stop_after_steps < 0):
        raise ValueError(f"stop_after_steps must be a non-negative int or None, got {stop_after_steps!r}")
    if images is not None or label_sets is not None:
        check_images(images)
    labels = None if label_sets is None else check_labels(label_sets, len(images))
    out, prev_threads = Path(out_dir), torch.get_num_threads()
    out.mkdir(parents=True, exist_ok=True)
    if cfg.num_threads:
        torch.set_num_threads(cfg.num_threads)
    t0 = time.perf_counter()
    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(cfg.seed)
            backbone = build_backbone(cfg.arch, cfg.width, cfg.blocks)
            if labels is None:
                _write_log(out / "log.jsonl", [])
                return _result([], t0, 0, 0.0, save_backbone(backbone, out / "backbone.pt"), 0)
            model = MultiHeadClassifier(backbone, [int(y.max()) + 1 for y in labels])
            return _train(images, labels, model, cfg, out, resume, progress, stop_after_steps, t0)
    finally:
        torch.set_num_threads(prev_threads)


def _load_resume(ckpt_path: Path, cfg: TrainConfig, data_id: dict, model, opt) -> dict:
    """Restore model/optimizer/RNG from a checkpoint of the same run; return its saved loop state."""
    try:
        ck = torch.load(ckpt_path, map_location="cpu", weights_only=True)
    except Exception as e:  # corrupt file, or a pickle carrying code
        raise ValueError(f"{ckpt_path}: cannot resume: not a readable weights-only checkpoint ({e})") from e
    old, new = ck.get("cfg", {}), dataclasses.asdict(cfg)
    diff = sorted(k for k in set(old) | set(new) if k not in _RESUME_FREE and old.get(k) != new.get(k))
    if ck.get("format") != CKPT_FORMAT or diff or ck.get("data") != data_id:
        raise ValueError(f"{ckpt_path}: cannot resume: checkpoint differs in config {diff} "
                         f"or data ({ck.get('data')} vs {data_id})")
    model.load_state_dict(ck["model"])
    opt.load_state_dict(ck["optimizer"])
    torch.set_rng_state(ck["rng"]["torch"])
    return ck


def _train(images, labels, model, cfg, out, resume, progress, stop_after_steps, t0):
    ckpt_path, log_path, bb_path = out / "checkpoint.pt", out / "log.jsonl", out / "backbone.pt"
    device = torch.device(("cuda" if torch.cuda.is_available() else "cpu") if cfg.device == "auto" else cfg.device)
    fmt = torch.channels_last if cfg.channels_last else torch.contiguous_format  # faster on CPU too
    model.to(device, memory_format=fmt)
    if (n := len(images)) < 2:
        raise ValueError(f"need at least 2 images to train, got {n}")
    spe = n // (bs := min(cfg.batch_size, n))  # steps per epoch; a final short batch is dropped
    total, warmup = spe * cfg.epochs, round(cfg.warmup_epochs * spe)
    opt = torch.optim.SGD(model.parameters(), lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)
    data_id = {"n_images": n, "image_shape": list(images.shape[1:]), "num_classes": [h.out_features for h in
               model.heads], "labels_sha1": hashlib.sha1(b"".join(y.tobytes() for y in labels)).hexdigest()}
    st = {"step": 0, "history": [], "running": (0.0, 0.0, [0.0] * len(labels), 0)}  # running: secs, loss, hits, n
    if resume and ckpt_path.is_file():
        st = _load_resume(ckpt_path, cfg, data_id, model, opt)
    elif bb_path.exists():
        bb_path.unlink()  # a fresh run must not leave a stale result behind
    step, history, (seconds, loss_sum, correct, seen) = st["step"], st["history"], st["running"]
    loss_sum, correct = (torch.tensor(v, dtype=torch.float64, device=device) for v in (loss_sum, correct))  # no sync

    def save_ckpt():
        ck = {"format": CKPT_FORMAT, "cfg": dataclasses.asdict(cfg), "data": data_id, "step": step, "history": history,
              "model": model.state_dict(), "optimizer": opt.state_dict(), "rng": {"torch": torch.get_rng_state()},
              "running": (seconds + time.perf_counter() - mark, float(loss_sum), correct.tolist(), seen)}
        atomic_write(ckpt_path, lambda f: torch.save(ck, f))

    label_t, gen = [torch.from_numpy(y) for y in labels], torch.Generator()
    trained, stopped, t_loop = 0, False, time.perf_counter()
    model.train()
    bar = tqdm(total=total, initial=step, disable=not progress, desc="pretrain", unit="step")
    for epoch in range(step // spe, cfg.epochs):
        batches = list(iterate_batches(n, bs, gen.manual_seed(_derived_seed(cfg.seed, 0, epoch)), drop_last=True))
        mark = time.perf_counter()
        for idx in batches[step - epoch * spe:]:
            x = to_tensor(images[idx.numpy()])
            if cfg.augment:
                x = augment(x, gen.manual_seed(_derived_seed(cfg.seed, 1, step)), pad=cfg.pad)
            x, ys = x.to(device, memory_format=fmt, non_blocking=True), [y[idx].to(device) for y in label_t]
            lr = lr_at(step, total, warmup, cfg.lr)
            for group in opt.param_groups:
                group["lr"] = lr
            logits = model(x)
            loss = sum(F.cross_entropy(lg, y) for lg, y in zip(logits, ys)) / len(ys)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            with torch.no_grad():
                loss_sum += loss.detach() * len(idx)
                correct += torch.stack([(lg.argmax(1) == y).sum() for lg, y in zip(logits, ys)])
            step, seen, trained = step + 1, seen + len(idx), trained + len(idx)
            bar.update(1)
            stopped = stop_after_steps is not None and stop_after_steps <= step < total
            if step % spe and (stopped or (cfg.ckpt_every and step % cfg.ckpt_every == 0)):
                save_ckpt()
            if stopped:
                break
        if step % spe == 0:  # the epoch is complete
            seconds += time.perf_counter() - mark
            history.append({"epoch": epoch + 1, "step": step, "loss": float(loss_sum) / seen,
                            "accuracy": [float(c) / seen for c in correct],
                            "images_per_s": seen / seconds if seconds > 0 else 0.0, "lr": lr, "seconds": seconds})
            bar.set_postfix(loss=f"{history[-1]['loss']:.3f}", refresh=False)
            seconds, seen, mark = 0.0, 0, time.perf_counter()
            loss_sum.zero_(), correct.zero_()
            _write_log(log_path, history)
            save_ckpt()
        if stopped:
            break
    bar.close()
    _write_log(log_path, history)
    backbone = save_backbone(model.backbone, bb_path) if step >= total else None
    return _result(history, t0, trained, time.perf_counter() - t_loop, backbone, step)


def _boolean(text: str) -> bool:
    if text.lower() not in ("true", "1", "false", "0"):
        raise ValueError(text)
    return text.lower() in ("true", "1")


def main(argv: list[str] | None = None) -> dict:
    """Command-line entry point: ``python -m vise_lib.train --images X.npy --labels Y.npy --out DIR``."""
    p = argparse.ArgumentParser(prog="python -m vise_lib.train", description=__doc__.splitlines()[0])
    p.add_argument("--images", required=True, help="uint8 .npy of shape (N, H, W, 3)")
    p.add_argument("--labels", action="append", default=None,
                   help="int .npy of shape (N,), one per head; repeatable; omit for the 'random' baseline")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.pt if present")
    p.add_argument("--no-progress", action="store_true", help="no tqdm bar")
    p.add_argument("--stop-after-steps", type=int, default=None, help="stop after this many steps (resumable)")
    for f in dataclasses.fields(TrainConfig):
        kind = {"int": int, "float": float, "bool": _boolean, "str": str}[f.type]
        p.add_argument("--" + f.name.replace("_", "-"), dest=f.name, type=kind, default=f.default,
                       help=f"TrainConfig.{f.name} (default: %(default)s)")
    a = p.parse_args(argv)
    try:
        cfg = TrainConfig(**{f.name: getattr(a, f.name) for f in dataclasses.fields(TrainConfig)})
        images = np.load(a.images, allow_pickle=False)
        labels = None if a.labels is None else [np.load(path, allow_pickle=False) for path in a.labels]
        res = pretrain(images, labels, cfg, a.out, resume=a.resume, progress=not a.no_progress,
                       stop_after_steps=a.stop_after_steps)
    except (ValueError, FileNotFoundError) as e:
        p.exit(2, f"error: {e}\n")
    print(json.dumps({k: v for k, v in res.items() if k != "history"}))
    return res


if __name__ == "__main__":
    main()
