"""Checkpoints of the pretraining loop and the resume policy: what a checkpoint holds, which one a
run may continue from, what happens to the others.

A run folder holds ``checkpoint.pt`` (the last checkpoint, written atomically by rank 0) and
``checkpoint.prev.pt`` (the one before it, kept when a new one replaces it: the fallback when
``checkpoint.pt`` is damaged). A checkpoint is self-describing, a weights-only ``torch.save`` of::

    format         CKPT_FORMAT
    cfg            the run identity (:func:`run_identity`: every TrainConfig field and the trained
                   objective's own settings, ``"simclr.temperature"``, ...)
    data           the data identity (image count and shape, objective, world size, heads, labels
                   digest; ``stream``: the source's own identity, the pixels' SHA-256 of an array,
                   the shards' content digest and settings of a stream)
    step, history  the optimizer steps done, the log rows of the finished epochs
    model, optimizer
    data_position  {"epoch", "batch", "batches_per_epoch"}: where the data stream continues
    rng            {"torch": the CPU generator's state}
    running        (seconds, loss sum, hits per head, samples) of the interrupted epoch

:class:`LoopState` is the loop's side of it (``step``, ``history``, ``running``).
:meth:`Checkpoints.resume` continues from ``checkpoint.pt``, else ``checkpoint.prev.pt``, when
it has the same format, run identity (but :data:`RESUME_FREE`) and data identity; a file that
does not load as a weights-only checkpoint is moved aside as ``checkpoint.corrupt-<time>.pt``,
one of another run as ``checkpoint.stale-<time>.pt`` (kept, never deleted), and each decision is
printed (``[pretrain] ...``) and returned.
"""

from __future__ import annotations

import dataclasses
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch

from vise_lib.io import atomic_write, sweep_stale_temps
from vise_lib.pretrain import distributed as D
from vise_lib.pretrain.config import TrainConfig
from vise_lib.pretrain.objectives.base import Objective

__all__ = [
    "CHECKPOINT_NAME",
    "CKPT_FORMAT",
    "PREV_NAME",
    "RESUME_FREE",
    "Checkpoints",
    "LoopState",
    "Pick",
    "Resumed",
    "mismatch",
    "read_checkpoint",
    "run_identity",
]

CKPT_FORMAT = 3  # 3: the objective's own settings are part of the run identity (``simclr.temperature`` ...)
CHECKPOINT_NAME = "checkpoint.pt"
PREV_NAME = "checkpoint.prev.pt"  # the checkpoint before the last one: the fallback when checkpoint.pt is damaged
#: may change when resuming: where and how fast the steps run, not what they compute (``compile``:
#: checkpoints hold the uncompiled model's weights, so a run compiled on a GPU resumes eagerly and back)
RESUME_FREE = ("ckpt_every", "num_threads", "device", "prefetch", "compile")


def run_identity(cfg: TrainConfig, obj: Objective) -> dict:
    """What a checkpoint must match to be resumed: ``cfg``'s fields and the trained objective's
    settings (``"simclr.temperature"``, ...), every default filled in; other objectives'
    settings do not matter to this run."""
    own = {f"{obj.name}.{k}": v for k, v in obj.settings(cfg).to_params().items()}
    return {**{k: v for k, v in dataclasses.asdict(cfg).items() if k != "objectives"}, **own}


