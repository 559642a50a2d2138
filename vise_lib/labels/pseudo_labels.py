"""The pseudo-label stage: engagement manifest -> φ(e) -> k-means -> pseudo labels per post.

One *primary* signal gives ``label``; ``extra_signals`` give further label sets (same K, same
posts), saved as ``label_<signal>`` for engagement-only and multi-head pretraining variants.

φ(e) of a manifest is memoized in-process (keyed by the manifest's path, size and mtime and the
encoder settings), so a loop over K or signal on the same manifest fits each encoder block once;
pass ``cache=False`` to refit.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from vise_lib.engagement.reader import read_manifest
from vise_lib.engagement.table import Engagement, ReadReport
from vise_lib.io import write_json
from vise_lib.labels.diagnostics import agreement, cluster_sizes, majority, shuffled_control, top_terms
from vise_lib.labels.encoders import BlockEncoder
from vise_lib.labels.kmeans import fit_kmeans
from vise_lib.labels.signals import SignalEncoder, encode_signals
from vise_lib.labels.text import text_issues
from vise_lib.world.latents import AFFECTS

if TYPE_CHECKING:
    import pandas as pd

#: (encoder settings) -> fitted blocks, shared by the builds on one manifest
FittedBySetting = dict[tuple[int, int, str, str | None], dict[str, tuple[BlockEncoder, float, np.ndarray]]]
_CACHE: OrderedDict[tuple[str, int, int], tuple[Engagement, ReadReport, FittedBySetting]] = OrderedDict()
_CACHE_SIZE = 4


@dataclass
class LabelSet:
    """One signal's φ(e) and its k-means result."""

    signal: str
    encoder: SignalEncoder
    phi: np.ndarray  # (N, d)
    labels: np.ndarray  # (N,)
    centroids: np.ndarray  # (K, d)
    inertia: float


@dataclass
class PseudoLabels:
    """Everything the stage computed, for diagnostics and for saving."""

    engagement: Engagement
    report: ReadReport
    encoder: SignalEncoder  # the primary signal's
    phi: np.ndarray  # (N, d) φ(e) of the primary signal
    labels: np.ndarray  # (N,) cluster index = pseudo label (primary signal)
    centroids: np.ndarray
    inertia: float
    n_clusters: int
    signal: str = "both"
    sets: dict[str, LabelSet] = field(default_factory=dict)  # every signal, primary included
    backend: str = "sklearn"
    schedule: dict = field(default_factory=dict)
    text: dict = field(default_factory=dict)  # text_issues() counts

    def save(self, out_dir: str | os.PathLike) -> Path:
        """Write ``labels.npz`` and ``read_report.json``.

        ``labels.npz`` holds ``image_index``, ``post_id``, ``label`` (primary signal),
        ``centroids`` (primary) and ``label_<signal>`` for every label set, all aligned.
        """
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        tmp = out / ".labels.tmp.npz"
        extra = {f"label_{s}": ls.labels for s, ls in self.sets.items()}
        np.savez(
            tmp,
            image_index=self.engagement.image_index,
            label=self.labels,
            post_id=np.array(self.engagement.post_ids),
            centroids=self.centroids,
            # numpy's stub types **kwds against the allow_pickle flag; these keys are array names
            **extra,  # type: ignore[arg-type]
        )
        tmp.replace(out / "labels.npz")
        write_json(
            out / "read_report.json",
            {
                "path": self.report.path,
                "rows": self.report.n_rows,
                "kept": self.report.n_kept,
                "skipped": dict(self.report.skipped),
                "examples": self.report.examples,
                "text": self.text,
            },
        )
        return out / "labels.npz"


def _read(manifest: str | os.PathLike, cache: bool) -> tuple[Engagement, ReadReport, FittedBySetting]:
    path = Path(manifest)
    if not path.is_file():
        raise FileNotFoundError(f"engagement manifest not found: {path}")
    st = path.stat()
    key = (str(path.resolve()), st.st_size, st.st_mtime_ns)
    if cache and key in _CACHE:
        _CACHE.move_to_end(key)
        return _CACHE[key]
    eng, report = read_manifest(path)
    fitted: FittedBySetting = {}  # encoder settings -> fitted blocks
    entry = (eng, report, fitted)
    if cache:
        _CACHE[key] = entry
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    return entry


