"""VisE companion: engagement signals -> pseudo labels -> pretraining -> transfer.

The public API, one name per step of the method (see :mod:`vise_lib.recipe` for all of them
on one screen). Names are imported on first use, so ``import vise_lib`` and the ``vise``
command stay fast::

    from vise_lib import read_manifest, build_pseudo_labels, TrainConfig, pretrain, linear_probe
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
    "pretrain": "vise_lib.pretrain.loop",
    "OBJECTIVES": "vise_lib.pretrain.objectives",
    "extract_features": "vise_lib.transfer.features",
    "linear_probe": "vise_lib.transfer.probes",
    "multilabel_probe": "vise_lib.transfer.probes",
    "run_transfer": "vise_lib.transfer.runner",
    "WorldConfig": "vise_lib.world.generate",
    "generate_world": "vise_lib.world.generate",
    "paired_bootstrap": "vise_lib.study.statistics",
    "verdict": "vise_lib.study.statistics",
    "vise": "vise_lib.recipe",
    "run": "vise_lib.run.pipeline",
}
__all__ = sorted(_API)

if TYPE_CHECKING:  # static view of the lazily imported API, for type checkers and IDEs
    from vise_lib.backbones.archs import build_backbone
    from vise_lib.backbones.checkpoint import load_backbone, save_backbone
    from vise_lib.engagement.ingest import ingest
    from vise_lib.engagement.pushshift import pushshift_to_manifest
    from vise_lib.engagement.reader import ManifestReader, read_manifest
    from vise_lib.engagement.table import Engagement
    from vise_lib.labels.kmeans import fit_kmeans
    from vise_lib.labels.pseudo_labels import build_pseudo_labels, load_labels
    from vise_lib.labels.signals import SignalEncoder
    from vise_lib.pretrain.config import TrainConfig
    from vise_lib.pretrain.loop import pretrain
    from vise_lib.pretrain.objectives import OBJECTIVES
    from vise_lib.recipe import vise
    from vise_lib.run.pipeline import run
    from vise_lib.study.statistics import paired_bootstrap, verdict
    from vise_lib.transfer.features import extract_features
    from vise_lib.transfer.probes import linear_probe, multilabel_probe
    from vise_lib.transfer.runner import run_transfer
    from vise_lib.world.generate import WorldConfig, generate_world


def __getattr__(name: str) -> Any:
    if name not in _API:
        raise AttributeError(f"module 'vise_lib' has no attribute {name!r}")
    value = getattr(importlib.import_module(_API[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
