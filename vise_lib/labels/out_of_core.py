"""φ(e) and k-means out of core: when the posts or their features do not fit in memory.

The in-memory stage (:func:`vise_lib.labels.pseudo_labels.build_pseudo_labels`) fits φ(e) and k-means on
every post at once. Here the work is split into passes over chunks, each holding one chunk:

1. a seeded reservoir sample of ``fit_posts`` posts is drawn while streaming the manifest, and
   φ(e) (:class:`vise_lib.labels.signals.SignalEncoder`) is fitted on it; φ is a per-post transform once
   fitted, so every post is then encoded chunk by chunk;
2. φ chunks are written to ``out_dir/phi/NNNNNN.npy`` while a reservoir sample of
   ``kmeans_posts`` φ rows is kept; k-means (:func:`vise_lib.labels.kmeans.fit_kmeans`) is fitted on
   that sample (our choice: k-means on a uniform sample, as is usual at this scale);
3. every post is assigned to its nearest centroid chunk by chunk (:func:`assign`, plain numpy,
   in row blocks so that the ``block × k`` distance matrix stays small).

Memory: the two samples, one chunk, and per post its id, image path and label.
When ``fit_posts`` and ``kmeans_posts`` cover all posts the result equals the in-memory fit
(up to float rounding).
"""

from __future__ import annotations

import argparse
import shutil
import sys
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import numpy as np

from vise_lib.labels.kmeans import assign, fit_kmeans
from vise_lib.engagement.table import Engagement
from vise_lib.io import save_npy, write_json
from vise_lib.labels.encoders import ENCODERS
from vise_lib.labels.signals import SIGNALS, SignalEncoder


class Reservoir:
    """A seeded uniform sample of at most ``n`` items from a stream fed in chunks."""

    def __init__(self, n: int, seed: int = 0):
        if n < 1:
            raise ValueError(f"sample size must be >= 1, got {n}")
        self.n, self.rng, self.seen, self.items = n, np.random.default_rng(seed), 0, []

    def offer(self, m: int) -> list[tuple[int, int]]:
        """Offer ``m`` new items; returns ``(item, slot)`` pairs to store (slot == len: append)."""
        out = []
        fill = min(m, max(self.n - self.seen, 0))
        out += [(i, self.seen + i) for i in range(fill)]
        if m > fill:
            j = self.seen + np.arange(fill, m)
            r = (self.rng.random(m - fill) * (j + 1)).astype(np.int64)
            out += [(fill + int(i), int(s)) for i, s in zip(np.flatnonzero(r < self.n), r[r < self.n])]
        self.seen += m
        return out

    def add(self, values) -> None:
        """Offer a sequence of values (rows of an array or list items)."""
        for i, slot in self.offer(len(values)):
            v = values[i]
            v = v.copy() if isinstance(v, np.ndarray) else v  # never keep a whole chunk alive
            if slot == len(self.items):
                self.items.append(v)
            else:
                self.items[slot] = v


def sample_posts(chunks: Iterable[Engagement], n: int, seed: int = 0) -> Engagement:
    """A uniform sample of at most ``n`` posts from a stream of chunks (one pass)."""
    res, names = Reservoir(n, seed), None
    for eng in chunks:
        names = eng.reaction_names
        res.add(_LazyRows(eng))
    if names is None:
        raise ValueError("no posts to sample from")
    rows = [{"post_id": p, "image_index": ii, "image": im, "comments": c, "shares": s, "timestamp": t,
             "reactions": dict(zip(names, r.tolist()))} for p, ii, im, c, r, s, t in res.items]
    return Engagement.from_rows(rows, names)


class _LazyRows:
    """Rows of a chunk as tuples, built only for the items a reservoir keeps."""

    def __init__(self, eng):
        self.eng = eng

    def __len__(self):
        return len(self.eng)

    def __getitem__(self, i):
        e = self.eng
        return (e.post_ids[i], int(e.image_index[i]), e.images[i], e.comments[i], e.reactions[i].copy(),
                int(e.shares[i]), int(e.timestamp[i]))


def transform_chunks(encoder: SignalEncoder, chunks: Iterable[Engagement]) -> Iterator[tuple[Engagement, np.ndarray]]:
    """Yield ``(chunk, φ(chunk))`` for a fitted encoder, one chunk at a time."""
    for eng in chunks:
        yield eng, encoder.transform(eng)


def assign_chunks(chunks: Iterable[np.ndarray], centroids: np.ndarray) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """:func:`vise_lib.labels.kmeans.assign` applied to each feature chunk of a stream:
    ``(labels, inertia)`` per chunk."""
    for x in chunks:
        yield assign(x, centroids)


