"""The ingest stage (``10_ingest``): real posts in place of the synthetic world.

:func:`run_ingest` turns the preset's ``ingest`` source (a manifest, or Pushshift dumps) and its
images into ``<run_dir>/world/posts`` in the layout the world writes
(:func:`~vise_lib.engagement.real_posts.prepare_posts`: every row and image validated, skips
counted by reason in ``<run_dir>/ingest/report.json``), so the following stages read them
unchanged, and writes ``ingest/results.json`` (:class:`IngestResult`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from vise_lib.engagement.config import IngestConfig
from vise_lib.engagement.real_posts import prepare_posts
from vise_lib.io import PathArg, write_json
from vise_lib.stages.result_files import ResultFile, typed_config

STAGE = "10_ingest"


@dataclass(frozen=True)
class IngestResult(ResultFile):
    """``ingest/results.json``: ``n_posts`` ready for the next stages, the ``ingest`` report
    (:func:`~vise_lib.engagement.ingest.ingest`: ``rows`` read, ``kept``, ``written``,
    ``skipped`` per reason, ...) and the ``pushshift`` conversion's report (``None`` when the
    source was a manifest)."""

    STAGE: ClassVar[str] = STAGE
    FILE: ClassVar[str] = "ingest/results.json"
    POSTS: ClassVar[str] = "world/posts"

    n_posts: int
    ingest: dict
    pushshift: dict | None


def run_ingest(config: IngestConfig | dict | None, run_dir: PathArg, echo: Callable = print) -> IngestResult:
    """Ingest the real posts into ``run_dir/world/posts`` and write ``ingest/results.json``;
    ``echo`` gets the number of posts and their reaction kinds."""
    cfg = typed_config(IngestConfig, config)
    out = prepare_posts(run_dir, **cfg.to_params())
    echo(f"{out['n_posts']} posts ready; reactions: {', '.join(out['reaction_names']) or 'none'}")
    result = IngestResult(n_posts=out["n_posts"], ingest=out["ingest"], pushshift=out["pushshift"])
    write_json(Path(run_dir) / IngestResult.FILE, result.to_json(), stage=IngestResult.STAGE)
    return IngestResult.read(run_dir)
