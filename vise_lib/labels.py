"""The pseudo-label stage: engagement manifest -> φ(e) -> k-means -> one label per post."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .clustering import kmeans
from .engagement import Engagement, ReadReport, read_manifest
from .io import write_json
from .signals import SignalEncoder


@dataclass
class PseudoLabels:
    """Everything the stage computed, for diagnostics and for saving."""

    engagement: Engagement
    report: ReadReport
    encoder: SignalEncoder
    phi: np.ndarray           # (N, d) φ(e)
    labels: np.ndarray        # (N,) cluster index = pseudo label
    centroids: np.ndarray
    inertia: float
    n_clusters: int

    def save(self, out_dir) -> Path:
        """Write ``labels.npz`` (image_index, label, post_id) and ``read_report.json``."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        tmp = out / ".labels.tmp.npz"
        np.savez(tmp, image_index=self.engagement.image_index, label=self.labels,
                 post_id=np.array(self.engagement.post_ids), centroids=self.centroids)
        tmp.replace(out / "labels.npz")
        write_json(out / "read_report.json", {
            "path": self.report.path, "rows": self.report.n_rows, "kept": self.report.n_kept,
            "skipped": dict(self.report.skipped), "examples": self.report.examples})
        return out / "labels.npz"


def build_pseudo_labels(manifest, signal: str = "both", n_clusters: int = 16, svd_dim: int = 64,
                        seed: int = 0, backend: str = "sklearn") -> PseudoLabels:
    """Read the manifest, fit φ(e) on its posts, cluster, and return the pseudo labels."""
    eng, report = read_manifest(manifest)
    if len(eng) < n_clusters:
        raise ValueError(f"{manifest}: {len(eng)} valid posts, fewer than n_clusters={n_clusters}")
    enc = SignalEncoder(signal, dim=svd_dim, seed=seed).fit(eng)
    phi = enc.transform(eng)
    km = kmeans(phi, n_clusters, seed=seed, backend=backend)
    return PseudoLabels(eng, report, enc, phi, km["labels"], km["centroids"], km["inertia"], n_clusters)


def load_labels(labels_dir) -> dict[str, np.ndarray]:
    """The saved pseudo labels: ``image_index`` and ``label`` arrays (aligned)."""
    path = Path(labels_dir) / "labels.npz"
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: run the 01_engagement_to_labels stage first")
    with np.load(path) as z:
        return {k: z[k] for k in ("image_index", "label")}
