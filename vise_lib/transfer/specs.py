"""Backbone specs: ``NAME=SPEC`` strings resolved to a local checkpoint file and its description.

A spec names where a backbone comes from:

* a plain **path**: our ``backbone.pt`` (self-describing), a released VisE trunk (official keys)
  or a torchvision ResNet state dict, told apart by their keys, loads as the file describes
  itself (:func:`vise_lib.backbones.checkpoint.resolve_checkpoint`); only a file that does not
  describe itself needs the mapping form ``{path, arch[, width, blocks]}`` (in a preset);
* ``torchvision:<arch>/<WEIGHTS>``, e.g. ``torchvision:resnet50/IMAGENET1K_V2``: torchvision's
  published weights, read from the user's **local** torch hub cache
  (``$TORCH_HOME/hub/checkpoints/<file>``, ``~/.cache/torch`` by default). Nothing is downloaded
  unless ``allow_download`` is true (``vise evaluate --allow-download``);
* ``random:<arch>[/<width>[x<blocks>]]``, e.g. ``random:resnet50`` or ``random:small_resnet/16``:
  an untrained trunk (torch seed 0), written once as a checkpoint under ``<work>/backbones/``.

Every spec thus ends as a checkpoint path, so the feature cache keys on its bytes and the
loader needs only the path.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path

import torch

from vise_lib.backbones.archs import ARCHS, build_backbone
from vise_lib.backbones.checkpoint import resolve_checkpoint, save_backbone
from vise_lib.io import PathArg

SPEC_PREFIXES = ("random:", "torchvision:")
_RANDOM = re.compile(r"^random:(?P<arch>[a-z0-9_]+)(?:/(?P<width>\d+)(?:x(?P<blocks>\d+))?)?$")
_TORCHVISION = re.compile(r"^torchvision:(?P<arch>[a-z0-9_]+)/(?P<weights>[A-Za-z0-9_]+)$")


def torchvision_cache_file(arch: str, weights: str) -> tuple[Path, str]:
    """``(local cache path, url)`` of torchvision's ``weights`` for ``arch`` (no network access)."""
    import torchvision

    try:
        enum = torchvision.models.get_model_weights(arch)
    except (ValueError, KeyError):
        raise ValueError(f"torchvision has no model {arch!r}") from None
    names = [w.name for w in enum]
    if weights not in names:
        raise ValueError(f"torchvision:{arch}: unknown weights {weights!r}; available: {names}")
    url = enum[weights].url
    return Path(torch.hub.get_dir()) / "checkpoints" / url.rsplit("/", 1)[1], url


def resolve_spec(
    name: str, spec: str | os.PathLike | Mapping, work_dir: PathArg | None = None, allow_download: bool = False
) -> dict:
    """Resolve one backbone spec (see the module docstring) to ``{"name", "spec", "path", "arch",
    "width", "blocks", "source"}``; bad specs and missing files raise naming the backbone.

    The one backbone resolver: the stage configs (:func:`vise_lib.transfer.runner.resolve_backbones`),
    ``vise evaluate`` and the transfer preset all come here, and a path is described by
    :func:`vise_lib.backbones.checkpoint.resolve_checkpoint` (as ``torch.hub`` and
    ``load_backbone`` do). ``spec`` may also be a mapping ``{"path", "arch"[, "width", "blocks"]}``:
    the explicit form, only needed for a file that does not describe itself (for one that does,
    the given arch must agree with it). ``work_dir`` holds the ``random:`` checkpoints.
    """
    if isinstance(spec, Mapping):
        return _explicit(name, spec)
    spec = str(spec).strip()
    if m := _RANDOM.match(spec):
        arch = m["arch"]
        if arch not in ARCHS:
            raise ValueError(f"backbone {name!r}: random:{arch}: arch must be one of {ARCHS}")
        width, blocks = int(m["width"] or 16), int(m["blocks"] or 1)
        tag = f"-w{width}-b{blocks}" if arch == "small_resnet" else ""
        if work_dir is None:
            raise ValueError(f"backbone {name!r}: {spec} needs a work folder to write its checkpoint in")
        path = Path(work_dir) / "backbones" / f"random-{arch}{tag}.pt"
        if not path.is_file():
            torch.manual_seed(0)
            save_backbone(build_backbone(arch, width, blocks), path)
        return {"name": name, "spec": spec, "path": str(path), **_described(name, path, "random")}
    if m := _TORCHVISION.match(spec):
        path, url = torchvision_cache_file(m["arch"], m["weights"])
        if not path.is_file():
            if not allow_download:
                raise FileNotFoundError(
                    f"backbone {name!r}: {spec} is not in the local torch hub cache ({path} is missing). "
                    f"Nothing is downloaded by default: copy the file there (it is {url}), point TORCH_HOME "
                    f"at a cache that has it, or pass --allow-download"
                )
            torch.hub.load_state_dict_from_url(url, progress=False)  # only with the explicit flag
        out = {"name": name, "spec": spec, "path": str(path), **_described(name, path, "torchvision")}
        if out["arch"] != m["arch"]:
            raise ValueError(f"backbone {name!r}: {path} holds a {out['arch']} trunk, not {m['arch']}")
        return out
    if spec.startswith(SPEC_PREFIXES):
        raise ValueError(
            f"backbone {name!r}: cannot parse {spec!r}; expected torchvision:<arch>/<WEIGHTS> "
            "(e.g. torchvision:resnet50/IMAGENET1K_V2) or random:<arch>[/<width>[x<blocks>]]"
        )
    path = Path(spec).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"backbone {name!r}: checkpoint not found: {path}")
    return {"name": name, "spec": spec, "path": str(path.resolve()), **_described(name, path, None)}


def _described(name: str, path: Path, kind: str | None, **explicit) -> dict:
    try:
        d = resolve_checkpoint(path, **explicit)
    except ValueError as e:
        raise ValueError(f"backbone {name!r}: {e}") from None
    return {"arch": d["arch"], "width": d["width"], "blocks": d["blocks"], "source": kind or d["source"]}


def _explicit(name: str, spec: Mapping) -> dict:
    """The mapping form ``{"path", "arch"[, "width", "blocks"]}`` (see :func:`resolve_spec`)."""
    unknown = set(spec) - {"path", "arch", "width", "blocks"}
    if unknown or "path" not in spec:
        raise ValueError(f"backbone {name!r}: expected keys path[, arch, width, blocks], got {sorted(spec)}")
    arch = spec.get("arch")
    if arch is not None and arch not in ARCHS:
        raise ValueError(f"backbone {name!r}: arch must be one of {ARCHS}, got {arch!r}")
    path = Path(str(spec["path"])).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"backbone {name!r}: checkpoint not found: {path}")
    explicit = {"arch": arch, "width": spec.get("width"), "blocks": spec.get("blocks")}
    return {
        "name": name,
        "spec": str(spec["path"]),
        "path": str(path.resolve()),
        **_described(name, path, None, **explicit),
    }


def parse_assignments(items, what: str) -> dict[str, str]:
    """``["NAME=VALUE", ...]`` -> ``{NAME: VALUE}`` (order kept); a bad or repeated NAME raises."""
    out: dict[str, str] = {}
    for item in items or []:
        name, sep, value = str(item).partition("=")
        name = name.strip()
        if not sep or not name or not value.strip() or not re.fullmatch(r"[A-Za-z0-9_.+-]+", name):
            raise ValueError(f"{what} {item!r}: expected NAME=VALUE with NAME made of letters, digits, _ . + -")
        if name in out:
            raise ValueError(f"{what} {name!r} is given twice")
        out[name] = value.strip()
    return out
