"""The engagement table: one row per image post, read from a manifest with validation.

Manifest format (JSON Lines, one post per line; the synthetic world writes exactly this)::

    {"post_id": "p0000001", "image_index": 1,           # row of images.npy beside the manifest
     "comments": ["so cute 😂", "lol"],                   # list of strings, may be empty
     "reactions": {"like": 3, "love": 0, "haha": 5},      # any named non-negative counts
     "shares": 2, "timestamp": 1600000123}

Real data gives ``"image": "relative/path.jpg"`` (relative to the data root) instead of
``image_index``. Bad rows are never dropped silently: each is counted by reason and listed
with its line number in the :class:`ReadReport` (or raises, with ``strict=True``).
"""

from __future__ import annotations

import json
import math
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np


@dataclass
class ReadReport:
    """What a read kept and what it skipped, with reasons and line numbers."""

    path: str
    n_rows: int = 0
    n_kept: int = 0
    skipped: Counter = field(default_factory=Counter)
    examples: list[tuple[int, str]] = field(default_factory=list)  # (line, reason), first 20

    def skip(self, line: int, reason: str) -> None:
        self.skipped[reason] += 1
        if len(self.examples) < 20:
            self.examples.append((line, reason))

    def summary(self) -> str:
        s = f"{self.path}: {self.n_kept} of {self.n_rows} rows kept"
        if self.skipped:
            s += "; skipped: " + ", ".join(f"{n} {r}" for r, n in self.skipped.most_common())
        return s


@dataclass
class Engagement:
    """Columnar engagement of N posts."""

    post_ids: list[str]
    image_index: np.ndarray          # (N,) int64 row in the image array, -1 when ``images`` is used
    images: list[str | None]         # relative image paths (real data) or None
    comments: list[list[str]]
    reactions: np.ndarray            # (N, R) int64 counts
    reaction_names: tuple[str, ...]
    shares: np.ndarray               # (N,) int64
    timestamp: np.ndarray            # (N,) int64 (0 when absent)

    def __len__(self) -> int:
        return len(self.post_ids)


class ManifestError(ValueError):
    """A manifest row is invalid (raised in strict mode; names file and line)."""


def _count(value, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{what} is not a number: {value!r}")
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value) or not value.is_integer()):
        raise ValueError(f"{what} is not a whole number: {value!r}")
    if value < 0:
        raise ValueError(f"{what} is negative: {value!r}")
    return int(value)


def _parse_row(row) -> dict:
    if not isinstance(row, dict):
        raise ValueError("row is not a JSON object")
    pid = row.get("post_id")
    if not isinstance(pid, (str, int)) or pid == "":
        raise ValueError("missing post_id")
    has_index, has_path = "image_index" in row, isinstance(row.get("image"), str)
    if not (has_index or has_path):
        raise ValueError("no image reference (image or image_index)")
    index = _count(row["image_index"], "image_index") if has_index else -1
    comments = row.get("comments", [])
    if comments is None:
        comments = []
    if not isinstance(comments, list) or not all(isinstance(c, str) for c in comments):
        raise ValueError("comments is not a list of strings")
    reactions = row.get("reactions", {}) or {}
    if not isinstance(reactions, dict):
        raise ValueError("reactions is not an object")
    reactions = {str(k): _count(v, f"reaction {k!r}") for k, v in reactions.items()}
    return {
        "post_id": str(pid), "image_index": index, "image": row.get("image") if has_path else None,
        "comments": comments, "reactions": reactions,
        "shares": _count(row.get("shares", 0) or 0, "shares"),
        "timestamp": _count(row.get("timestamp", 0) or 0, "timestamp"),
    }


def read_manifest(path, strict: bool = False, reaction_names: tuple[str, ...] | None = None
                  ) -> tuple[Engagement, ReadReport]:
    """Read a JSONL engagement manifest.

    Invalid rows (broken JSON, missing id or image, negative / NaN / non-numeric counts,
    non-string comments, duplicate post ids) are skipped and counted in the report, or raise
    :class:`ManifestError` naming the file and line when ``strict``. Reaction columns are
    ``reaction_names`` if given, else every name seen, in first-seen order (absent = 0).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"engagement manifest not found: {path}")
    report = ReadReport(str(path))
    rows, seen = [], set()
    with open(path, "rb") as f:
        for lineno, raw in enumerate(f, start=1):
            if not raw.strip():
                continue
            report.n_rows += 1
            try:
                text = raw.decode("utf-8", errors="replace")
                row = _parse_row(json.loads(text))
                if row["post_id"] in seen:
                    raise ValueError(f"duplicate post_id {row['post_id']!r}")
            except ValueError as e:  # JSONDecodeError is a ValueError
                reason = "invalid JSON" if isinstance(e, json.JSONDecodeError) else str(e)
                if strict:
                    raise ManifestError(f"{path}:{lineno}: {reason}") from None
                report.skip(lineno, reason)
                continue
            seen.add(row["post_id"])
            rows.append(row)
    report.n_kept = len(rows)
    names = list(reaction_names or [])
    if reaction_names is None:
        for r in rows:
            names += [k for k in r["reactions"] if k not in names]
    counts = np.array([[r["reactions"].get(k, 0) for k in names] for r in rows], dtype=np.int64)
    eng = Engagement(
        post_ids=[r["post_id"] for r in rows],
        image_index=np.array([r["image_index"] for r in rows], dtype=np.int64),
        images=[r["image"] for r in rows],
        comments=[r["comments"] for r in rows],
        reactions=counts.reshape(len(rows), len(names)),
        reaction_names=tuple(names),
        shares=np.array([r["shares"] for r in rows], dtype=np.int64),
        timestamp=np.array([r["timestamp"] for r in rows], dtype=np.int64),
    )
    return eng, report
