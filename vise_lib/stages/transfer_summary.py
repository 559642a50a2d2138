"""The real-data summary stage (``21_transfer_summary``): the transfer study's claims, read back.

The claims (every backbone against the reference on every dataset) are judged by the transfer
stage, whose config holds the verdict rule, and written to ``summary/claims.json``;
:func:`run_transfer_summary` reads them with the study's ``downstream/results.json`` from the
config's ``results_dir`` (or the run folder) and returns them typed, for the summary's tables.
It writes nothing.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import ClassVar

from vise_lib.io import PathArg
from vise_lib.stages.result_files import read_rows, typed_config
from vise_lib.stages.transfer import STAGE as TRANSFER_STAGE
from vise_lib.stages.transfer import TransferResult
from vise_lib.transfer.config import TransferSummaryConfig
from vise_lib.verdicts.results import CLAIM_FIELDS


@dataclass(frozen=True)
class TransferSummaryResult:
    """``summary/claims.json`` of the transfer study (a list of claim rows of
    :func:`~vise_lib.verdicts.results.compare`, each with its dataset's ``group``,
    ``kind`` ``"transfer"`` and ``text``), with the study it judges (:class:`TransferResult`)."""

    FILE: ClassVar[str] = "summary/claims.json"

    claims: list[dict]
    transfer: TransferResult

    def to_json(self) -> list[dict]:
        """The file's layout: a list of claim rows."""
        return copy.deepcopy(self.claims)

    @classmethod
    def read(cls, folder: PathArg) -> TransferSummaryResult:
        """Read from ``folder``: where the transfer stage wrote its files."""
        return cls(read_rows(folder, cls.FILE, TRANSFER_STAGE, (*CLAIM_FIELDS, "group")), TransferResult.read(folder))


def run_transfer_summary(config: TransferSummaryConfig | dict | None, run_dir: PathArg) -> TransferSummaryResult:
    """The transfer study's claims and results from the config's ``results_dir`` (or ``run_dir``)."""
    cfg = typed_config(TransferSummaryConfig, config)
    return TransferSummaryResult.read(cfg.results_dir or run_dir)