@dataclass
class LoopState:
    """Where the training loop stands, as a checkpoint stores it (besides weights and RNG).

    ``step`` optimizer steps are done; ``history`` holds the log rows of the finished epochs;
    ``seconds``, ``loss``, ``hits`` (one per head) and ``seen`` are the running sums of the
    epoch in progress (training seconds, loss times batch size, correct predictions, samples),
    summed over ranks when saved.
    """

    step: int = 0
    history: list[dict] = field(default_factory=list)
    seconds: float = 0.0
    loss: float = 0.0
    hits: list[float] = field(default_factory=list)
    seen: int = 0

    @classmethod
    def start(cls, heads: int) -> LoopState:
        """Step 0 of a run with ``heads`` heads."""
        return cls(hits=[0.0] * heads)

    @classmethod
    def from_checkpoint(cls, ck: dict) -> LoopState:
        """The state a checkpoint dict (:func:`read_checkpoint`) stores."""
        seconds, loss, hits, seen = ck["running"]
        return cls(step=ck["step"], history=ck["history"], seconds=seconds, loss=loss, hits=hits, seen=seen)

    def running(self) -> tuple[float, float, list[float], int]:
        """The checkpoint's ``running`` entry: ``(seconds, loss, hits, seen)``."""
        return (self.seconds, self.loss, self.hits, self.seen)

    def on_rank(self, rank: int) -> LoopState:
        """This rank's share: rank 0 carries the (all-reduced) running sums of the interrupted
        epoch, every other rank starts them at zero (its ``seconds`` are kept)."""
        if rank == 0:
            return self
        return dataclasses.replace(self, loss=0.0, hits=[0.0] * len(self.hits), seen=0)


def read_checkpoint(path: Path) -> tuple[dict | None, str | None]:
    """``(checkpoint, None)``, or ``(None, why)`` when ``path`` is not a readable weights-only checkpoint."""
    try:
        return torch.load(path, map_location="cpu", weights_only=True), None
    except Exception as e:  # truncated or corrupt file, or a pickle carrying code
        return None, f"not a readable weights-only checkpoint ({type(e).__name__}: {str(e)[:200]})"


def mismatch(ck: object, identity: dict, data: dict) -> str | None:
    """Why checkpoint ``ck`` cannot continue this run (format, config or data differ), or None.

    ``identity`` is this run's :func:`run_identity`, ``data`` its data identity; the reason
    names what differs (``"parameters changed: lr 0.05 -> 0.2"``, ``"data changed: labels_sha1"``).
    """
    if not isinstance(ck, dict) or ck.get("format") != CKPT_FORMAT:
        return f"checkpoint format {ck.get('format') if isinstance(ck, dict) else None} is not {CKPT_FORMAT}"
    old_data = ck.get("data") or {}
    if old_data.get("objective") != data["objective"]:  # then its settings differ too: name the cause
        return f"data changed: objective {old_data.get('objective')!r} -> {data['objective']!r}"
    old, new = ck.get("cfg", {}), identity
    diff = sorted(k for k in set(old) | set(new) if k not in RESUME_FREE and old.get(k) != new.get(k))
    if diff:
        return "parameters changed: " + ", ".join(f"{k} {old.get(k)!r} -> {new.get(k)!r}" for k in diff)
    changed = _changed_keys(old_data, data)
    if changed:
        pixels = [k for k in changed if k.endswith(("images_sha256", "shards_sha1"))]
        return "data changed: " + ", ".join(changed) + (" (other images: starting fresh)" if pixels else "")
    return None


def _changed_keys(old: dict, new: dict, prefix: str = "") -> list[str]:
    """The keys whose values differ, nested mappings named ``outer.inner``."""
    out = []
    for k in sorted(set(old) | set(new)):
        a, b = old.get(k), new.get(k)
        if isinstance(a, dict) and isinstance(b, dict):
            out += _changed_keys(a, b, f"{prefix}{k}.")
        elif a != b:
            out.append(f"{prefix}{k}")
    return out


def _aside_name(path: Path, kind: str) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    stem = path.name[: -len(path.suffix)] if path.suffix else path.name
    cand, i = path.with_name(f"{stem}.{kind}-{stamp}{path.suffix}"), 1
    while cand.exists():
        cand, i = path.with_name(f"{stem}.{kind}-{stamp}-{i}{path.suffix}"), i + 1
    return cand


@dataclass
class Pick:
    """What :meth:`Checkpoints.pick` chose: the ``checkpoint`` to resume (None: none usable)
    read from ``path``, the ``messages`` explaining it, and the unusable files to move
    ``aside`` as ``(path, "corrupt" | "stale")``."""

    checkpoint: dict | None = None
    path: Path | None = None
    messages: list[str] = field(default_factory=list)
    aside: list[tuple[Path, str]] = field(default_factory=list)


