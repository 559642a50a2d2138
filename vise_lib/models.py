"""Backbones, heads, pooled features and the official VisE checkpoint format.

Every backbone is an ``nn.Sequential`` in the layout of the released VisE trunks,
``nn.Sequential(*list(torchvision.models.resnet50().children())[:-2])``: index 0 conv1,
1 bn1, 2 relu, 3 maxpool, 4..7 layer1..layer4, output ``(B, C, h, w)``. State-dict keys are
therefore ``0.weight``, ``1.running_mean``, ``4.0.conv1.weight``, ... for every architecture.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import torch
import torchvision
from torch import nn
from torchvision.models.resnet import BasicBlock

from .io import atomic_write

ARCHS = ("small_resnet", "resnet18", "resnet50")

# torchvision ResNet child name -> index in the official trunk layout.
_TV_TO_OFFICIAL = {"conv1": "0", "bn1": "1", "layer1": "4", "layer2": "5", "layer3": "6", "layer4": "7"}
_WRAPPER_KEYS = ("state_dict", "model")


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
    seq.feature_dim = inplanes
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


def official_keys(arch: str = "resnet50") -> list[str]:
    """State-dict keys of the released VisE trunk layout for ``arch`` (``0.weight``, ``1.weight``, ...).

    For ``resnet50`` these are exactly the keys of
    ``nn.Sequential(*list(torchvision.models.resnet50().children())[:-2])``.
    """
    if arch not in ("resnet18", "resnet50"):
        raise ValueError(f"official layouts exist for torchvision archs only, got {arch!r}")
    net = getattr(torchvision.models, arch)(weights=None)
    return list(nn.Sequential(*list(net.children())[:-2]).state_dict().keys())


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


def save_backbone(backbone: nn.Module, path: str | os.PathLike) -> Path:
    """Save the backbone's state dict in the official VisE layout, atomically.

    Accepts the trunk itself or a training wrapper with a ``.backbone`` trunk
    (:class:`MultiHeadClassifier`, ``SimCLRModel``; heads and projectors are not saved).
    Writes to a temporary file in the same folder, then ``os.replace``-s it into place.
    Returns the path written.
    """
    if isinstance(getattr(backbone, "backbone", None), nn.Module):
        backbone = backbone.backbone
    if not isinstance(backbone, nn.Module):
        raise ValueError(f"expected an nn.Module backbone, got {type(backbone).__name__}")
    state = {k: v.detach().cpu().clone(memory_format=torch.contiguous_format)
             for k, v in backbone.state_dict().items()}
    bad = [k for k in state if not k.split(".", 1)[0].isdigit()]
    if bad:
        raise ValueError(f"backbone is not in the official layout (keys like {bad[:3]}); use build_backbone")
    return atomic_write(path, lambda f: torch.save(state, f))


def _to_official(state: Mapping, path: Path) -> dict[str, torch.Tensor]:
    """Unwrap and rename a loaded checkpoint into official trunk keys."""
    for _ in range(2):  # {"state_dict": {...}} or {"model": {"state_dict": ...}}
        inner = [k for k in _WRAPPER_KEYS if isinstance(state.get(k), Mapping)]
        if inner:
            state = state[inner[0]]
    if not isinstance(state, Mapping) or not state or not all(isinstance(k, str) for k in state):
        raise ValueError(f"{path}: no state dict found (expected a dict of str -> tensor)")
    keys = list(state)
    if all(isinstance(k, str) and k.startswith("module.") for k in keys):
        state = {k[len("module."):]: v for k, v in state.items()}
    if any(k.startswith("backbone.") for k in state):  # a MultiHeadClassifier / SimCLRModel state dict
        state = {k[len("backbone."):]: v for k, v in state.items() if k.startswith("backbone.")}
    if "conv1.weight" in state:  # torchvision ResNet layout
        out = {}
        for k, v in state.items():
            head, _, rest = k.partition(".")
            if head == "fc":
                continue
            out[f"{_TV_TO_OFFICIAL[head]}.{rest}" if head in _TV_TO_OFFICIAL else k] = v
        state = out
    non_tensor = [k for k, v in state.items() if not isinstance(v, torch.Tensor)]
    if non_tensor:
        raise ValueError(f"{path}: entries are not tensors: {non_tensor[:5]}")
    return dict(state)


def load_backbone(path: str | os.PathLike, arch: str, width: int = 32, blocks: int = 1) -> nn.Sequential:
    """Load a backbone checkpoint into a freshly built ``arch`` trunk.

    Loads with ``torch.load(path, map_location="cpu", weights_only=True)`` only, so a pickle
    that carries code is refused, never run. Accepted contents: (1) the official VisE layout
    (``0.weight``, ``4.0.conv1.weight``, ...); (2) a torchvision ResNet state dict
    (``conv1.*``, ``bn1.*``, ``layer1.*``, ...; ``fc.*`` is dropped); (3) either of those
    wrapped under ``"state_dict"`` or ``"model"``, optionally with a ``"module."`` prefix
    (a :class:`MultiHeadClassifier` state dict also works: its heads are dropped).
    Keys are checked strictly; only missing BatchNorm ``num_batches_tracked`` counters
    (absent in old checkpoints) are tolerated.

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: the file is not a weights-only checkpoint, or its keys or shapes do not
            match ``arch``; the message names the file and the offending keys.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint not found: {path}")
    model = build_backbone(arch, width, blocks)
    try:
        raw = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # UnpicklingError for code payloads, RuntimeError for non-zip files
        raise ValueError(
            f"{path}: refused to load; not a weights-only torch checkpoint "
            f"(loaded with weights_only=True): {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"
        ) from e
    if not isinstance(raw, Mapping):
        raise ValueError(f"{path}: expected a dict state dict, got {type(raw).__name__}")
    state = _to_official(raw, path)
    expected = model.state_dict()
    what = f"a {arch!r} backbone" + (f" (width={width}, blocks={blocks})" if arch == "small_resnet" else "")
    missing = [k for k in expected if k not in state and not k.endswith("num_batches_tracked")]
    unexpected = [k for k in state if k not in expected]
    if missing or unexpected:
        raise ValueError(
            f"{path}: keys do not match {what}: "
            f"{len(missing)} missing {missing[:8]}, {len(unexpected)} unexpected {unexpected[:8]}"
        )
    wrong = [f"{k}: {tuple(state[k].shape)} vs {tuple(v.shape)}" for k, v in expected.items()
             if k in state and state[k].shape != v.shape]
    if wrong:
        raise ValueError(f"{path}: tensor shapes do not match {what}: {wrong[:5]}")
    for k, v in expected.items():
        state.setdefault(k, v)
    model.load_state_dict(state, strict=True)
    return model
