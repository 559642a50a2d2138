"""The generated book pages of a run: Performance, Scaling to the paper and Reproducibility, and
the answer box the introduction includes.

``vise run`` writes them at its end as MyST markdown next to the executed notebooks
(``book/_generated/<preset>/``). Each page is a template (``vise_lib/run/templates/<page>.md``)
filled from a typed context that its module computes from what the run recorded (stage keys,
parameters and wall times, the stages' results files, the installed packages) and from the
latest benchmark results saved by ``make bench`` under ``benchmarks/results/``, read once here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from vise_lib.io import atomic_write_text
from vise_lib.run.benchmark_results import read_benchmarks
from vise_lib.run.performance_page import performance_context, performance_page, time_breakdown
from vise_lib.run.presets import Stage
from vise_lib.run.reproducibility_page import StageOutcome, reproducibility_page
from vise_lib.run.scaling_page import scaling_page
from vise_lib.stages.ablations import budget_gains
from vise_lib.study.claims import answer_box
from vise_lib.verdicts.results import read_claims

PAGES = ("performance", "scaling", "reproducibility", "answer")  # book/_generated/<preset>/<page>.md


def answer_page(preset: str, run_dir: Path) -> str:
    """The study's answer box for the introduction (included there, not a page of its own), from
    the run's ``summary/claims.json``; a line saying so when this preset judges no study claim."""
    path = run_dir / "summary" / "claims.json"
    if not path.is_file():
        return f"> The `{preset}` run judged no claim of the world study (it has no `summary/claims.json`).\n"
    rows = [r for r in read_claims(path) if r.get("kind") != "transfer"]
    if not rows:
        return f"> The `{preset}` run judged no claim of the world study: see its transfer summary.\n"
    return answer_box(rows, preset, budget_gains(run_dir))


def write_book_pages(
    gen_dir: Path,
    preset: str,
    stages: Sequence[Stage],
    states: Mapping[str, Mapping],
    results: Iterable[StageOutcome],
    root: Path,
    run_dir: Path,
) -> list[Path]:
    """Write the three pages into ``gen_dir``: ``states`` are the pipeline's per-stage state files,
    ``results`` this run's outcomes, ``root`` the repository (its ``benchmarks/results/``),
    ``run_dir`` the run folder (its stages' results files)."""
    benchmarks = read_benchmarks(root)
    pages = {
        "reproducibility": reproducibility_page(preset, stages, states, results),
        "performance": performance_page(
            performance_context(preset, stages, states, benchmarks, time_breakdown(run_dir))
        ),
        "scaling": scaling_page(benchmarks),
        "answer": answer_page(preset, run_dir),
    }
    return [atomic_write_text(gen_dir / f"{name}.md", pages[name]) for name in PAGES]
