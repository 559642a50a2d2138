"""Backbone architectures, heads and pooled features, in the official VisE trunk layout.

Every backbone is an ``nn.Sequential`` in the layout of the released VisE trunks,
``nn.Sequential(*list(torchvision.models.resnet50().children())[:-2])``: index 0 conv1,
1 bn1, 2 relu, 3 maxpool, 4..7 layer1..layer4, output ``(B, C, h, w)``. State-dict keys are
therefore ``0.weight``, ``1.running_mean``, ``4.0.conv1.weight``, ... for every architecture.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torchvision
from torch import nn
from torchvision.models.resnet import BasicBlock

ARCHS = ("small_resnet", "resnet18", "resnet50")


def _small_resnet(width: int, blocks: int) -> nn.Sequential:
    """CIFAR-style ResNet for 32 px input, in the official trunk layout."""
    layers: list[nn.Module] = [
        nn.Conv2d(3, width, kernel_size=3, stride=1, padding=1, bias=False),
        nn.BatchNorm2d(width),
        nn.ReLU(inplace=True),
        nn.Identity(),  # stands in for maxpool so indices 4..7 stay layer1..layer4
    ]
    inplanes = width
    for stage, stride in enumerate((1, 2, 2, 2)):
        planes = width * 2**stage
        stage_blocks = []
        for b in range(blocks):
            s = stride if b == 0 else 1
            down = None
            if s != 1 or inplanes != planes:
                down = nn.Sequential(
                    nn.Conv2d(inplanes, planes, kernel_size=1, stride=s, bias=False),
                    nn.BatchNorm2d(planes),
                )
            stage_blocks.append(BasicBlock(inplanes, planes, stride=s, downsample=down))
            inplanes = planes
        layers.append(nn.Sequential(*stage_blocks))
    seq = nn.Sequential(*layers)
    # Same initialisation as torchvision's ResNet.
    for m in seq.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.constant_(m.weight, 1)
            nn.init.constant_(m.bias, 0)
    # a plain int attribute: nn.Module.__setattr__ is typed for tensors and modules only
    seq.feature_dim = inplanes  # type: ignore[assignment]
    return seq


def build_backbone(arch: str, width: int = 32, blocks: int = 1) -> nn.Sequential:
    """Build a randomly initialised backbone in the official VisE trunk layout.

    Args:
        arch: one of :data:`ARCHS`. ``small_resnet`` is a CIFAR-style ResNet for 32 px
            images (3x3 stride-1 stem, no maxpool, BasicBlock stages of widths
            ``width, 2*width, 4*width, 8*width`` with strides 1, 2, 2, 2); ``resnet18`` and
            ``resnet50`` are torchvision's (``weights=None``, nothing is downloaded).
        width: base width of ``small_resnet`` (ignored by the torchvision archs).
        blocks: BasicBlocks per stage of ``small_resnet`` (ignored by the torchvision archs).

    Returns:
        ``nn.Sequential`` with children 0 conv1, 1 bn1, 2 relu, 3 maxpool (``nn.Identity``
        for ``small_resnet``), 4..7 layer1..layer4; its ``feature_dim`` attribute holds the
        number of output channels.
    """
    if arch not in ARCHS:
        raise ValueError(f"unknown arch {arch!r}; expected one of {ARCHS}")
    if isinstance(width, bool) or not isinstance(width, int) or width < 1:
        raise ValueError(f"width must be a positive int, got {width!r}")
    if isinstance(blocks, bool) or not isinstance(blocks, int) or blocks < 1:
        raise ValueError(f"blocks must be a positive int, got {blocks!r}")
    if arch == "small_resnet":
        return _small_resnet(width, blocks)
    net = getattr(torchvision.models, arch)(weights=None)
    seq = nn.Sequential(*list(net.children())[:-2])
    seq.feature_dim = net.fc.in_features
    return seq


def feature_dim(backbone: nn.Module) -> int:
    """Number of channels of the backbone's output (the pooled feature size)."""
    dim = getattr(backbone, "feature_dim", None)
    if isinstance(dim, int):
        return dim
    last_bn = [m for m in backbone.modules() if isinstance(m, nn.BatchNorm2d)]
    if not last_bn:
        raise ValueError("cannot infer feature_dim: backbone has no BatchNorm2d layer")
    return int(last_bn[-1].num_features)


def pooled_features(backbone: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Run the trunk on ``x`` (B, 3, H, W) and global-average-pool its output to (B, C)."""
    out = backbone(x)
    if out.dim() != 4:
        raise ValueError(f"backbone output must be (B, C, h, w), got shape {tuple(out.shape)}")
    return out.mean(dim=(2, 3))


class MultiHeadClassifier(nn.Module):
    """Backbone + global average pool + one ``nn.Linear`` head per label set.

    Args:
        backbone: a trunk in the official layout (see :func:`build_backbone`).
        num_classes: number of classes of each label set, one head each.

    ``forward(x)`` returns a list of logits tensors, one ``(B, num_classes[i])`` per head.
    """

    def __init__(self, backbone: nn.Module, num_classes: Sequence[int]):
        super().__init__()
        num_classes = list(num_classes)
        if not num_classes:
            raise ValueError("num_classes must name at least one head")
        for k in num_classes:
            if isinstance(k, bool) or not isinstance(k, int) or k < 1:
                raise ValueError(f"each entry of num_classes must be a positive int, got {num_classes!r}")
        self.backbone = backbone
        dim = feature_dim(backbone)
        self.heads = nn.ModuleList(nn.Linear(dim, k) for k in num_classes)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        feats = pooled_features(self.backbone, x)
        return [head(feats) for head in self.heads]
