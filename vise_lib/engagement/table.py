"""The engagement table: one row per image post, read from a manifest with validation.

Manifest format (JSON Lines, one post per line; the synthetic world writes exactly this)::

    {"post_id": "p0000001", "image_index": 1,           # row of images.npy beside the manifest
     "comments": ["so cute 😂", "lol"],                   # list of strings, may be empty
     "reactions": {"like": 3, "love": 0, "haha": 5},      # any named non-negative counts
     "shares": 2, "timestamp": 1600000123,
     "caption": "my cat", "n_comments": 12}               # optional: the post's own text; a comment count

``caption`` is the poster's own text: the comment encoders read it with the comments (see
:meth:`Engagement.texts`). ``n_comments`` is a comment count for exports that have counts but
no comment texts: the ``counts`` signal uses it for a post without comment texts.

Real data gives ``"image": "relative/path.jpg"`` (relative to the data root) instead of
``image_index``. The same columns may come as CSV or Parquet, with comments inline or in a
separate comments table (see :mod:`vise_lib.engagement.formats` and the book's "Using your own
data" page). Bad rows are never dropped silently: each is counted by reason and listed with its
line number in the :class:`ReadReport` (or raises, with ``strict=True``). Repairs that keep a
row (non-UTF-8 bytes replaced, empty comments dropped, empty count cells read as 0) are counted
in ``ReadReport.notes``.

Large manifests stream: :class:`vise_lib.engagement.reader.ManifestReader` yields :class:`Engagement` chunks of
``chunk_rows`` posts; memory is one chunk plus 8 bytes per post for the duplicate-id check.
"""

from __future__ import annotations

import functools
import operator
import os
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
    notes: Counter = field(default_factory=Counter)  # repairs that kept the row, counted

    def skip(self, line: int, reason: str, message: str | None = None) -> None:
        """Count one skipped row under ``reason``; list it (first 20) with ``message``."""
        self.skipped[reason] += 1
        if len(self.examples) < 20:
            self.examples.append((line, message or reason))

    def summary(self, root: str | os.PathLike | None = None) -> str:
        """One line: kept of rows, then the skip counts and the notes; the file is named relative to
        ``root`` when it lies inside it (a run folder: no machine path in the book)."""
        where = Path(self.path)
        if root is not None and where.is_relative_to(Path(root)):
            where = where.relative_to(Path(root))
        s = f"{where}: {self.n_kept} of {self.n_rows} rows kept"
        if self.skipped:
            s += "; skipped: " + ", ".join(f"{n} {r}" for r, n in self.skipped.most_common())
        if self.notes:
            s += "; notes: " + ", ".join(f"{n} {r}" for r, n in self.notes.most_common())
        return s

    def to_dict(self) -> dict:
        """A JSON-ready form (what ``read_report.json`` files hold)."""
        return {
            "path": self.path,
            "rows": self.n_rows,
            "kept": self.n_kept,
            "skipped": dict(self.skipped),
            "notes": dict(self.notes),
            "examples": [list(e) for e in self.examples],
        }


