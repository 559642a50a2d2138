"""UnbiasedEmo: ``<emotion>/<object>/<file>`` (six emotions, at the root or in ``images/``); the object
folder is kept in ``extra["object"]``."""

from __future__ import annotations

import numpy as np

from vise_lib.transfer.datasets.base import ImageDataset, require_dir
from vise_lib.transfer.datasets.imagefolder import images_dir, read_imagefolder

UNBIASEDEMO = ("anger", "fear", "joy", "love", "sadness", "surprise")


def read_unbiasedemo(path) -> ImageDataset:
    """UnbiasedEmo (see the module docstring)."""
    ds = read_imagefolder(images_dir(require_dir(path), UNBIASEDEMO), classes=UNBIASEDEMO, name="unbiasedemo")
    ds.extra["object"] = np.asarray([p.split("/")[1] if p.count("/") >= 2 else "" for p in ds.paths])
    return ds
