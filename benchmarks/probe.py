"""Benchmark: the cached, warm-started C sweep against re-extracting features for each C.

One backbone (a randomly initialised ``small_resnet``, width 16, saved as a checkpoint) and
the world's ``emotion`` task at 32 px (1,000 / 500 / 1,000 train / val / test images). Both
contenders run the same protocol: standardize, L-BFGS logistic regression for each C in
``1e-3 … 10``, choose C on validation, refit on train+val, score on test.

* naive: for every C, load the checkpoint, extract train and val features, fit from scratch;
  then extract train, val and test again for the refit;
* cached: features read from the on-disk feature cache (filled beforehand, not timed), one
  sweep with each fit warm-started from the previous C (:func:`vise_lib.transfer.probes.linear_probe`).

The first (cold-cache) extraction is timed separately and printed for reference. Ends with:

    BENCH probe cached_seconds=… naive_seconds=… speedup=… same_c=… same_top1=… cached_top1=… naive_top1=… cold_extract_seconds=…
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sklearn.preprocessing import StandardScaler

from vise_lib.backbones.archs import build_backbone
from vise_lib.backbones.checkpoint import load_backbone, save_backbone
from vise_lib.transfer.features import FeatureCache, cached_features, extract_features
from vise_lib.transfer.probes import DEFAULT_CS, classification_metrics, fit_probe, linear_probe
from vise_lib.world.generate import WorldConfig, generate_world, load_downstream

MODEL = {"arch": "small_resnet", "width": 16, "blocks": 1}
SPLITS = ("train", "val", "test")


def naive(ckpt, data, seed=0):
    """Re-extract features for every C; cold fits; the same choice rule (ties -> smaller C)."""

    def feats(split):
        return extract_features(load_backbone(ckpt, **MODEL), data[split]["images"])

    val_acc = {}
    for c in sorted(DEFAULT_CS):
        xtr, xva = feats("train"), feats("val")
        scaler = StandardScaler().fit(xtr)
        clf, _ = fit_probe(scaler.transform(xtr), data["train"]["emotion"], c, seed, 1000)
        val_acc[c] = float(np.mean(clf.predict(scaler.transform(xva)) == data["val"]["emotion"]))
    best = max(val_acc, key=lambda c: (val_acc[c], -c))
    xall = np.concatenate([feats("train"), feats("val")]).astype(np.float64)
    yall = np.concatenate([data["train"]["emotion"], data["val"]["emotion"]])
    scaler = StandardScaler().fit(xall)
    clf, _ = fit_probe(scaler.transform(xall), yall, best, seed, 1000)
    pred = clf.predict(scaler.transform(feats("test").astype(np.float64)))
    return best, classification_metrics(data["test"]["emotion"], pred, 6)["top1"]


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="vise-bench-probe-") as tmp:
        tmp = Path(tmp)
        world = generate_world(
            WorldConfig(seed=0, n_posts=200, image_px=32, n_train=1000, n_val=500, n_test=1000), tmp / "world"
        )
        data = {s: load_downstream(world, s) for s in SPLITS}
        torch.manual_seed(0)
        ckpt = save_backbone(build_backbone(**MODEL), tmp / "backbone.pt")

        t0 = time.perf_counter()
        warm = FeatureCache(tmp / "features")
        for s in SPLITS:
            cached_features(warm, lambda: load_backbone(ckpt, **MODEL), ckpt, data[s]["images"], MODEL)
        cold_extract = time.perf_counter() - t0

        t0 = time.perf_counter()
        cache = FeatureCache(tmp / "features")  # a fresh object: every lookup is a disk hit
        f = {
            s: cached_features(cache, lambda: load_backbone(ckpt, **MODEL), ckpt, data[s]["images"], MODEL)
            for s in SPLITS
        }
        res = linear_probe(*((f[s], data[s]["emotion"]) for s in SPLITS), seed=0)
        cached_seconds = time.perf_counter() - t0
        assert cache.stats["misses"] == 0, cache.stats

        t0 = time.perf_counter()
        naive_c, naive_top1 = naive(ckpt, data)
        naive_seconds = time.perf_counter() - t0

    cached_top1 = res["test"]["top1"]
    print(
        f"cached sweep: C={res['best_C']:g} test top1={cached_top1:.4f} in {cached_seconds:.2f} s "
        f"(L-BFGS iterations per C: {res['n_iter']})"
    )
    print(f"naive sweep:  C={naive_c:g} test top1={naive_top1:.4f} in {naive_seconds:.2f} s")
    print(f"cold-cache feature extraction (train+val+test, once): {cold_extract:.2f} s")
    print(
        f"BENCH probe cached_seconds={cached_seconds:.3f} naive_seconds={naive_seconds:.3f} "
        f"speedup={naive_seconds / cached_seconds:.1f} same_c={res['best_C'] == naive_c} "
        f"same_top1={cached_top1 == naive_top1} "
        f"cached_top1={cached_top1:.4f} naive_top1={naive_top1:.4f} cold_extract_seconds={cold_extract:.3f}"
    )


if __name__ == "__main__":
    main()
