"""The ingest stage's typed config (preset section ``ingest``): real posts in place of the world."""

from __future__ import annotations

from dataclasses import dataclass, field

from vise_lib.config import StageConfig
from vise_lib.engagement.pushshift import LAYOUTS
from vise_lib.engagement.real_posts import SOURCES


@dataclass(frozen=True)
class IngestConfig(StageConfig):
    """Where the real posts come from (see :func:`vise_lib.engagement.real_posts.prepare_posts`).

    ``source`` is ``manifest`` (``manifest``: a JSONL/CSV/Parquet file, optional separate
    ``comments`` table and extra ``reaction_columns``) or ``pushshift`` (RS/RC dump files);
    image paths are relative to ``data_root``; images are resized to ``image_size`` px and
    written in shards of ``shard_size`` posts; manifests are read ``chunk_rows`` at a time.
    """

    section = "ingest"
    source: str = "manifest"
    manifest: str | None = None
    comments: str | None = None
    data_root: str | None = None
    reaction_columns: list[str] = field(default_factory=list)
    pushshift_submissions: list[str] = field(default_factory=list)
    pushshift_comments: list[str] = field(default_factory=list)
    pushshift_layout: str = "subreddit"
    allow_truncated: bool = False
    image_size: int = 224
    shard_size: int = 1000
    chunk_rows: int = 10_000

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.source not in SOURCES:
            raise ValueError(f"ingest.source must be one of {SOURCES}, got {self.source!r}")
        if self.pushshift_layout not in LAYOUTS:
            raise ValueError(f"ingest.pushshift_layout must be one of {LAYOUTS}, got {self.pushshift_layout!r}")
        if self.image_size < 16 or self.shard_size < 1 or self.chunk_rows < 1:
            raise ValueError("ingest: need image_size >= 16, shard_size >= 1, chunk_rows >= 1")
