"""Backbone checkpoints: saved in the official VisE trunk layout, loaded weights-only.

Keys are those of ``nn.Sequential(*list(torchvision.models.resnet50().children())[:-2])``:
``0.weight``, ``1.running_mean``, ``4.0.conv1.weight``, ... for every architecture.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import torch
import torchvision
from torch import nn

from vise_lib.backbones.archs import build_backbone
from vise_lib.io import atomic_write

# torchvision ResNet child name -> index in the official trunk layout.
_TV_TO_OFFICIAL = {"conv1": "0", "bn1": "1", "layer1": "4", "layer2": "5", "layer3": "6", "layer4": "7"}
_WRAPPER_KEYS = ("state_dict", "model")


def official_keys(arch: str = "resnet50") -> list[str]:
    """State-dict keys of the released VisE trunk layout for ``arch`` (``0.weight``, ``1.weight``, ...).

    For ``resnet50`` these are exactly the keys of
    ``nn.Sequential(*list(torchvision.models.resnet50().children())[:-2])``.
    """
    if arch not in ("resnet18", "resnet50"):
        raise ValueError(f"official layouts exist for torchvision archs only, got {arch!r}")
    net = getattr(torchvision.models, arch)(weights=None)
    return list(nn.Sequential(*list(net.children())[:-2]).state_dict().keys())


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
