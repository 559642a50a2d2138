"""The summary stage (``05_summary``): every claim of :mod:`vise_lib.study.claims` judged from the plain files.

:func:`run_summary` reads the per-image correctness of the downstream stage
(``downstream/correct.npz``) and, when the ablation stage ran, of its points
(``ablations/correct.npz``), judges every claim whose backbones are there by the verdict rule of
the config (``min_effect`` δ, ``epsilon`` ε, ``n_boot``) and writes ``summary/claims.json``
(:class:`SummaryResult`). Claims whose backbones this run lacks are not judged; the result
lists them.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from vise_lib.io import PathArg
from vise_lib.stages.ablations import budget_gains
from vise_lib.stages.result_files import read_rows, result_path, typed_config
from vise_lib.study.claims import CLAIMS, answer_box, evaluate_claims, in_words
from vise_lib.study.stage_configs import SummaryConfig
from vise_lib.verdicts.results import CLAIM_FIELDS, read_correct, write_claims

STAGE = "05_summary"


@dataclass(frozen=True)
class SummaryResult:
    """``summary/claims.json``: the judged claims, in the order of
    :data:`~vise_lib.study.claims.CLAIMS`, each a row of :func:`~vise_lib.verdicts.results.compare`
    (``claim``, ``task``, ``a``, ``b``, ``diff``, ``ci_low``, ``ci_high`` in top-1 points,
    ``verdict``, the rule's ``min_effect`` and ``epsilon``, ``n_images``, seed counts) plus
    ``source``, ``expected``, ``kind``, ``quote`` (paper quotes only) and ``as_expected``."""

    FILE: ClassVar[str] = "summary/claims.json"

    claims: list[dict]

    def to_json(self) -> list[dict]:
        """The file's layout: a list of claim rows."""
        return copy.deepcopy(self.claims)

    @classmethod
    def read(cls, run_dir: PathArg) -> SummaryResult:
        return cls(read_rows(run_dir, cls.FILE, STAGE, CLAIM_FIELDS))

    @property
    def missing(self) -> list[str]:
        """The study's claims not judged in this run (a backbone they compare has no results)."""
        judged = {c["claim"] for c in self.claims}
        return [str(c["claim"]) for c in CLAIMS if c["claim"] not in judged]

    def answer(self, preset: str = "", run_dir: PathArg | None = None) -> str:
        """The five-line answer box (:func:`~vise_lib.study.claims.answer_box`); with ``run_dir``,
        what the budget points' extra epochs taught (:func:`~vise_lib.stages.ablations.budget_gains`)."""
        return answer_box(self.claims, preset, budget_gains(run_dir) if run_dir is not None else None)

    @property
    def headline(self) -> list[dict]:
        """The Δ_eng claims (vise against its shuffled-label control), one per task."""
        return [c for c in self.claims if c.get("kind") == "headline"]

    def sentences(self) -> list[str]:
        """The claims in words (:func:`~vise_lib.study.claims.in_words`): Δ_eng first, then every claim."""
        return in_words(self.claims)


def run_summary(config: SummaryConfig | dict | None, run_dir: PathArg, echo: Callable = print) -> SummaryResult:
    """Judge the claims of the run in ``run_dir`` (see the module docstring); ``echo`` gets the verdict rule."""
    run, stage = Path(run_dir), typed_config(SummaryConfig, config)
    correct = read_correct(result_path(run, "downstream/correct.npz", "03_downstream"), "03_downstream")
    if (run / "ablations" / "correct.npz").exists():
        correct.update(read_correct(run / "ablations" / "correct.npz", "04_ablations"))
    echo(
        f"verdict rule: δ = {stage.min_effect} points, ε = {stage.epsilon} points, at least {stage.min_seeds} "
        f"pretraining seeds, {stage.n_boot} bootstrap replicates"
    )
    claims = evaluate_claims(correct, stage.min_effect, stage.epsilon, n_boot=stage.n_boot, min_seeds=stage.min_seeds)
    write_claims(run / SummaryResult.FILE, claims, stage=STAGE)
    return SummaryResult.read(run)
