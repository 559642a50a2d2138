"""The generated page "Performance": this run's wall time per stage, where the study's time went,
and the benchmarks' latest stored results.

:func:`performance_context` gathers the numbers (stage times from the pipeline's state files,
:func:`time_breakdown` from the stages' results files, the records of
:func:`~vise_lib.run.benchmark_results.read_benchmarks`); the prose is in
``templates/performance.md``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from vise_lib.run.benchmark_results import BenchmarkRecord, Benchmarks
from vise_lib.run.page_template import render
from vise_lib.run.presets import Stage
from vise_lib.stages.ablations import AblationsResult
from vise_lib.stages.downstream import DownstreamResult
from vise_lib.stages.pretrain import PretrainResult
from vise_lib.verdicts.results import training_seconds

R = TypeVar("R", PretrainResult, DownstreamResult, AblationsResult)

ABLATION_PHASES = ("world and labels", "pretrain", "probes")


@dataclass(frozen=True)
class VariantTime:
    """``02_pretrain``: one variant's training time, summed over its pretraining seeds."""

    variant: str
    seconds: float
    seeds: int


@dataclass(frozen=True)
class PhaseTime:
    """``03_downstream``: one phase of ``run_transfer``'s ``timing`` (features, probes, …)."""

    phase: str
    seconds: float


@dataclass(frozen=True)
class AblationTime:
    """``04_ablations``: the points of one kind, their seconds summed per phase (:data:`ABLATION_PHASES`)."""

    kind: str
    points: int
    phases: Mapping[str, float]

    @property
    def seconds(self) -> float:
        return sum(self.phases.values())


@dataclass(frozen=True)
class TimeBreakdown:
    """Where the study stages' time went; empty for a run without them."""

    pretrain: tuple[VariantTime, ...] = ()
    downstream: tuple[PhaseTime, ...] = ()
    ablations: tuple[AblationTime, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.pretrain or self.downstream or self.ablations)


def _read(cls: type[R], run_dir: Path) -> R | None:
    """A stage's typed results (``cls.read``), ``None`` when the stage did not run."""
    try:
        return cls.read(run_dir)
    except FileNotFoundError:
        return None


def time_breakdown(run_dir: Path) -> TimeBreakdown:
    """Where the study stages' time went, from the timings their results files record.

    ``02_pretrain`` per variant (training time summed over its pretraining seeds,
    :func:`~vise_lib.verdicts.results.training_seconds`: a resumed or cached backbone still
    counts its original training), ``03_downstream`` per phase (``run_transfer``'s ``timing``:
    features, probes, fine-tuning, the factor readout; phases that took no time are left out),
    ``04_ablations`` per kind of point (world and labels, pretraining, probes). A stage without
    results (not in this preset, or not yet run) has none.
    """
    pre, down, abl = _read(PretrainResult, run_dir), _read(DownstreamResult, run_dir), _read(AblationsResult, run_dir)
    per: dict[str, list[float]] = {}
    for r in (pre.variants if pre else {}).values():
        per.setdefault(r["variant"], []).append(training_seconds(r))
    points = abl.timing if abl else {}
    kinds: dict[str, list[dict]] = {}
    for t in points.values():
        kinds.setdefault(t["kind"], []).append(t)
    return TimeBreakdown(
        pretrain=tuple(VariantTime(v, sum(s), len(s)) for v, s in per.items()),
        downstream=tuple(PhaseTime(part, s) for part, s in (down.timing if down else {}).items() if s > 0),
        ablations=tuple(
            AblationTime(kind, len(ts), {p: sum(t[p] for t in ts) for p in ABLATION_PHASES})
            for kind, ts in kinds.items()
        ),
    )


@dataclass(frozen=True)
class StageTime:
    """A stage's wall time when it was last executed; None: it has not run."""

    stage: str
    seconds: float | None


@dataclass(frozen=True)
class PerformanceContext:
    """Everything the Performance page shows."""

    preset: str
    stage_times: tuple[StageTime, ...]
    total_seconds: float  # of the stages that ran
    breakdown: TimeBreakdown = field(default_factory=TimeBreakdown)
    benchmarks: tuple[BenchmarkRecord, ...] = ()


def performance_context(
    preset: str,
    stages: Sequence[Stage],
    states: Mapping[str, Mapping],
    benchmarks: Benchmarks,
    breakdown: TimeBreakdown | None = None,
) -> PerformanceContext:
    """The page's figures: ``states`` are the pipeline's per-stage state files (``seconds``)."""
    times = tuple(StageTime(s.name, states.get(s.name, {}).get("seconds")) for s in stages)
    return PerformanceContext(
        preset=preset,
        stage_times=times,
        total_seconds=sum(t.seconds for t in times if t.seconds is not None),
        breakdown=breakdown or TimeBreakdown(),
        benchmarks=benchmarks.records,
    )


def performance_page(context: PerformanceContext) -> str:
    """Markdown of the page "Performance" (``templates/performance.md``) for :func:`performance_context`'s figures."""
    return render("performance.md", context)
