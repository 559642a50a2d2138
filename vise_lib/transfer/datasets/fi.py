"""FI (Flickr & Instagram): the eight emotion folders (amusement … sadness), at the root or in ``images/``."""

from __future__ import annotations

from vise_lib.transfer.datasets.base import ImageDataset, require_dir
from vise_lib.transfer.datasets.imagefolder import images_dir, read_imagefolder

FI = ("amusement", "anger", "awe", "contentment", "disgust", "excitement", "fear", "sadness")


def read_fi(path) -> ImageDataset:
    """FI (see the module docstring)."""
    return read_imagefolder(images_dir(require_dir(path), FI), classes=FI, name="fi")
