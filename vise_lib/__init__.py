"""VisE companion: engagement signals -> pseudo labels -> pretraining -> transfer.

The public API, one name per step of the method (see :mod:`vise_lib.recipe` for all of them
on one screen). Names are imported on first use, so ``import vise_lib`` and the ``vise``
command stay fast::

    from vise_lib import read_manifest, build_pseudo_labels, TrainConfig, linear_probe

(The training loop is ``vise_lib.pretrain.loop.pretrain`` and the study runner
``vise_lib.run.pipeline.run``: ``pretrain`` and ``run`` are subpackage names, so they are not
top-level names.)
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# public name -> module that defines it
_API = {
    "Engagement": "vise_lib.engagement.table",
    "ManifestReader": "vise_lib.engagement.reader",
    "read_manifest": "vise_lib.engagement.reader",
    "ingest": "vise_lib.engagement.ingest",
    "pushshift_to_manifest": "vise_lib.engagement.pushshift",
    "SignalEncoder": "vise_lib.labels.signals",
    "fit_kmeans": "vise_lib.labels.kmeans",
    "build_pseudo_labels": "vise_lib.labels.pseudo_labels",
    "load_labels": "vise_lib.labels.pseudo_labels",
    "build_backbone": "vise_lib.backbones.archs",
    "save_backbone": "vise_lib.backbones.checkpoint",
    "load_backbone": "vise_lib.backbones.checkpoint",
    "TrainConfig": "vise_lib.pretrain.config",
    "OBJECTIVES": "vise_lib.pretrain.objectives",
    "extract_features": "vise_lib.transfer.features",
    "linear_probe": "vise_lib.transfer.probes",
    "run_transfer": "vise_lib.transfer.runner",
    "WorldConfig": "vise_lib.world.generate",
    "generate_world": "vise_lib.world.generate",
    "paired_bootstrap": "vise_lib.verdicts.statistics",
    "verdict": "vise_lib.verdicts.statistics",
    "vise": "vise_lib.recipe",
}
__all__ = sorted(_API)

if TYPE_CHECKING:  # static view of the lazily imported API, for type checkers and IDEs;
    # ``name as name`` marks an explicit re-export (PEP 484), so linters do not call it unused
    from vise_lib.backbones.archs import build_backbone as build_backbone
    from vise_lib.backbones.checkpoint import load_backbone as load_backbone
    from vise_lib.backbones.checkpoint import save_backbone as save_backbone
    from vise_lib.engagement.ingest import ingest as ingest
    from vise_lib.engagement.pushshift import pushshift_to_manifest as pushshift_to_manifest
    from vise_lib.engagement.reader import ManifestReader as ManifestReader
    from vise_lib.engagement.reader import read_manifest as read_manifest
    from vise_lib.engagement.table import Engagement as Engagement
    from vise_lib.labels.kmeans import fit_kmeans as fit_kmeans
    from vise_lib.labels.pseudo_labels import build_pseudo_labels as build_pseudo_labels
    from vise_lib.labels.pseudo_labels import load_labels as load_labels
    from vise_lib.labels.signals import SignalEncoder as SignalEncoder
    from vise_lib.pretrain.config import TrainConfig as TrainConfig
    from vise_lib.pretrain.objectives import OBJECTIVES as OBJECTIVES
    from vise_lib.recipe import vise as vise
    from vise_lib.transfer.features import extract_features as extract_features
    from vise_lib.transfer.probes import linear_probe as linear_probe
    from vise_lib.transfer.runner import run_transfer as run_transfer
    from vise_lib.verdicts.statistics import paired_bootstrap as paired_bootstrap
    from vise_lib.verdicts.statistics import verdict as verdict
    from vise_lib.world.generate import WorldConfig as WorldConfig
    from vise_lib.world.generate import generate_world as generate_world


def __getattr__(name: str) -> Any:
    if name not in _API:
        raise AttributeError(f"module 'vise_lib' has no attribute {name!r}")
    value = getattr(importlib.import_module(_API[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
