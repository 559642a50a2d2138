"""Pretraining objectives behind one registry.

A new baseline is one file here (an :class:`~vise_lib.pretrain.objectives.base.Objective`
subclass, with its own ``Settings`` if it has knobs) plus one entry in :data:`OBJECTIVES`; the
loop, the CLI (``--setting NAME.KEY=VALUE``), the presets (``pretrain.train.objectives``) and the
checkpoints pick it up.
"""

from __future__ import annotations

from vise_lib.config import closest
from vise_lib.pretrain.config import TrainConfig
from vise_lib.pretrain.objectives.base import Objective
from vise_lib.pretrain.objectives.classify import Classify
from vise_lib.pretrain.objectives.simclr import SimCLR
from vise_lib.pretrain.objectives.untrained import Untrained

#: objective name -> the objective ("auto" is resolved by :func:`resolve_objective`)
OBJECTIVES: dict[str, Objective] = {o.name: o for o in (Classify(), SimCLR(), Untrained())}
CHOICES = ("auto", *OBJECTIVES)


def resolve_objective(name: str, has_labels: bool) -> Objective:
    """The registered objective ``name``; ``auto`` is ``classify`` with labels, ``none`` without.

    Raises ``ValueError`` for an unknown name or when labels are given to an objective that
    takes none (or missing for one that needs them).
    """
    if name != "auto" and name not in OBJECTIVES:
        raise ValueError(f"objective must be one of {('auto', *OBJECTIVES)}, got {name!r}")
    obj = OBJECTIVES["classify" if has_labels else "none"] if name == "auto" else OBJECTIVES[name]
    if has_labels and not obj.needs_labels:
        raise ValueError(f"objective {obj.name!r} takes no label_sets")
    if obj.needs_labels and not has_labels:
        raise ValueError(f"objective {obj.name!r} needs label_sets (a non-empty list of 1-D int arrays)")
    return obj


def check_settings(cfg: TrainConfig) -> dict[str, dict]:
    """Every registered objective's settings under ``cfg`` (``cfg.objectives`` over the defaults).

    Raises ``ValueError`` naming an unknown objective or setting key (with the closest valid
    one) or a bad value; the loop calls it before training, the pretrain stage's config on
    construction, so one bad key stops a study before any variant trains.
    """
    for name in cfg.objectives:
        if name not in OBJECTIVES:
            raise ValueError(
                f"TrainConfig.objectives: unknown objective {name!r}{closest(str(name), list(OBJECTIVES))} "
                f"(objectives: {', '.join(OBJECTIVES)})"
            )
    return {name: obj.settings(cfg).to_params() for name, obj in OBJECTIVES.items()}