@dataclass
class Engagement:
    """Columnar engagement of N posts."""

    post_ids: list[str]
    image_index: np.ndarray  # (N,) int64 row in the image array, -1 when ``images`` is used
    images: list[str | None]  # relative image paths (real data) or None
    comments: list[list[str]]
    reactions: np.ndarray  # (N, R) int64 counts
    reaction_names: tuple[str, ...]
    shares: np.ndarray  # (N,) int64
    timestamp: np.ndarray  # (N,) int64 (0 when absent)
    # Optional at construction only: ``__post_init__`` fills a None in, so every method sees the column.
    captions: list[str] = None  # type: ignore[assignment]  # the post's own text ('' when absent)
    n_comments: np.ndarray = None  # type: ignore[assignment]  # (N,) int64 given comment count, -1 when absent

    def __post_init__(self) -> None:
        if self.captions is None:
            self.captions = [""] * len(self.post_ids)
        if self.n_comments is None:
            self.n_comments = np.full(len(self.post_ids), -1, dtype=np.int64)

    def __len__(self) -> int:
        return len(self.post_ids)

    @classmethod
    def from_rows(cls, rows: list[dict], reaction_names) -> Engagement:
        """Build from validated row dicts (reactions outside ``reaction_names`` are left out)."""
        names = tuple(reaction_names)
        counts = np.array([[r["reactions"].get(k, 0) for k in names] for r in rows], dtype=np.int64)
        return cls(
            post_ids=[r["post_id"] for r in rows],
            image_index=np.array([r["image_index"] for r in rows], dtype=np.int64),
            images=[r["image"] for r in rows],
            comments=[r["comments"] for r in rows],
            reactions=counts.reshape(len(rows), len(names)),
            reaction_names=names,
            shares=np.array([r["shares"] for r in rows], dtype=np.int64),
            timestamp=np.array([r["timestamp"] for r in rows], dtype=np.int64),
            captions=[r.get("caption", "") or "" for r in rows],
            n_comments=np.array([r.get("n_comments", -1) for r in rows], dtype=np.int64),
        )

    @classmethod
    def concat(cls, parts: list[Engagement], reaction_names=None) -> Engagement:
        """Join chunks that share ``reaction_names`` into one table."""
        names = tuple(reaction_names if reaction_names is not None else (parts[0].reaction_names if parts else ()))
        if any(p.reaction_names != names for p in parts):
            raise ValueError("cannot concatenate engagement chunks with different reaction columns")
        if not parts:
            return cls.from_rows([], names)
        return cls(
            functools.reduce(operator.iadd, (p.post_ids for p in parts), []),
            np.concatenate([p.image_index for p in parts]),
            functools.reduce(operator.iadd, (p.images for p in parts), []),
            functools.reduce(operator.iadd, (p.comments for p in parts), []),
            np.concatenate([p.reactions for p in parts]),
            names,
            np.concatenate([p.shares for p in parts]),
            np.concatenate([p.timestamp for p in parts]),
            functools.reduce(operator.iadd, (p.captions for p in parts), []),
            np.concatenate([p.n_comments for p in parts]),
        )

    def record(self, i: int) -> dict:
        """Post ``i`` as a :meth:`from_rows` row with every column (``from_rows([t.record(i) for i in
        range(len(t))], t.reaction_names)`` rebuilds ``t``): what a sample of posts keeps, so a table
        built from a sample has the captions and comment counts the full table has."""
        return {
            "post_id": self.post_ids[i],
            "image_index": int(self.image_index[i]),
            "image": self.images[i],
            "comments": self.comments[i],
            "reactions": dict(zip(self.reaction_names, self.reactions[i].tolist(), strict=True)),
            "shares": int(self.shares[i]),
            "timestamp": int(self.timestamp[i]),
            "caption": self.captions[i],
            "n_comments": int(self.n_comments[i]),
        }

    def take(self, idx: np.ndarray | list[int]) -> Engagement:
        """The posts at positions ``idx`` (in that order)."""
        idx = np.asarray(idx, dtype=np.int64)
        return Engagement(
            [self.post_ids[i] for i in idx],
            self.image_index[idx],
            [self.images[i] for i in idx],
            [self.comments[i] for i in idx],
            self.reactions[idx],
            self.reaction_names,
            self.shares[idx],
            self.timestamp[idx],
            [self.captions[i] for i in idx],
            self.n_comments[idx],
        )

    def texts(self) -> list[list[str]]:
        """Per post, the texts the comment encoders read: the caption (when present), then the comments."""
        return [[cap, *cs] if cap else cs for cap, cs in zip(self.captions, self.comments, strict=False)]

    def comment_counts(self) -> np.ndarray:
        """Comments per post: the number of comment texts, or the manifest's ``n_comments`` for a
        post that has no comment texts (count-only exports)."""
        texts = np.array([len(c) for c in self.comments], dtype=np.int64)
        return np.where((texts == 0) & (self.n_comments >= 0), self.n_comments, texts)

    def zero_blocks(self) -> list[str]:
        """The engagement blocks that are empty for every post (``comments``, ``reactions``,
        ``shares``); all three means φ(e) cannot tell any two posts apart."""
        out = []
        if not any(self.comments) and not any(self.captions) and not np.any(self.n_comments > 0):
            out.append("comments")
        if not self.reactions.any():
            out.append("reactions")
        if not self.shares.any():
            out.append("shares")
        return out

    def row(self, i: int) -> dict:
        """Post ``i`` as a manifest record (JSON-ready; ``image`` or ``image_index``)."""
        rec: dict[str, object] = {"post_id": self.post_ids[i]}
        rec.update(
            {"image": self.images[i]} if self.images[i] is not None else {"image_index": int(self.image_index[i])}
        )
        rec.update(
            comments=list(self.comments[i]),
            reactions={k: int(v) for k, v in zip(self.reaction_names, self.reactions[i], strict=False)},
            shares=int(self.shares[i]),
            timestamp=int(self.timestamp[i]),
        )
        if self.captions[i]:
            rec["caption"] = self.captions[i]
        if self.n_comments[i] >= 0:
            rec["n_comments"] = int(self.n_comments[i])
        return rec


class ManifestError(ValueError):
    """A manifest row is invalid (raised in strict mode; names file and line)."""
