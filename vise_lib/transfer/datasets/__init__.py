"""Readers of real downstream datasets on local disk, in their published layouts: the registry.

A format is one reader file in this package plus one :data:`READERS` entry: a function
``path -> ImageDataset`` (see :mod:`vise_lib.transfer.datasets.base` for the record, the
containment rule and the skip reasons). :data:`GROUPS` gives each format's default group in
the study's summary (``subjective`` or ``object``); a dataset may override it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from vise_lib.transfer.datasets.base import ImageDataset
from vise_lib.transfer.datasets.csvfile import read_csv
from vise_lib.transfer.datasets.emotion6 import EMOTION6, read_emotion6
from vise_lib.transfer.datasets.fi import FI, read_fi
from vise_lib.transfer.datasets.imagefolder import read_imagefolder
from vise_lib.transfer.datasets.intentonomy import read_intentonomy
from vise_lib.transfer.datasets.politics import read_politics
from vise_lib.transfer.datasets.unbiasedemo import UNBIASEDEMO, read_unbiasedemo

READERS: dict[str, Callable[..., ImageDataset]] = {
    "imagefolder": read_imagefolder,
    "emotion6": read_emotion6,
    "fi": read_fi,
    "unbiasedemo": read_unbiasedemo,
    "intentonomy": read_intentonomy,
    "politics": read_politics,
    "csv": read_csv,
}
FORMATS = tuple(READERS)
# Default summary group per format: the paper's "subjective" tasks vs conventional recognition.
# An ImageFolder or a CSV may hold either, so they have none: their claims are worded neutrally
# ("unstated") unless the user states the group (``--group`` / a dataset's ``group``).
UNSTATED = "unstated"  # the group of a dataset whose kind the user did not state: neutral claim wording
GROUPS = {
    "imagefolder": UNSTATED,
    "emotion6": "subjective",
    "fi": "subjective",
    "unbiasedemo": "subjective",
    "intentonomy": "subjective",
    "politics": "subjective",
    "csv": UNSTATED,
}
GROUP_NAMES = ("subjective", "object")


def guess_format(path) -> str:
    """The format of a dataset path from its layout: a ``.csv`` file, an Intentonomy / Emotion6 /
    FI / UnbiasedEmo / Politics folder by their marker files and class folders, else ``imagefolder``."""
    p = Path(path)
    if p.is_file():
        return "csv" if p.suffix.lower() == ".csv" else "politics"
    if not p.is_dir():
        raise FileNotFoundError(f"dataset not found: {p}")
    if any(
        (d / f"intentonomy_{s}2020.json").is_file() for d in (p, p / "annotations") for s in ("train", "val", "test")
    ):
        return "intentonomy"
    if (p / "ground_truth.txt").is_file():
        return "emotion6"
    base = p / "images" if (p / "images").is_dir() else p
    names = {d.name.lower() for d in base.iterdir() if d.is_dir()}
    for fmt, classes in (("fi", FI), ("unbiasedemo", UNBIASEDEMO), ("emotion6", EMOTION6)):
        if set(classes) <= names and len(names) == len(classes):
            return fmt
    if any((p / n).is_file() for n in ("list.txt", "labels.txt", "images.txt")):
        return "politics"
    return "imagefolder"


def load_dataset(path, format: str | None = "imagefolder", data_root=None) -> ImageDataset:
    """Read a dataset in one of :data:`FORMATS` from a local path (``format=None``: guessed).

    ``data_root`` (CSV only): the folder the CSV's image paths are relative to, and must resolve
    inside (default: the CSV's own folder); see :func:`vise_lib.transfer.datasets.csvfile.read_csv`.
    """
    format = format or guess_format(path)
    if format not in READERS:
        raise ValueError(f"unknown dataset format {format!r}; expected one of {FORMATS}")
    if data_root is not None and format != "csv":
        raise ValueError(f"{path}: a data root is for CSV datasets (their paths are relative to it), not {format!r}")
    ds = read_csv(path, data_root) if data_root is not None else READERS[format](path)
    ds.format = format
    return ds
