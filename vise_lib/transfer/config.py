"""Typed configs of the real-data transfer study's stages (preset sections ``transfer``, ``transfer_summary``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from vise_lib.config import StageConfig
from vise_lib.transfer.datasets import FORMATS, GROUP_NAMES
from vise_lib.transfer.probes import DEFAULT_CS
from vise_lib.verdicts.statistics import EPSILON, MIN_EFFECT


@dataclass(frozen=True)
class TransferConfig(StageConfig):
    """Backbones x datasets under the linear-probe protocol (``20_transfer``).

    ``backbones``: ``{name: spec}`` (see :mod:`vise_lib.transfer.specs`). ``datasets``:
    ``{name: "PATH[:FORMAT]"}`` or ``{name: {"path", "format", "group", "data_root"}}``; the format
    is guessed from the folder when omitted; the group (``subjective`` / ``object``) is what the
    user states, else the format's (``subjective`` for the emotion / intent / politics formats,
    ``unstated`` for a generic ImageFolder or CSV: neutral claim wording); ``data_root`` (CSV
    only) is the folder its image paths are relative to and resolve inside (default: the CSV's).
    ``reference``: the backbone every other one is compared with (``None``: the ImageNet one,
    else the first). ``results_dir``: where ``downstream/`` and ``summary/`` go (``None``: the run
    folder). ``seeds``: probe seeds (each a stratified 80 % subsample of train).
    """

    section: ClassVar[str] = "transfer"
    backbones: dict = field(default_factory=dict)
    datasets: dict = field(default_factory=dict)
    image_size: int = 224
    seeds: list[int] = field(default_factory=lambda: [0, 1, 2])
    reference: str | None = None
    allow_download: bool = False
    results_dir: str | None = None
    split_seed: int = 0
    min_per_class: int = 5
    Cs: list[float] = field(default_factory=lambda: list(DEFAULT_CS))
    max_iter: int = 1000
    batch_size: int = 64
    num_threads: int = 0
    min_effect: float = MIN_EFFECT
    epsilon: float = EPSILON
    n_boot: int = 2000

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.image_size < 8 or not self.seeds or self.min_per_class < 3 or self.n_boot < 100:
            raise ValueError("transfer: need image_size >= 8, at least one seed, min_per_class >= 3, n_boot >= 100")
        if len(set(self.seeds)) != len(self.seeds):
            raise ValueError(f"transfer.seeds must be distinct, got {self.seeds}")
        self.dataset_specs()  # bad dataset entries stop here, before any work

    def dataset_specs(self) -> dict[str, dict]:
        """``{name: {"path", "format" (or None: guessed), "group", "data_root"}}`` from :attr:`datasets`."""
        out = {}
        for name, d in self.datasets.items():
            if isinstance(d, str):
                path, fmt = d, None
                head, sep, tail = d.rpartition(":")
                if sep and tail in FORMATS:
                    path, fmt = head, tail
                d = {"path": path, "format": fmt}
            if not isinstance(d, dict) or "path" not in d or set(d) - {"path", "format", "group", "data_root"}:
                raise ValueError(
                    f"transfer.datasets.{name}: expected 'PATH[:FORMAT]' or a mapping with "
                    f"path[, format, group, data_root], got {d!r}"
                )
            fmt = d.get("format")
            if fmt is not None and fmt not in FORMATS:
                raise ValueError(f"transfer.datasets.{name}: unknown format {fmt!r}; expected one of {FORMATS}")
            group = d.get("group")
            if group is not None and group not in GROUP_NAMES:
                raise ValueError(f"transfer.datasets.{name}: group must be one of {GROUP_NAMES}, got {group!r}")
            root = d.get("data_root")
            if root is not None and fmt not in (None, "csv"):
                raise ValueError(f"transfer.datasets.{name}: data_root is for CSV datasets, not format {fmt!r}")
            out[str(name)] = {
                "path": str(d["path"]),
                "format": fmt,
                "group": group,
                "data_root": None if root is None else str(root),
            }
        return out


@dataclass(frozen=True)
class TransferSummaryConfig(StageConfig):
    """The real-data summary (``21_transfer_summary``): reads what ``20_transfer`` wrote."""

    section: ClassVar[str] = "transfer_summary"
    results_dir: str | None = None