def build_pseudo_labels(
    manifest: str | os.PathLike,
    signal: str = "both",
    n_clusters: int = 16,
    svd_dim: int = 64,
    seed: int = 0,
    backend: str = "auto",
    extra_signals: Iterable[str] | None = (),
    encoder: str = "tfidf",
    encoder_model: str | None = None,
    pca_dim: int | None = None,
    cache: bool = True,
) -> PseudoLabels:
    """Read the manifest, fit φ(e) on its posts, cluster, and return the pseudo labels.

    ``signal`` gives the primary ``label``; each of ``extra_signals`` (e.g. ``["comments",
    "reactions"]``) gets its own label set with the same K. ``backend``: ``auto`` | ``sklearn``
    | ``faiss``; ``encoder``: ``tfidf`` | ``sentence-transformers`` (with a local
    ``encoder_model`` directory); ``pca_dim``: optional PCA-whitening + L2 before k-means.
    """
    eng, report, fitted_by_setting = _read(manifest, cache)
    if len(eng) < n_clusters:
        raise ValueError(f"{manifest}: {len(eng)} valid posts, fewer than n_clusters={n_clusters}")
    signals = list(dict.fromkeys([signal, *(extra_signals or [])]))
    setting = (svd_dim, seed, encoder, encoder_model)
    fitted = fitted_by_setting.setdefault(setting, {}) if cache else {}
    encoded = encode_signals(
        eng, signals, dim=svd_dim, seed=seed, encoder=encoder, encoder_model=encoder_model, fitted=fitted
    )
    sets, kms = {}, {}
    for s in signals:
        enc, phi = encoded[s]
        kms[s] = km = fit_kmeans(phi, n_clusters, seed=seed, backend=backend, pca_dim=pca_dim)
        sets[s] = LabelSet(s, enc, phi, km["labels"], km["centroids"], km["inertia"])
    p, first = sets[signal], kms[signal]  # signals[0] is the primary signal
    return PseudoLabels(
        eng,
        report,
        p.encoder,
        p.phi,
        p.labels,
        p.centroids,
        p.inertia,
        n_clusters,
        signal=signal,
        sets=sets,
        backend=first["backend"],
        schedule=first["schedule"],
        text=text_issues(eng),
    )


def load_labels(labels_dir: str | os.PathLike) -> dict[str, np.ndarray]:
    """The saved pseudo labels: ``image_index``, ``label``, every ``label_<signal>`` and
    ``post_id`` (when present), all aligned."""
    path = Path(labels_dir) / "labels.npz"
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: run the 01_engagement_to_labels stage first")
    with np.load(path) as z:
        missing = {"image_index", "label"} - set(z.files)
        if missing:
            raise ValueError(f"{path}: missing array(s) {sorted(missing)}")
        out = {k: z[k] for k in z.files if k in ("image_index", "label", "post_id") or k.startswith("label_")}
    n = len(out["image_index"])
    for k, v in out.items():
        if v.shape != (n,):
            raise ValueError(f"{path}: {k} has shape {v.shape}, expected ({n},) like image_index")
    return out


def label_diagnostics(pl: PseudoLabels, latents: dict[str, np.ndarray] | None, seed: int = 0) -> dict:
    """Agreement (NMI, ARI) of every label set with each known latent, next to a shuffled control.

    ``latents`` maps a latent name to its value per *post image* (indexed by
    ``pl.engagement.image_index``); ``None`` for real posts, which have no known latents
    (then both maps are empty). Returns ``{"agreement": {set: {latent: {...}}},
    "shuffled_control": {set: {latent: {...}}}}``.
    """
    if not latents:
        return {"agreement": {s: {} for s in pl.sets}, "shuffled_control": {s: {} for s in pl.sets}}
    lat = {k: np.asarray(v)[pl.engagement.image_index] for k, v in latents.items()}
    return {
        "agreement": {s: agreement(ls.labels, lat) for s, ls in pl.sets.items()},
        "shuffled_control": {s: shuffled_control(ls.labels, lat, seed=seed) for s, ls in pl.sets.items()},
    }


def cluster_table(pl: PseudoLabels, latents: dict[str, np.ndarray] | None, n_terms: int = 6) -> pd.DataFrame:
    """One row per cluster of the primary label set (a DataFrame indexed by ``cluster``).

    ``size``; ``majority affect``, the cluster's most frequent hidden affect (``"-"`` for an
    empty cluster or without latents; ``latents`` as in :func:`label_diagnostics`, ``None``
    for real posts) and its ``share of majority``; and, when a label set has a TF-IDF comment
    encoder, ``top terms``: the ``n_terms`` words and word pairs with the highest mean TF-IDF in
    the cluster, English stop words (scikit-learn's list) left out.
    """
    import pandas as pd
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    k = pl.n_clusters
    names, share = ["-"] * k, [0.0] * k
    if latents:
        affect = np.asarray(latents["affect"])[pl.engagement.image_index]
        top = majority(affect, pl.labels, k)
        names = [AFFECTS[m] if m >= 0 else "-" for m in top]
        share = [round(float(np.mean(affect[pl.labels == c] == m)), 2) if m >= 0 else 0.0 for c, m in enumerate(top)]
    table = pd.DataFrame({"size": cluster_sizes(pl.labels, k), "majority affect": names, "share of majority": share})
    comments = next((ls.encoder.comments for ls in pl.sets.values() if ls.encoder.comments is not None), None)
    if comments is not None and hasattr(comments, "tfidf"):
        tfidf, vocab = comments.tfidf(pl.engagement)
        terms = top_terms(tfidf, vocab, pl.labels, k, n=n_terms, exclude=ENGLISH_STOP_WORDS)
        table["top terms"] = [", ".join(t) for t in terms]
    table.index.name = "cluster"
    return table
