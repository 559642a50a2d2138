"""Pretraining hyper-parameters (:class:`TrainConfig`), the learning-rate schedule and seed mixing."""

from __future__ import annotations

import dataclasses
import math
import numbers
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from vise_lib.backbones.archs import ARCHS

CROPS = ("pad", "resized")  # TrainConfig.crop: pad-and-crop, RandomResizedCrop


@dataclass(frozen=True)
class TrainConfig:
    """Pretraining hyper-parameters, validated on construction (``ValueError`` on bad values).

    ``ckpt_every`` is in steps (0: checkpoint only at the end of each epoch);
    ``num_threads`` 0 leaves torch's default (bit-identical results need the same thread
    count); ``device`` is ``"auto"`` (CUDA when available), ``"cpu"`` or ``"cuda[:i]"``;
    ``width``/``blocks`` only shape ``small_resnet``; ``crop`` is how ``augment`` crops:
    ``"pad"`` (pad by ``pad`` pixels, crop back at a random offset: the CPU study at 24-32 px) or
    ``"resized"`` (RandomResizedCrop: area 8-100 %, aspect 3/4-4/3, resized back by
    nearest-neighbour sampling: the 224 px recipe); ``pad`` is the pad-and-crop padding;
    ``decay_norm_bias`` False exempts BatchNorm weights and every bias (the 1-D parameters)
    from weight decay, as the ResNet-50 references do (True, the default, decays everything:
    the CPU study's setting); ``compile`` wraps the model in ``torch.compile`` (opt-in: it
    compiles for a minute before the first step, then runs faster on a GPU);
    ``bf16`` enables bf16 autocast on CUDA (ignored on CPU); ``prefetch`` is how many batches
    a background thread prepares ahead (0: inline, the default: on a 2-core CPU the thread
    competes with the training step, see ``benchmarks/loader.py``; on a GPU, 2 overlaps the two).
    ``objectives`` maps an objective name to its own settings, e.g.
    ``{"simclr": {"temperature": 0.5}}``; a name or key left out keeps the objective's default
    (:mod:`vise_lib.pretrain.objectives`: each objective declares and checks its settings; the
    names and keys are checked against that registry by ``check_settings`` there, which the
    loop calls before training).
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
    crop: str = "pad"
    pad: int = 4
    decay_norm_bias: bool = True
    compile: bool = False
    channels_last: bool = True
    bf16: bool = True
    seed: int = 0
    ckpt_every: int = 0
    num_threads: int = 0
    prefetch: int = 0
    device: str = "auto"
    objectives: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        lows = {
            "width": 1,
            "blocks": 1,
            "epochs": 1,
            "batch_size": 2,
            "pad": 0,
            "seed": 0,
            "ckpt_every": 0,
            "num_threads": 0,
            "prefetch": 0,
            "lr": 0.0,
            "momentum": 0.0,
            "weight_decay": 0.0,
            "warmup_epochs": 0.0,
        }
        # field annotations are strings (postponed evaluation); Any lets int()/float() take the value
        # isinstance() checked against numbers.Integral / numbers.Real
        kinds: dict[Any, Any] = {"int": numbers.Integral, "float": numbers.Real}
        for f in dataclasses.fields(self):
            v, kind = getattr(self, f.name), kinds.get(f.type)
            if f.type == "bool":
                if not isinstance(v, (bool, np.bool_)):
                    raise ValueError(f"TrainConfig.{f.name} must be a bool, got {v!r}")
                object.__setattr__(self, f.name, bool(v))
            if kind is None:
                continue
            if isinstance(v, bool) or not isinstance(v, kind) or not math.isfinite(v) or v < lows[f.name]:
                raise ValueError(
                    f"TrainConfig.{f.name} must be {'an int' if f.type == 'int' else 'a number'} "
                    f">= {lows[f.name]}, got {v!r}"
                )
            object.__setattr__(self, f.name, int(v) if f.type == "int" else float(v))
        dev_ok = isinstance(self.device, str) and (self.device in ("auto", "cpu") or self.device.startswith("cuda"))
        for ok, what in (
            (self.arch in ARCHS, f"arch must be one of {ARCHS}, got {self.arch!r}"),
            (self.lr > 0, f"lr must be > 0, got {self.lr}"),
            (self.momentum < 1, f"momentum must be in [0, 1), got {self.momentum}"),
            (dev_ok, f"device must be 'auto', 'cpu' or 'cuda[:i]', got {self.device!r}"),
            (self.crop in CROPS, f"crop must be one of {CROPS}, got {self.crop!r}"),
        ):
            if not ok:
                raise ValueError(f"TrainConfig.{what}")
        if not isinstance(self.objectives, dict) or not all(
            isinstance(k, str) and isinstance(v, dict) for k, v in self.objectives.items()
        ):
            raise ValueError(
                f"TrainConfig.objectives must map objective names to settings dicts, got {self.objectives!r}"
            )
        object.__setattr__(self, "objectives", {k: dict(v) for k, v in self.objectives.items()})  # a private copy

    @classmethod
    def from_params(cls, params: dict) -> TrainConfig:
        """Build from a flat dict (e.g. papermill parameters); unknown keys raise ``ValueError``."""
        names = [f.name for f in dataclasses.fields(cls)]
        if not isinstance(params, dict):
            raise ValueError(f"params must be a dict, got {type(params).__name__}")
        if unknown := sorted(set(params) - set(names)):
            raise ValueError(f"unknown TrainConfig keys {unknown}; valid keys: {names}")
        return cls(**params)


def derived_seed(*parts: int) -> int:
    """A well-mixed 63-bit seed from integers (independent streams per epoch/step)."""
    a, b = np.random.SeedSequence(list(parts)).generate_state(2, np.uint32)
    return (int(a) << 31) ^ int(b)


def lr_at(step: int, total: int, warmup: int, base: float) -> float:
    """Learning rate at ``step`` (0-based): linear warmup over ``warmup`` steps, then cosine to 0."""
    if step < warmup:
        return base * (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return base * 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))
