"""φ(e) and k-means out of core: when the posts or their features do not fit in memory.

The in-memory stage (:func:`vise_lib.labels.pseudo_labels.build_pseudo_labels`) fits φ(e) and k-means on
every post at once. Here the work is split into passes over chunks, each holding one chunk:

1. a sample of ``fit_posts`` posts is drawn while streaming the manifest: the bottom
   ``fit_posts`` by a seeded hash of the post id (:mod:`vise_lib.labels.hash_sample`), so it
   does not depend on the order of the input; φ(e) (:class:`vise_lib.labels.signals.SignalEncoder`)
   is fitted on it; φ is a per-post transform once fitted, so every post is then encoded chunk
   by chunk. The manifest is read and validated only in this pass: each chunk (its reaction
   columns in sorted name order, :func:`~vise_lib.labels.hash_sample.canonical_reactions`) is
   also pickled to ``out_dir/chunks/`` (:func:`spill_chunks`), and the φ pass reads those back
   (:func:`load_spilled`, each file removed once encoded), which gives the same chunks in the
   same order without parsing the JSON again;
2. φ chunks are written to ``out_dir/phi/NNNNNN.npy`` while the φ rows of the bottom
   ``kmeans_posts`` posts by the same hash are kept; k-means (:func:`vise_lib.labels.kmeans.fit_kmeans`)
   is fitted on those rows in hash order (our choice: k-means on a uniform sample, as is usual
   at this scale);
3. every post is assigned to its nearest centroid chunk by chunk (:func:`assign`, plain numpy,
   in row blocks so that the ``block × k`` distance matrix stays small).

The labels of a post therefore depend on the set of posts, never on their order: shuffling the
manifest's rows gives every post the same label, and :mod:`vise_lib.labels.dask_labels`, which
runs the same fit on the same samples, gives the same labels at any worker count.

Memory: the two samples and one chunk (disk: the spilled chunks, about the manifest's size,
until the φ pass has read them); per-post ids, image paths and labels go to chunk
files next to φ and are streamed into ``labels.npz`` (``benchmarks/labels_ooc.py`` measures
the peak at 400k and 4M posts). When ``fit_posts`` and ``kmeans_posts`` cover all posts the
result equals the in-memory fit on the posts in hash order (same encoder, same k-means backend
and seed; the in-memory stage's k-means++ seeding depends on the row order), tested in
``tests/labels/test_out_of_core.py``. On more posts than the samples it differs by design:
φ(e) and the centroids come from the samples.
"""

from __future__ import annotations

import argparse
import pickle
import shutil
import sys
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import numpy as np

from vise_lib.engagement.table import Engagement
from vise_lib.io import atomic_write, save_npy, write_json, write_npy_stream
from vise_lib.labels.encoders import ENCODERS
from vise_lib.labels.hash_sample import BottomK, canonical_reactions
from vise_lib.labels.kmeans import BACKENDS, assign, fit_kmeans
from vise_lib.labels.signals import SIGNALS, SignalEncoder
from vise_lib.labels.text import add_counts, text_issues, text_summary


def sample_posts(chunks: Iterable[Engagement], n: int, seed: int = 0) -> Engagement:
    """The bottom-``n`` posts by a seeded hash of the post id (:class:`~vise_lib.labels.hash_sample.BottomK`),
    in ``(key, post_id)`` order: the same sample whatever the order of the chunks and rows (one pass)."""
    sample: BottomK[Engagement] = BottomK(n, seed)
    for eng in chunks:
        sample.add(eng.post_ids, eng)
    return sample.rows()


def fit_encoder(
    sample: Engagement,
    signal: str,
    n_clusters: int,
    svd_dim: int,
    seed: int,
    encoder: str = "tfidf",
    encoder_model: str | None = None,
) -> SignalEncoder:
    """φ(e) fitted on the fit sample (the single-process and the Dask path both call this)."""
    if len(sample) < n_clusters:
        raise ValueError(f"{len(sample)} valid posts, fewer than n_clusters={n_clusters}")
    return SignalEncoder(signal, dim=svd_dim, seed=seed, encoder=encoder, encoder_model=encoder_model).fit(sample)


def spill_chunks(chunks: Iterable[Engagement], folder: Path, files: list[Path]) -> Iterator[Engagement]:
    """Pass ``chunks`` through, pickling each to ``folder/NNNNNN.pkl`` (appended to ``files``)."""
    folder.mkdir(parents=True, exist_ok=True)
    for eng in chunks:
        path = folder / f"{len(files):06d}.pkl"
        with open(path, "wb") as fh:
            pickle.dump(eng, fh, protocol=pickle.HIGHEST_PROTOCOL)
        files.append(path)
        yield eng


