"""The real-data transfer stage (``20_transfer``): backbones x local datasets, linear probe over seeds.

:func:`run_transfer_study` runs :func:`vise_lib.transfer.evaluate.evaluate` (read, decode and
split every dataset; frozen features of every backbone; a probe per seed; the claims against the
reference backbone), which writes ``downstream/scores.csv``, ``downstream/correct.npz``,
``downstream/results.json`` (:class:`TransferResult`) and ``summary/claims.json`` into the
config's ``results_dir``, or the run folder.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from vise_lib.io import PathArg
from vise_lib.stages.result_files import ResultFile, typed_config
from vise_lib.transfer.config import TransferConfig
from vise_lib.transfer.evaluate import evaluate, results_dir

STAGE = "20_transfer"


@dataclass(frozen=True)
class TransferResult(ResultFile):
    """``downstream/results.json`` of the transfer study: the ``config`` (the transfer section), the
    resolved ``backbones`` (``{name: {"name", "spec", "path", "arch", "width", "blocks",
    "source"}}``), the ``reference`` backbone, per dataset what reading and decoding gave
    (``datasets``: path, format, group, classes, multilabel, n_images, summary, dropped classes,
    skipped files), the ``tasks`` (dataset names, in order), probe ``seeds``, every probe ``runs``
    (metrics in %, confusion, per-class scores, Emotion6 extras), the ``baselines`` (majority
    class and chance per dataset) and the feature ``cache`` counts."""

    STAGE: ClassVar[str] = STAGE
    FILE: ClassVar[str] = "downstream/results.json"
    SCORES: ClassVar[str] = "downstream/scores.csv"
    CORRECT: ClassVar[str] = "downstream/correct.npz"

    config: dict
    backbones: dict[str, dict]
    reference: str
    datasets: dict[str, dict]
    tasks: list[str]
    seeds: list[int]
    runs: list[dict]
    baselines: dict[str, dict]
    cache: dict[str, int]


def run_transfer_study(
    config: TransferConfig | dict | None, run_dir: PathArg, echo: Callable = print
) -> TransferResult:
    """Run the transfer study (see the module docstring); ``echo`` gets the backbones and datasets as read."""
    cfg = typed_config(TransferConfig, config)
    if len(cfg.seeds) < 3:
        echo(f"note: {len(cfg.seeds)} probe seed(s); use at least 3 for a meaningful mean ± std")
    evaluate(cfg, run_dir, echo=echo)
    return TransferResult.read(results_dir(cfg, run_dir))


def transfer_folder(config: TransferConfig | dict | None, run_dir: PathArg) -> Path:
    """Where the stage writes its files: the config's ``results_dir``, or the run folder."""
    return results_dir(typed_config(TransferConfig, config), run_dir)