@dataclass
class Resumed:
    """What :meth:`Checkpoints.resume` did: the ``state`` to continue from (None: step 0), the
    checkpoint ``path`` it came from, and the ``messages`` it printed."""

    state: LoopState | None
    path: Path | None
    messages: list[str]

    def info(self) -> dict:
        """The ``resume`` entry of :func:`vise_lib.pretrain.loop.pretrain`'s result:
        ``{"from": checkpoint path or None, "step": first step of this call, "messages": [...]}``."""
        return {
            "from": None if self.path is None else str(self.path),
            "step": self.state.step if self.state is not None else 0,
            "messages": self.messages,
        }


class Checkpoints:
    """The checkpoint files of the run folder ``out`` for a run of ``identity`` (:func:`run_identity`)
    on data of identity ``data``."""

    def __init__(self, out: Path, identity: dict, data: dict):
        self.out, self.identity, self.data = Path(out), identity, data
        self.path = self.out / CHECKPOINT_NAME

    def sweep(self) -> None:
        """Remove the temp files of a run killed while writing a checkpoint (rank 0)."""
        sweep_stale_temps(self.path)

    def pick(self) -> Pick:
        """Choose what to resume from; reads only.

        ``checkpoint.pt`` first, then ``checkpoint.prev.pt``; an unreadable file is to be set
        aside as ``corrupt``, one from a different run (config, data) as ``stale``.
        """
        pick = Pick()
        for path in (self.path, self.out / PREV_NAME):
            if not path.is_file():
                continue
            ck, err = read_checkpoint(path)
            why = err or mismatch(ck, self.identity, self.data)
            if why is None:
                if path.name == PREV_NAME:
                    pick.messages.append(
                        f"resuming from the previous good checkpoint {path.name}: "
                        f"{'checkpoint.pt is damaged' if pick.aside else 'checkpoint.pt is missing'}"
                    )
                pick.checkpoint, pick.path = ck, path
                return pick
            pick.aside.append((path, "corrupt" if err else "stale"))
            pick.messages.append(f"{path}: {why}")
        return pick

    def resume(self, model: torch.nn.Module, opt: torch.optim.Optimizer, total: int, echo: bool = True) -> Resumed:
        """Restore ``model``, ``opt`` and the torch RNG from the best usable checkpoint, move the
        unusable ones aside (rank 0), print what it did (rank 0). Every rank calls it (it waits
        for all of them). ``total`` is the run's step count, for the message."""
        main = D.is_main()
        pick = self.pick()
        ck, path, msgs = pick.checkpoint, pick.path, pick.messages
        D.barrier()  # every rank has read before rank 0 moves anything
        moved = []
        for p, kind in pick.aside:
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
        elif pick.aside:
            msgs.append("starting fresh from step 0 (the checkpoint is not usable for this run); " + "; ".join(moved))
        else:
            msgs.append(f"no checkpoint in {self.out}: starting from step 0")
        if main and echo:
            for m in msgs:
                print(f"[pretrain] {m}", flush=True)
        return Resumed(None if ck is None else LoopState.from_checkpoint(ck), path, msgs)

    def save(self, state: LoopState, model: torch.nn.Module, opt: torch.optim.Optimizer, steps_per_epoch: int) -> None:
        """Write ``checkpoint.pt`` (atomic) for ``state``, keeping the one it replaces as
        ``checkpoint.prev.pt``. Rank 0 only; the running sums in ``state`` are the global ones."""
        spe = steps_per_epoch
        ck = {
            "format": CKPT_FORMAT,
            "cfg": self.identity,
            "data": self.data,
            "step": state.step,
            "history": state.history,
            "model": model.state_dict(),
            "optimizer": opt.state_dict(),
            "data_position": {"epoch": state.step // spe, "batch": state.step % spe, "batches_per_epoch": spe},
            "rng": {"torch": torch.get_rng_state()},
            "running": state.running(),
        }
        _rotate(self.path)
        atomic_write(self.path, lambda f: torch.save(ck, f))


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