def load_spilled(files: Iterable[Path]) -> Iterator[Engagement]:
    """The chunks :func:`spill_chunks` wrote, in order; each file is removed once read."""
    for path in files:
        with open(path, "rb") as fh:
            eng = pickle.load(fh)  # our own file, written by spill_chunks in this run
        path.unlink()
        yield eng


def transform_chunks(encoder: SignalEncoder, chunks: Iterable[Engagement]) -> Iterator[tuple[Engagement, np.ndarray]]:
    """Yield ``(chunk, φ(chunk))`` for a fitted encoder, one chunk at a time."""
    for eng in chunks:
        yield eng, encoder.transform(eng)


def pseudo_labels_out_of_core(
    chunks: Iterable[Engagement],
    out_dir,
    signal: str = "both",
    n_clusters: int = 16,
    svd_dim: int = 64,
    seed: int = 0,
    fit_posts: int = 200_000,
    kmeans_posts: int = 200_000,
    backend: str = "auto",
    encoder: str = "tfidf",
    encoder_model: str | None = None,
) -> dict:
    """φ(e) -> k-means -> pseudo labels for a stream too large for memory (see the module docstring).

    ``chunks`` is an iterable of :class:`Engagement` chunks (e.g. a ``ManifestReader``), read
    once: the chunks are spilled to ``out_dir/chunks/`` for the φ pass (removed as it goes).
    Writes ``out_dir/phi/*.npy`` (with each chunk's ids, image paths and labels),
    ``out_dir/labels.npz`` (``label``, ``image_index``, ``post_id``, ``image``, ``centroids``;
    written array by array from the chunk files), ``out_dir/pseudo.npy`` (the labels alone,
    int64, in stream order: what ``python -m vise_lib.pretrain --labels`` reads) and
    ``out_dir/out_of_core.json``; returns that summary dict (``text``: the
    :func:`~vise_lib.labels.text.text_issues` counts of every post: comments, captions, …). ``backend`` and ``seed`` mean
    what they mean for the in-memory stage (``auto``: faiss when installed), so on posts that
    fit (``fit_posts`` and ``kmeans_posts`` at least the post count) both give the same labels.
    """
    out = Path(out_dir)
    spill_dir = out / "chunks"
    spilled: list[Path] = []
    shutil.rmtree(spill_dir, ignore_errors=True)
    try:
        canonical = (canonical_reactions(eng) for eng in chunks)
        sample = sample_posts(spill_chunks(canonical, spill_dir, spilled), fit_posts, seed)
        enc = fit_encoder(sample, signal, n_clusters, svd_dim, seed, encoder, encoder_model)
        del sample
        phi_dir = out / "phi"
        shutil.rmtree(phi_dir, ignore_errors=True)
        files: list[Path] = []
        res: BottomK[np.ndarray] = BottomK(kmeans_posts, seed)
        widths = [1, 1]
        text: dict[str, int] = {}
        for eng, phi in transform_chunks(enc, load_spilled(spilled)):
            text = add_counts(text, text_issues(eng))
            stem = phi_dir / f"{len(files):06d}"
            files.append(save_npy(stem.with_suffix(".npy"), phi))
            ids, images = np.array(eng.post_ids, dtype=str), np.array([im or "" for im in eng.images], dtype=str)
            widths = [max(widths[0], ids.dtype.itemsize // 4), max(widths[1], images.dtype.itemsize // 4)]
            np.savez(stem.with_suffix(".posts.npz"), post_id=ids, image=images, image_index=eng.image_index)
            res.add(eng.post_ids, phi)
    finally:  # the spilled chunks are only needed by the φ pass
        shutil.rmtree(spill_dir, ignore_errors=True)
    km = fit_kmeans(res.rows(), n_clusters, seed=seed, backend=backend)
    del res
    sizes, inertia, n = np.zeros(n_clusters, np.int64), 0.0, 0
    for f in files:
        labels, part = assign(np.load(f), km["centroids"])
        save_npy(f.with_suffix(".label.npy"), labels)
        sizes += np.bincount(labels, minlength=n_clusters)
        inertia, n = inertia + part, n + len(labels)

    def parts(key):
        for f in files:
            if key == "label":
                yield np.load(f.with_suffix(".label.npy"))
            else:
                with np.load(f.with_suffix(".posts.npz")) as z:
                    yield z[key]

    write_labels(out, n, (widths[0], widths[1]), parts, km["centroids"])
    summary = {
        "n_posts": n,
        "n_clusters": n_clusters,
        "fit_posts": min(fit_posts, n),
        "backend": km["backend"],
        "kmeans_posts": min(kmeans_posts, n),
        "phi_chunks": len(files),
        "inertia": float(inertia),
        "cluster_sizes": sizes.tolist(),
        "text": text,
    }
    write_json(out / "out_of_core.json", summary)
    return summary


def write_labels(
    out: Path, n: int, widths: tuple[int, int], parts: Callable[[str], Iterator[np.ndarray]], centroids: np.ndarray
) -> None:
    """``out/labels.npz`` (``label``, ``image_index``, ``post_id``, ``image``: ``parts(key)`` yields
    each chunk's column; ``widths``: the longest post id and image path) and ``out/pseudo.npy``."""
    arrays = {
        "label": (np.dtype(np.int64), parts("label")),
        "image_index": (np.dtype(np.int64), parts("image_index")),
        "post_id": (np.dtype(f"<U{widths[0]}"), parts("post_id")),
        "image": (np.dtype(f"<U{widths[1]}"), parts("image")),
    }
    write_npz_streaming(out / "labels.npz", n, arrays, centroids=centroids)
    atomic_write(out / "pseudo.npy", lambda fh: write_npy_stream(fh, np.int64, (n,), parts("label")))


def write_npz_streaming(path, n: int, arrays: dict, **small) -> Path:
    """An ``.npz`` whose 1-D arrays of length ``n`` are written chunk by chunk (memory: one chunk).

    ``arrays`` maps a key to ``(dtype, iterable of chunks)``; ``small`` are arrays saved whole.
    ``np.load`` reads the result like any ``np.savez`` file (written atomically).
    """
    import zipfile

    def write(f):
        with zipfile.ZipFile(f, "w", zipfile.ZIP_STORED, allowZip64=True) as z:
            for key, (dtype, parts) in arrays.items():
                with z.open(f"{key}.npy", "w", force_zip64=True) as fh:
                    write_npy_stream(fh, dtype, (n,), parts)
            for key, a in small.items():
                with z.open(f"{key}.npy", "w", force_zip64=True) as fh:
                    np.lib.format.write_array(fh, np.asarray(a), allow_pickle=False)

    return atomic_write(path, write)


def add_labels_args(p: argparse.ArgumentParser) -> None:
    """The φ(e) and k-means options of ``vise labels`` (this pass and the Dask one share them)."""
    p.add_argument("--out", required=True, help="output folder (labels.npz, pseudo.npy, ...)")
    p.add_argument("--data-root", default=None, help="check image paths against this folder")
    p.add_argument("--signal", default="both", choices=SIGNALS)
    p.add_argument("--encoder", default="tfidf", choices=ENCODERS, help="comment text encoder")
    p.add_argument("--encoder-model", default=None, help="local model folder (sentence-transformers)")
    p.add_argument("--n-clusters", type=int, default=1000)
    p.add_argument("--svd-dim", type=int, default=128)
    p.add_argument("--fit-posts", type=int, default=200_000, help="posts φ(e) is fitted on (hash sample)")
    p.add_argument("--kmeans-posts", type=int, default=200_000, help="φ rows k-means is fitted on (hash sample)")
    p.add_argument("--chunk-rows", type=int, default=50_000, help="posts per chunk (per partition on Dask)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--backend", default="auto", choices=BACKENDS, help="k-means backend, as in the 01 stage")


def run_args(manifest: str, a: argparse.Namespace) -> int:
    """This pass on one manifest with the options of :func:`add_labels_args`; prints what it did."""
    from vise_lib.engagement.reader import ManifestReader

    reader = ManifestReader(manifest, data_root=a.data_root, chunk_rows=a.chunk_rows)
    s = pseudo_labels_out_of_core(
        reader,
        a.out,
        a.signal,
        a.n_clusters,
        a.svd_dim,
        a.seed,
        a.fit_posts,
        a.kmeans_posts,
        backend=a.backend,
        encoder=a.encoder,
        encoder_model=a.encoder_model,
    )
    print(reader.report.summary())
    print(text_summary(s["text"]))
    print(f"{s['n_posts']} posts -> {s['n_clusters']} clusters; wrote {a.out}/pseudo.npy and labels.npz")
    return 0


def main(argv: list[str] | None = None) -> int:
    """``python -m vise_lib.labels.out_of_core --manifest clean.jsonl --out DIR --n-clusters K``
    (``vise labels --single-process`` runs the same; plain ``vise labels`` runs on Dask)."""
    p = argparse.ArgumentParser(
        prog="vise labels", description="manifest -> φ(e) -> k-means -> pseudo labels, in chunks"
    )
    p.add_argument("--manifest", required=True, help="manifest (e.g. the ingested manifest.jsonl)")
    add_labels_args(p)
    a = p.parse_args(argv)
    return run_args(a.manifest, a)


if __name__ == "__main__":
    from vise_lib.tools import guard

    sys.exit(guard("vise labels --single-process", lambda: main(sys.argv[1:])))
