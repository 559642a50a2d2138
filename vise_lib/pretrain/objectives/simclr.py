"""SimCLR, the self-supervised baseline: two augmented views per image, NT-Xent loss.

Our CPU-sized version of Chen et al. (2020): each image gives two views (random resized
crop, nearest-neighbour, with flip, then colour distortion: brightness, contrast, saturation with probability
0.8 and grayscale with probability 0.2; no hue jitter and no blur at 32 px), a small MLP
projector maps pooled features to ``proj_dim``, and the normalized-temperature cross entropy
treats the other view of the same image as the positive and the other ``2B - 2`` views of the
(per-process) batch as negatives. All randomness comes from an explicit ``torch.Generator``,
vectorized over the batch, so runs are reproducible and resumable like the supervised ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from vise_lib.backbones.archs import feature_dim, pooled_features
from vise_lib.backbones.tensors import normalize, resized_crop_flip, to_unit
from vise_lib.config import StageConfig
from vise_lib.pretrain.config import TrainConfig
from vise_lib.pretrain.objectives.base import Objective


class SimCLRModel(nn.Module):
    """Backbone + global average pool + projector ``Linear-BN-ReLU-Linear`` to ``proj_dim``.

    ``forward(x)`` returns the projections ``(B, proj_dim)``; ``.backbone`` is the trunk that
    is saved (the projector is discarded after pretraining, as in SimCLR).
    """

    def __init__(self, backbone: nn.Module, proj_dim: int = 64, hidden_dim: int | None = None):
        super().__init__()
        if isinstance(proj_dim, bool) or not isinstance(proj_dim, int) or proj_dim < 1:
            raise ValueError(f"proj_dim must be a positive int, got {proj_dim!r}")
        dim = feature_dim(backbone)
        hidden = hidden_dim or dim
        self.backbone = backbone
        self.projector = nn.Sequential(
            nn.Linear(dim, hidden, bias=False),
            nn.BatchNorm1d(hidden),
            nn.ReLU(inplace=True),
            nn.Linear(hidden, proj_dim),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.projector(pooled_features(self.backbone, x))


def nt_xent(z: torch.Tensor, temperature: float = 0.2) -> tuple[torch.Tensor, torch.Tensor]:
    """NT-Xent loss of projections ``z`` (2B, d), rows ``i`` and ``i + B`` being two views of one image.

    Returns ``(loss, hits)``: the mean cross entropy over all 2B anchors, and how many anchors
    rank their positive first among the other 2B - 1 views (the contrastive accuracy).
    """
    if z.dim() != 2 or z.shape[0] < 2 or z.shape[0] % 2:
        raise ValueError(f"z must be (2B, d) with B >= 1, got {tuple(z.shape)}")
    if not temperature > 0:
        raise ValueError(f"temperature must be > 0, got {temperature!r}")
    z = F.normalize(z.float(), dim=1)
    b = z.shape[0] // 2
    sim = (z @ z.t()) / temperature
    eye = torch.eye(2 * b, dtype=torch.bool, device=z.device)
    sim = sim.masked_fill(eye, float("-inf"))
    target = torch.cat([torch.arange(b, 2 * b), torch.arange(0, b)]).to(z.device)
    return F.cross_entropy(sim, target), (sim.argmax(1) == target).sum()


def _uniform(n: int, lo: float, hi: float, g: torch.Generator) -> torch.Tensor:
    return lo + (hi - lo) * torch.rand(n, generator=g)


def _gray(x: torch.Tensor) -> torch.Tensor:
    return 0.299 * x[:, 0:1] + 0.587 * x[:, 1:2] + 0.114 * x[:, 2:3]


def colour_distort(
    x: torch.Tensor, g: torch.Generator, strength: float = 0.5, p_jitter: float = 0.8, p_gray: float = 0.2
) -> torch.Tensor:
    """Brightness, contrast and saturation jitter (factors in ``1 ± 0.8*strength``) with
    probability ``p_jitter``, then grayscale with probability ``p_gray``; ``x`` in ``[0, 1]``."""
    b, dev = x.shape[0], x.device
    s = 0.8 * strength
    jit = (torch.rand(b, generator=g) < p_jitter).float()
    bri, con, sat = (1 + jit * (_uniform(b, -s, s, g)) for _ in range(3))
    gray_on = torch.rand(b, generator=g) < p_gray
    view = lambda t: t.to(dev, x.dtype).view(b, 1, 1, 1)  # noqa: E731
    x = x * view(bri)
    mean = _gray(x).mean(dim=(2, 3), keepdim=True)
    x = (x - mean) * view(con) + mean
    gray = _gray(x)
    x = (x - gray) * view(sat) + gray
    x = torch.where(view(gray_on).bool(), _gray(x).expand_as(x), x)
    return x.clamp_(0.0, 1.0)


def two_views(x_unit: torch.Tensor, g: torch.Generator, strength: float = 0.5) -> torch.Tensor:
    """Two independently augmented, normalized views of ``x_unit`` (B, 3, H, W) in ``[0, 1]``.

    Returns ``(2B, 3, H, W)``: rows ``i`` and ``i + B`` come from image ``i``.
    """
    if not isinstance(x_unit, torch.Tensor) or x_unit.dim() != 4 or x_unit.shape[1] != 3:
        raise ValueError(f"x_unit must be a (B, 3, H, W) tensor, got {getattr(x_unit, 'shape', type(x_unit))}")
    if not isinstance(g, torch.Generator):
        raise ValueError("g must be a torch.Generator")
    views = [colour_distort(resized_crop_flip(x_unit, g), g, strength) for _ in range(2)]
    return normalize(torch.cat(views)).contiguous()


@dataclass(frozen=True)
class SimCLRSettings(StageConfig):
    """SimCLR's own settings (``TrainConfig.objectives["simclr"]``): ``epochs`` (0: the shared
    ``TrainConfig.epochs``), the projector's output ``proj_dim``, the NT-Xent ``temperature``
    and the colour-distortion ``strength`` of the two views."""

    epochs: int = 0
    proj_dim: int = 64
    temperature: float = 0.2
    strength: float = 0.5
    section = "simclr"  # error messages say simclr.<key>

    def __post_init__(self) -> None:
        super().__post_init__()
        for ok, what in (
            (self.epochs >= 0, f"epochs must be >= 0, got {self.epochs}"),
            (self.proj_dim >= 1, f"proj_dim must be >= 1, got {self.proj_dim}"),
            (self.temperature > 0, f"temperature must be > 0, got {self.temperature}"),
            (self.strength >= 0, f"strength must be >= 0, got {self.strength}"),
        ):
            if not ok:
                raise ValueError(f"simclr.{what}")


class SimCLR(Objective):
    """The SimCLR objective: :class:`SimCLRSettings` ``epochs`` epochs (0: ``TrainConfig.epochs``),
    a ``proj_dim`` projector, NT-Xent at ``temperature``, two views with colour distortion of
    ``strength``."""

    name = "simclr"
    views = 2
    Settings = SimCLRSettings

    def settings(self, cfg: TrainConfig) -> SimCLRSettings:
        return cast(SimCLRSettings, super().settings(cfg))  # built from Settings, a SimCLRSettings

    def epochs(self, cfg: TrainConfig) -> int:
        return self.settings(cfg).epochs or cfg.epochs

    def build(self, backbone: nn.Module, labels: list[np.ndarray], cfg: TrainConfig) -> nn.Module:
        return SimCLRModel(backbone, proj_dim=self.settings(cfg).proj_dim)

    def heads(self, model: nn.Module, cfg: TrainConfig) -> list[int]:
        return [self.settings(cfg).proj_dim]

    def prepare(self, images_u8: np.ndarray, g: torch.Generator, cfg: TrainConfig) -> torch.Tensor:
        return two_views(to_unit(images_u8), g, self.settings(cfg).strength)

    def loss(
        self, outs: torch.Tensor, ys: list[torch.Tensor], cfg: TrainConfig
    ) -> tuple[torch.Tensor, torch.Tensor, int]:
        loss, hits = nt_xent(outs, self.settings(cfg).temperature)
        return loss, hits.view(1), outs.shape[0] // 2