def pseudo_labels_out_of_core(make_chunks: Callable[[], Iterable[Engagement]], out_dir, signal: str = "both",
                              n_clusters: int = 16, svd_dim: int = 64, seed: int = 0, fit_posts: int = 200_000,
                              kmeans_posts: int = 200_000, backend: str = "sklearn",
                              encoder: str = "tfidf", encoder_model: str | None = None) -> dict:
    """φ(e) -> k-means -> pseudo labels for a stream too large for memory (see the module docstring).

    ``make_chunks()`` must return a fresh iterable of :class:`Engagement` chunks with the same
    posts in the same order each call (e.g. ``lambda: iter(ManifestReader(path, ...))``); it is
    called twice. Writes ``out_dir/phi/*.npy``, ``out_dir/labels.npz`` (``label``,
    ``image_index``, ``post_id``, ``image``, ``centroids``), ``out_dir/pseudo.npy`` (the labels
    alone, int64, in stream order: what ``python -m vise_lib.pretrain --labels`` reads) and
    ``out_dir/out_of_core.json``; returns that summary dict.
    """
    out = Path(out_dir)
    sample = sample_posts(make_chunks(), fit_posts, seed)
    if len(sample) < n_clusters:
        raise ValueError(f"{len(sample)} valid posts, fewer than n_clusters={n_clusters}")
    enc = SignalEncoder(signal, dim=svd_dim, seed=seed, encoder=encoder, encoder_model=encoder_model).fit(sample)
    phi_dir = out / "phi"
    shutil.rmtree(phi_dir, ignore_errors=True)
    res, files, ids, images, index = Reservoir(kmeans_posts, seed + 1), [], [], [], []
    for eng, phi in transform_chunks(enc, make_chunks()):
        files.append(save_npy(phi_dir / f"{len(files):06d}.npy", phi))
        res.add(phi)
        ids += eng.post_ids
        images += [im or "" for im in eng.images]
        index.append(eng.image_index)
    km = fit_kmeans(np.stack(res.items), n_clusters, seed=seed, backend=backend)
    parts = list(assign_chunks((np.load(f) for f in files), km["centroids"]))
    labels = np.concatenate([p[0] for p in parts]) if parts else np.zeros(0, np.int64)
    inertia = float(sum(p[1] for p in parts))
    tmp = out / ".labels.tmp.npz"
    np.savez(tmp, label=labels, image_index=np.concatenate(index), post_id=np.array(ids),
             image=np.array(images), centroids=km["centroids"])
    tmp.replace(out / "labels.npz")
    save_npy(out / "pseudo.npy", labels)
    summary = {"n_posts": len(labels), "n_clusters": n_clusters, "fit_posts": len(sample),
               "kmeans_posts": len(res.items), "phi_chunks": len(files), "inertia": inertia,
               "cluster_sizes": np.bincount(labels, minlength=n_clusters).tolist()}
    write_json(out / "out_of_core.json", summary)
    return summary


def main(argv: list[str] | None = None) -> int:
    """``python -m vise_lib.labels.out_of_core --manifest clean.jsonl --out DIR --n-clusters K``."""
    from vise_lib.engagement.reader import ManifestReader

    p = argparse.ArgumentParser(prog="vise labels",
                                description="manifest -> φ(e) -> k-means -> pseudo labels, in chunks")
    p.add_argument("--manifest", required=True, help="manifest (e.g. the ingested manifest.jsonl)")
    p.add_argument("--out", required=True, help="output folder (labels.npz, pseudo.npy, phi/)")
    p.add_argument("--data-root", default=None, help="check image paths against this folder")
    p.add_argument("--signal", default="both", choices=SIGNALS)
    p.add_argument("--encoder", default="tfidf", choices=ENCODERS, help="comment text encoder")
    p.add_argument("--encoder-model", default=None, help="local model folder (sentence-transformers)")
    p.add_argument("--n-clusters", type=int, default=1000)
    p.add_argument("--svd-dim", type=int, default=128)
    p.add_argument("--fit-posts", type=int, default=200_000, help="posts φ(e) is fitted on (sample)")
    p.add_argument("--kmeans-posts", type=int, default=200_000, help="φ rows k-means is fitted on (sample)")
    p.add_argument("--chunk-rows", type=int, default=50_000)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args(argv)
    readers = []

    def chunks():
        names = readers[0].reaction_names if readers else None  # the first pass found them
        readers.append(ManifestReader(a.manifest, reaction_names=names, data_root=a.data_root,
                                      chunk_rows=a.chunk_rows))
        return readers[-1]
    s = pseudo_labels_out_of_core(chunks, a.out, a.signal, a.n_clusters, a.svd_dim, a.seed, a.fit_posts,
                                  a.kmeans_posts,
                                  encoder=a.encoder, encoder_model=a.encoder_model)
    print(readers[-1].report.summary())
    print(f"{s['n_posts']} posts -> {s['n_clusters']} clusters; wrote {a.out}/pseudo.npy and labels.npz")
    return 0


if __name__ == "__main__":
    from vise_lib.run.cli import tool_main

    sys.exit(tool_main("labels"))
