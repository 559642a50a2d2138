"""Real posts in place of the synthetic world: dumps or a manifest -> the world's posts layout.

:func:`prepare_posts` runs the real-data tools in order — Pushshift dumps to a manifest (if the
source is Pushshift), :func:`vise_lib.engagement.ingest.ingest` (validation, image decoding, shards), and
the shards to one ``images.npy`` — and writes ``<run_dir>/world/posts/manifest.jsonl`` +
``images.npy`` in exactly the layout the world writes, so the pseudo-label and pretraining
stages read real posts and generated ones through the same code. Real posts have no latents:
the diagnostics that need them are skipped. :func:`report_tables` and :func:`plot_posts` are
the ingest page's tables and figure.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from vise_lib.engagement.ingest import ingest
from vise_lib.engagement.pushshift import pushshift_to_manifest
from vise_lib.engagement.reader import read_manifest
from vise_lib.engagement.shards import shards_to_npy
from vise_lib.io import atomic_write

SOURCES = ("manifest", "pushshift")


def prepare_posts(
    run_dir,
    source: str = "manifest",
    data_root=None,
    manifest=None,
    comments=None,
    reaction_columns=(),
    pushshift_submissions=(),
    pushshift_comments=(),
    pushshift_layout: str = "subreddit",
    allow_truncated: bool = False,
    image_size: int = 224,
    shard_size: int = 1000,
    chunk_rows: int = 10_000,
) -> dict:
    """Turn real posts into ``run_dir/world/posts``; returns the reports of each step."""
    if source not in SOURCES:
        raise ValueError(f"unknown source {source!r}; choose from {SOURCES}")
    if not data_root or not Path(data_root).is_dir():
        raise ValueError(f"data_root must be an existing folder of images, got {data_root!r}")
    run = Path(run_dir)
    work = run / "ingest"
    out: dict[str, Any] = {"pushshift": None}
    if source == "pushshift":
        if not pushshift_submissions:
            raise ValueError("source 'pushshift' needs pushshift_submissions (RS_*.zst files)")
        manifest = work / "pushshift_manifest.jsonl"
        out["pushshift"] = pushshift_to_manifest(
            pushshift_submissions,
            list(pushshift_comments),
            data_root,
            manifest,
            layout=pushshift_layout,
            allow_truncated=allow_truncated,
        ).to_dict()
    elif not manifest:
        raise ValueError("source 'manifest' needs a manifest path (JSONL, CSV or Parquet)")
    out["ingest"] = ingest(
        manifest,
        work,
        data_root,
        comments=comments,
        reaction_columns=tuple(reaction_columns),
        image_size=image_size,
        shards=True,
        shard_size=shard_size,
        chunk_rows=chunk_rows,
    )
    if out["ingest"]["written"] == 0:
        raise ValueError(f"{manifest}: no post survived ingestion; see {work / 'report.json'}")
    posts = run / "world" / "posts"
    shards_to_npy(work / "shards", posts / "images.npy")

    def index_rows(dst):
        with open(work / "manifest.jsonl", encoding="utf-8") as src:
            for i, line in enumerate(src):
                row = json.loads(line)
                row["source_image"] = row.pop("image", None)  # kept for reference; the array row is the image
                row["image_index"] = i
                dst.write(json.dumps(row, ensure_ascii=False) + "\n")

    atomic_write(posts / "manifest.jsonl", index_rows, mode="w")
    eng, _ = read_manifest(posts / "manifest.jsonl", strict=True)
    out["n_posts"] = len(eng)
    out["reaction_names"] = list(eng.reaction_names)
    return out


def report_tables(ingest_report: dict, pushshift: dict | None = None) -> list:
    """What was kept and what was skipped, as DataFrames: the Pushshift conversion's counts
    (submissions and comments by outcome; only when the source was Pushshift), then the
    ingest's rows read, kept, skipped per reason and noted per kind."""
    import pandas as pd

    tables = []
    if pushshift:
        counts = {"submissions": pd.Series(pushshift["submissions"]), "comments": pd.Series(pushshift["comments"])}
        tables.append(pd.DataFrame(counts).fillna(0).astype(int))
    rep = ingest_report
    rows = {
        "rows read": rep["rows"],
        "kept": rep["kept"],
        **{f"skipped: {k}": v for k, v in rep["skipped"].items()},
        **{f"note: {k}": v for k, v in rep.get("notes", {}).items()},
    }
    tables.append(pd.DataFrame({"posts": rows}))
    return tables


def plot_posts(posts_dir, n: int = 8):
    """The first ``n`` posts of a posts folder (``manifest.jsonl`` + ``images.npy``): each image
    with its reaction and comment counts."""
    import matplotlib.pyplot as plt
    import numpy as np

    posts = Path(posts_dir)
    eng, _ = read_manifest(posts / "manifest.jsonl")
    images = np.load(posts / "images.npy", mmap_mode="r")
    n = min(n, len(eng))
    fig, axes = plt.subplots(1, n, figsize=(1.6 * n, 2.2), squeeze=False)
    for ax, i in zip(axes[0], range(n), strict=False):
        ax.imshow(images[eng.image_index[i]])
        ax.axis("off")
        ax.set_title(f"{eng.reactions[i].sum()} reactions\n{len(eng.comments[i])} comments", fontsize=7)
    fig.tight_layout()
    return fig
