"""The untrained baseline ("random"): the seeded initial backbone, saved without training."""

from __future__ import annotations

from vise_lib.pretrain.objectives.base import Objective


class Untrained(Objective):
    """No training at all: a floor for every comparison."""

    name = "none"
    trains = False
