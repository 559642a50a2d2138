"""An order-independent sample of posts: the bottom k by a seeded hash of the post id.

A reservoir sample depends on the order the posts arrive in, so splitting the work (or
shuffling the input files) would change the sample, and with it φ(e), the centroids and every
label. Here a post's place in the sample depends only on its id: each post gets the key
``blake2b(post_id, key=seed)`` (64 bits, :func:`sample_keys`), and the sample is the ``k``
posts with the smallest ``(key, post_id)``, kept in that order (:class:`BottomK`). The same
``k`` posts come out, in the same order, whatever the order of the chunks and of the rows in
them, and bottom-k samples of disjoint parts merge into the bottom-k sample of the whole (what
the per-partition tasks of :mod:`vise_lib.labels.dask_labels` rely on). Since the keys are a
hash, the sample is uniform over posts. The φ(e) fit sample and the k-means sample use the same
key, so the smaller is the start of the larger (one sample per partition serves both).

The reaction columns are part of φ(e)'s input, so their order must not depend on which row
came first either: :func:`canonical_reactions` puts them in sorted name order (a reaction
absent from a table counts 0).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

import numpy as np

from vise_lib.engagement.table import Engagement

Rows = TypeVar("Rows", Engagement, np.ndarray)


def sample_keys(post_ids: Sequence[str], seed: int = 0) -> np.ndarray:
    """(N,) uint64: a seeded 64-bit hash of each post id (blake2b, the same in every process)."""
    key = int(seed).to_bytes(8, "little", signed=True)
    return np.fromiter(
        (
            int.from_bytes(
                hashlib.blake2b(p.encode("utf-8", "surrogatepass"), digest_size=8, key=key).digest(), "little"
            )
            for p in post_ids
        ),
        dtype=np.uint64,
        count=len(post_ids),
    )


def _take(rows: Rows, idx: np.ndarray) -> Rows:
    return rows.take(idx) if isinstance(rows, Engagement) else rows[idx]


def _concat(parts: list[Rows]) -> Rows:
    if isinstance(parts[0], Engagement):
        return Engagement.concat(parts)
    return np.concatenate(parts)


class BottomK(Generic[Rows]):
    """The ``n`` items with the smallest ``(sample_keys(post_id, seed), post_id)`` of a stream.

    Feed it chunks with :meth:`add` (``rows``: an :class:`Engagement` or an array whose rows
    belong to ``post_ids``); :meth:`rows` gives the kept rows sorted by ``(key, post_id)``.
    Memory: at most ``2 n`` rows (it trims back to ``n`` whenever it holds twice that).
    Post ids must be unique (the manifest reader guarantees it within a manifest).
    """

    def __init__(self, n: int, seed: int = 0) -> None:
        if n < 1:
            raise ValueError(f"sample size must be >= 1, got {n}")
        self.n, self.seed, self.seen = n, seed, 0
        self.keys = np.empty(0, np.uint64)
        self.ids: list[str] = []
        self.parts: list[Rows] = []
        self.threshold: int | None = None  # the n-th smallest key once n are held: larger keys never enter

    def add(self, post_ids: Sequence[str], rows: Rows, keys: np.ndarray | None = None) -> None:
        """Offer one chunk (``keys``: its :func:`sample_keys`, when already computed)."""
        if len(post_ids) != len(rows):
            raise ValueError(f"{len(post_ids)} post ids for {len(rows)} rows")
        self.seen += len(post_ids)
        keys = sample_keys(post_ids, self.seed) if keys is None else keys
        idx = np.arange(len(keys)) if self.threshold is None else np.flatnonzero(keys <= np.uint64(self.threshold))
        if len(idx) == 0:
            return
        self.keys = np.concatenate([self.keys, keys[idx]])
        self.ids += [post_ids[int(i)] for i in idx]
        self.parts.append(_take(rows, idx))
        if len(self.keys) >= 2 * self.n:
            self._trim()

    def _trim(self) -> None:
        order = np.lexsort((np.array(self.ids, dtype=str), self.keys))[: self.n]
        rows = _concat(self.parts)
        self.keys, self.ids, self.parts = self.keys[order], [self.ids[i] for i in order], [_take(rows, order)]
        if len(self.keys) == self.n:
            self.threshold = int(self.keys[-1])

    def map_rows(self, fn: Callable[[Rows], Rows]) -> None:
        """Replace every held row block ``r`` by ``fn(r)`` (same rows, e.g. other reaction columns)."""
        self.parts = [fn(r) for r in self.parts]

    def rows(self) -> Rows:
        """The sample, sorted by ``(key, post_id)``; raises when nothing was offered."""
        if not self.parts:
            raise ValueError("no posts to sample from")
        self._trim()
        return self.parts[0]

    def post_ids(self) -> list[str]:
        """The sampled post ids, in the order of :meth:`rows`."""
        self._trim()
        return list(self.ids)


def canonical_reactions(eng: Engagement, names: Sequence[str] | None = None) -> Engagement:
    """``eng`` with its reaction columns in the order ``names`` (default: sorted), absent ones 0."""
    names = tuple(sorted(eng.reaction_names) if names is None else names)
    if names == eng.reaction_names:
        return eng
    missing = set(eng.reaction_names) - set(names)
    if any(eng.reactions[:, eng.reaction_names.index(m)].any() for m in missing):
        raise ValueError(f"reaction columns {sorted(missing)} are not in the target columns {list(names)}")
    cols = {n: i for i, n in enumerate(eng.reaction_names)}
    counts = np.zeros((len(eng), len(names)), np.int64)
    for j, n in enumerate(names):
        if n in cols:
            counts[:, j] = eng.reactions[:, cols[n]]
    return Engagement(
        eng.post_ids,
        eng.image_index,
        eng.images,
        eng.comments,
        counts,
        names,
        eng.shares,
        eng.timestamp,
        eng.captions,
        eng.n_comments,
    )
