"""Backbone specs: ``NAME=SPEC`` strings resolved to a local checkpoint file and its description.

A spec names where a backbone comes from:

* a plain **path**: our ``backbone.pt`` (self-describing), a released VisE trunk (official keys)
  or a torchvision ResNet state dict, told apart by their keys
  (:func:`vise_lib.backbones.checkpoint.describe_checkpoint`);
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

import re
from pathlib import Path

import torch

from vise_lib.backbones.archs import ARCHS, build_backbone
from vise_lib.backbones.checkpoint import describe_checkpoint, save_backbone

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


def resolve_spec(name: str, spec: str, work_dir, allow_download: bool = False) -> dict:
    """Resolve one backbone spec (see the module docstring) to ``{"name", "spec", "path", "arch",
    "width", "blocks", "source"}``; bad specs and missing files raise naming the backbone."""
    spec = str(spec).strip()
    if m := _RANDOM.match(spec):
        arch = m["arch"]
        if arch not in ARCHS:
            raise ValueError(f"backbone {name!r}: random:{arch}: arch must be one of {ARCHS}")
        width, blocks = int(m["width"] or 16), int(m["blocks"] or 1)
        tag = f"-w{width}-b{blocks}" if arch == "small_resnet" else ""
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
                    f"at a cache that has it, or pass --allow-download")
            torch.hub.load_state_dict_from_url(url, progress=False)  # only with the explicit flag
        out = {"name": name, "spec": spec, "path": str(path), **_described(name, path, "torchvision")}
        if out["arch"] != m["arch"]:
            raise ValueError(f"backbone {name!r}: {path} holds a {out['arch']} trunk, not {m['arch']}")
        return out
    if spec.startswith(("random:", "torchvision:")):
        raise ValueError(f"backbone {name!r}: cannot parse {spec!r}; expected torchvision:<arch>/<WEIGHTS> "
                         "(e.g. torchvision:resnet50/IMAGENET1K_V2) or random:<arch>[/<width>[x<blocks>]]")
    path = Path(spec).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"backbone {name!r}: checkpoint not found: {path}")
    return {"name": name, "spec": spec, "path": str(path.resolve()), **_described(name, path, None)}


def _described(name: str, path: Path, kind: str | None) -> dict:
    try:
        d = describe_checkpoint(path)
    except ValueError as e:
        raise ValueError(f"backbone {name!r}: {e}") from None
    return {"arch": d["arch"], "width": d["width"], "blocks": d["blocks"], "source": kind or d["source"]}


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
