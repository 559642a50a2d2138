"""Backbone checkpoints: saved in the official VisE trunk layout, self-describing, loaded weights-only.

Keys are those of ``nn.Sequential(*list(torchvision.models.resnet50().children())[:-2])``:
``0.weight``, ``1.running_mean``, ``4.0.conv1.weight``, ... for every architecture.

Self-describing: :func:`save_backbone` records the architecture and its shape parameters
(``{"arch", "width", "blocks", "format"}``) in the state dict's ``_metadata`` mapping under
the key ``"vise"`` (the place PyTorch already keeps per-module versions; it survives
``torch.load(..., weights_only=True)`` and is ignored by ``load_state_dict``), so the tensors
and their keys stay exactly the official layout and any consumer of the released trunks loads
our files unchanged. Files without that record (the released VisE-250M / VisE-1.2M trunks, a
torchvision ResNet state dict, older files of ours) are described from their keys and shapes
(:func:`infer_layout`), so loading needs only a path: ``load_backbone(path)``.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Mapping
from pathlib import Path

import torch
import torchvision
from torch import nn

from vise_lib.backbones.archs import ARCHS, build_backbone
from vise_lib.io import atomic_write

# torchvision ResNet child name -> index in the official trunk layout.
_TV_TO_OFFICIAL = {"conv1": "0", "bn1": "1", "layer1": "4", "layer2": "5", "layer3": "6", "layer4": "7"}
_WRAPPER_KEYS = ("state_dict", "model")
META_KEY = "vise"  # key of our record in the state dict's ``_metadata``
META_FORMAT = 1
# Block counts per stage of the torchvision archs we build (BasicBlock / Bottleneck).
_TV_BLOCKS = {"resnet18": ([2, 2, 2, 2], False), "resnet50": ([3, 4, 6, 3], True)}


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
    """Save the backbone's state dict in the official VisE layout, atomically, with its description.

    The architecture and shape parameters (:func:`infer_layout`) are recorded in the state
    dict's ``_metadata["vise"]`` (see the module docstring); keys and tensors are the official
    layout's.

    Accepts the trunk itself or a training wrapper with a ``.backbone`` trunk
    (:class:`MultiHeadClassifier`, ``SimCLRModel``; heads and projectors are not saved).
    Writes to a temporary file in the same folder, then ``os.replace``-s it into place.
    Returns the path written.
    """
    trunk = getattr(backbone, "backbone", None)
    if isinstance(trunk, nn.Module):
        backbone = trunk
    if not isinstance(backbone, nn.Module):
        raise ValueError(f"expected an nn.Module backbone, got {type(backbone).__name__}")
    source = backbone.state_dict()
    state = OrderedDict((k, v.detach().cpu().clone(memory_format=torch.contiguous_format)) for k, v in source.items())
    bad = [k for k in state if not k.split(".", 1)[0].isdigit()]
    if bad:
        raise ValueError(f"backbone is not in the official layout (keys like {bad[:3]}); use build_backbone")
    meta = OrderedDict(getattr(source, "_metadata", {}))
    meta[META_KEY] = {**infer_layout(state, "the backbone to save"), "format": META_FORMAT}
    state._metadata = meta  # type: ignore[attr-defined]  # torch's state-dict metadata slot, saved by torch.save
    return atomic_write(path, lambda f: torch.save(state, f))


def _to_official(state: Mapping, path: str | os.PathLike) -> tuple[dict[str, torch.Tensor], str]:
    """Unwrap and rename a loaded checkpoint into official trunk keys; also says which layout it was."""
    for _ in range(2):  # {"state_dict": {...}} or {"model": {"state_dict": ...}}
        inner = [k for k in _WRAPPER_KEYS if isinstance(state.get(k), Mapping)]
        if inner:
            state = state[inner[0]]
    if not isinstance(state, Mapping) or not state or not all(isinstance(k, str) for k in state):
        raise ValueError(f"{path}: no state dict found (expected a dict of str -> tensor)")
    keys = list(state)
    if all(isinstance(k, str) and k.startswith("module.") for k in keys):
        state = {k[len("module.") :]: v for k, v in state.items()}
    if any(k.startswith("backbone.") for k in state):  # a MultiHeadClassifier / SimCLRModel state dict
        state = {k[len("backbone.") :]: v for k, v in state.items() if k.startswith("backbone.")}
    source = "torchvision" if "conv1.weight" in state else "official"
    if source == "torchvision":  # torchvision ResNet layout
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
    return dict(state), source


def _known_layouts() -> dict[str, set[str]]:
    """Key sets of the layouts a file may be in (for the "closest to" message of bad files)."""
    out = {}
    for arch in ("resnet50", "resnet18"):
        keys = official_keys(arch)
        out[f"official VisE trunk ({arch})"] = set(keys)
        back = {v: k for k, v in _TV_TO_OFFICIAL.items()}
        out[f"torchvision {arch} state dict"] = {
            f"{back.get(k.split('.', 1)[0], k.split('.', 1)[0])}.{k.split('.', 1)[1]}" for k in keys
        } | {"fc.weight", "fc.bias"}
    out["our small_resnet (width 16, 1 block)"] = set(build_backbone("small_resnet", width=16).state_dict())
    return out


def closest_layout(keys) -> str:
    """``"<layout> (k of n keys in common)"`` for the known layout sharing most keys with ``keys``."""
    keys = set(keys)
    scores = {name: len(keys & ks) / max(len(keys | ks), 1) for name, ks in _known_layouts().items()}
    best = max(scores, key=scores.__getitem__)
    common = len(keys & _known_layouts()[best])
    return f"{best} ({common} of its {len(_known_layouts()[best])} keys in common)"


def infer_layout(state: Mapping, where: str = "checkpoint") -> dict:
    """``{"arch", "width", "blocks"}`` of an official-layout state dict, from its keys and shapes.

    A 7x7 stem with Bottleneck blocks ``[3, 4, 6, 3]`` is ``resnet50`` (the released VisE
    trunks), a 7x7 stem with BasicBlocks ``[2, 2, 2, 2]`` is ``resnet18``, a 3x3 stem with equal
    BasicBlock stages is our ``small_resnet`` (``width`` = stem channels). Anything else raises
    ``ValueError`` naming the closest known layout.
    """
    stem = state.get("0.weight")
    blocks = [
        len({k.split(".")[1] for k in state if k.startswith(f"{i}.") and k.endswith(".conv1.weight")})
        for i in range(4, 8)
    ]
    bottleneck = any(k.startswith("4.") and k.endswith(".conv3.weight") for k in state)
    if isinstance(stem, torch.Tensor) and stem.dim() == 4 and min(blocks) > 0:
        side = int(stem.shape[-1])
        for arch, (want, bneck) in _TV_BLOCKS.items():
            if side == 7 and blocks == want and bottleneck == bneck and stem.shape[0] == 64:
                return {"arch": arch, "width": 64, "blocks": blocks[0]}
        if side == 3 and not bottleneck and len(set(blocks)) == 1:
            return {"arch": "small_resnet", "width": int(stem.shape[0]), "blocks": blocks[0]}
        raise ValueError(
            f"{where}: a ResNet trunk with a {side}x{side} stem and {'Bottleneck' if bottleneck else 'Basic'} "
            f"blocks {blocks} per stage is not one of ours (resnet50 [3, 4, 6, 3], resnet18 [2, 2, 2, 2], "
            f"small_resnet with a 3x3 stem); closest known layout: {closest_layout(state)}"
        )
    raise ValueError(
        f"{where}: not a ResNet trunk in the official layout (no stem 0.weight / layer blocks); "
        f"closest known layout: {closest_layout(state)}"
    )


def _load_raw(path) -> Mapping:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint not found: {path}")
    try:
        raw = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # UnpicklingError for code payloads, RuntimeError for non-zip files
        raise ValueError(
            f"{path}: refused to load; not a weights-only torch checkpoint "
            f"(loaded with weights_only=True): {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"
        ) from e
    if not isinstance(raw, Mapping):
        raise ValueError(f"{path}: expected a dict state dict, got {type(raw).__name__}")
    return raw


def read_checkpoint(path: str | os.PathLike) -> tuple[dict[str, torch.Tensor], dict]:
    """Load a checkpoint weights-only; return ``(state in official keys, description)``.

    ``description`` holds ``arch``, ``width``, ``blocks`` and ``source``: ``"recorded"`` (our
    metadata), ``"official"`` (official VisE keys, described from shapes) or ``"torchvision"``
    (a torchvision ResNet state dict, renamed to the official keys).

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: not a weights-only checkpoint, or not a trunk we know (naming the closest layout).
    """
    raw = _load_raw(path)
    state, source = _to_official(raw, path)
    return state, _describe(raw, state, source, path)


def _describe(raw: Mapping, state: Mapping, source: str, path) -> dict:
    recorded = (getattr(raw, "_metadata", None) or {}).get(META_KEY)
    if isinstance(recorded, Mapping) and {"arch", "width", "blocks"} <= set(recorded):
        return {k: recorded[k] for k in ("arch", "width", "blocks")} | {"source": "recorded"}
    return infer_layout(state, str(path)) | {"source": source}


def describe_checkpoint(path: str | os.PathLike) -> dict:
    """The ``{"arch", "width", "blocks", "source"}`` of a checkpoint file (see :func:`read_checkpoint`)."""
    return read_checkpoint(path)[1]


def _trunk_text(arch: str, width: int | None, blocks: int | None) -> str:
    return f"a {arch!r} trunk" + (f", width={width}, blocks={blocks}" if arch == "small_resnet" else "")


def _resolve(raw: Mapping, state: Mapping, source: str, path, arch, width, blocks) -> dict:
    try:
        desc = _describe(raw, state, source, path)
    except ValueError as e:
        if arch is None:
            raise ValueError(
                f"{e}. The file does not describe itself, so give its architecture explicitly: "
                f"{{path: {path}, arch: {' | '.join(ARCHS)}[, width: W, blocks: B]}} in a preset's backbones "
                "(load_backbone(path, arch, width, blocks) in Python)"
            ) from None
        return {"arch": arch, "width": 32 if width is None else width, "blocks": 1 if blocks is None else blocks}
    asked = {"arch": arch, "width": width, "blocks": blocks}
    if desc["arch"] != "small_resnet":
        asked["width"] = asked["blocks"] = None  # the torchvision trunks have fixed shapes
    clash = [k for k, v in asked.items() if v is not None and v != desc[k]]
    if clash:
        a = arch or desc["arch"]
        want = _trunk_text(a, asked["width"] or desc["width"], asked["blocks"] or desc["blocks"])
        raise ValueError(
            f"{path}: the file holds {_trunk_text(desc['arch'], desc['width'], desc['blocks'])} "
            f"({desc['source']}) and describes itself, so it loads with only its path (an explicit arch is "
            f"only for a file that does not describe itself); it cannot be loaded as {want}"
        )
    return desc


def resolve_checkpoint(
    path: str | os.PathLike, arch: str | None = None, width: int | None = None, blocks: int | None = None
) -> dict:
    """What a checkpoint loads as, ``{"arch", "width", "blocks", "source"}``: the one rule every
    entry point follows (stage configs, ``vise evaluate``, ``torch.hub``, :func:`load_backbone`).

    A file that describes itself (our recorded metadata, or keys and shapes of a known trunk:
    :func:`read_checkpoint`) loads as it says; an explicit ``arch`` / ``width`` / ``blocks`` must
    then agree with it (else ``ValueError`` naming what the file holds). Only a file that does not
    describe itself needs an explicit ``arch`` (``source`` is then ``"given"``); without one the
    ``ValueError`` says so and how to give it.
    """
    raw = _load_raw(path)
    state, source = _to_official(raw, path)
    return {"source": "given", **_resolve(raw, state, source, path, arch, width, blocks)}


def load_backbone(
    path: str | os.PathLike, arch: str | None = None, width: int | None = None, blocks: int | None = None
) -> nn.Sequential:
    """Load a backbone checkpoint as :func:`resolve_checkpoint` resolves it (with only a path: as
    the architecture the file describes).

    Loads with ``torch.load(path, map_location="cpu", weights_only=True)`` only, so a pickle
    that carries code is refused, never run. Accepted contents: (1) the official VisE layout
    (``0.weight``, ``4.0.conv1.weight``, ...), ours with its recorded description or the
    released trunks described from their shapes; (2) a torchvision ResNet state dict
    (``conv1.*``, ``bn1.*``, ``layer1.*``, ...; ``fc.*`` is dropped); (3) either of those
    wrapped under ``"state_dict"`` or ``"model"``, optionally with a ``"module."`` prefix
    (a :class:`MultiHeadClassifier` state dict also works: its heads are dropped).
    ``arch`` / ``width`` / ``blocks``: must agree with a file that describes itself; required
    (``arch``) for one that does not. Keys are checked strictly; only missing BatchNorm
    ``num_batches_tracked`` counters (absent in old checkpoints) are tolerated.

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: the file is not a weights-only checkpoint, it describes itself as something
            other than the explicit ``arch`` / ``width`` / ``blocks``, it does not describe itself
            and no ``arch`` is given, or its keys or shapes do not match; the message names the file.
    """
    path = Path(path)
    raw = _load_raw(path)
    state, source = _to_official(raw, path)
    desc = _resolve(raw, state, source, path, arch, width, blocks)
    arch, width, blocks = desc["arch"], desc["width"], desc["blocks"]
    model = build_backbone(arch, width, blocks)
    expected = model.state_dict()
    what = f"a {arch!r} backbone" + (f" (width={width}, blocks={blocks})" if arch == "small_resnet" else "")
    missing = [k for k in expected if k not in state and not k.endswith("num_batches_tracked")]
    unexpected = [k for k in state if k not in expected]
    if missing or unexpected:
        raise ValueError(
            f"{path}: keys do not match {what}: "
            f"{len(missing)} missing {missing[:8]}, {len(unexpected)} unexpected {unexpected[:8]}"
        )
    wrong = [
        f"{k}: {tuple(state[k].shape)} vs {tuple(v.shape)}"
        for k, v in expected.items()
        if k in state and state[k].shape != v.shape
    ]
    if wrong:
        raise ValueError(f"{path}: tensor shapes do not match {what}: {wrong[:5]}")
    for k, v in expected.items():
        state.setdefault(k, v)
    model.load_state_dict(state, strict=True)
    return model
