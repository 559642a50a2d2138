"""Pretraining objectives behind one registry.

A new baseline is one file here (an :class:`~vise_lib.pretrain.objectives.base.Objective`
subclass) plus one entry in :data:`OBJECTIVES`; the loop, the CLI and the checkpoints pick it up.
"""

from __future__ import annotations

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
