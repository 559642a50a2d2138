"""Frozen-feature evaluation: feature extraction, linear probe, classification metrics.

Protocol (ours): pooled trunk features, standardized on the training split; L2-regularized
multinomial logistic regression (L-BFGS); ``C`` chosen by validation accuracy only (ties go to
the smaller ``C``); refit on train+val with that ``C``; scored once on test.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import torch
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler
from torch import nn

from .data import check_images, to_tensor
from .models import pooled_features


def extract_features(backbone: nn.Module, images: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """Pooled trunk features ``(N, C)`` float32 for uint8 images ``(N, H, W, 3)``.

    Runs in eval mode under ``torch.no_grad()`` with no augmentation, on the device of the
    backbone's parameters; the backbone's train/eval mode is restored afterwards.
    """
    check_images(images)
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
    param = next(backbone.parameters(), None)
    device = param.device if param is not None else torch.device("cpu")
    was_training = backbone.training
    backbone.eval()
    chunks = []
    try:
        with torch.no_grad():
            for start in range(0, len(images), batch_size):
                x = to_tensor(images[start:start + batch_size]).to(device)
                chunks.append(pooled_features(backbone, x).float().cpu().numpy())
    finally:
        backbone.train(was_training)
    if not chunks:
        raise ValueError("images is empty")
    return np.concatenate(chunks).astype(np.float32, copy=False)


def _check_split(name: str, split) -> tuple[np.ndarray, np.ndarray]:
    if not isinstance(split, (tuple, list)) or len(split) != 2:
        raise ValueError(f"{name} must be a (features, labels) pair")
    x, y = np.asarray(split[0]), np.asarray(split[1])
    if x.ndim != 2 or y.ndim != 1 or len(x) != len(y) or len(x) == 0:
        raise ValueError(f"{name}: need features (N, C) and labels (N,) with N > 0, got {x.shape} and {y.shape}")
    if not np.issubdtype(y.dtype, np.integer) or y.min() < 0:
        raise ValueError(f"{name}: labels must be non-negative ints")
    if not np.isfinite(x).all():
        raise ValueError(f"{name}: features contain NaN or inf")
    return x.astype(np.float64), y.astype(np.int64)


def _fit(x, y, C, seed, max_iter, clf=None):
    """Fit a logistic regression, warm-started from ``clf`` if given; returns (model, converged)."""
    if clf is None:
        clf = LogisticRegression(C=C, solver="lbfgs", max_iter=max_iter, random_state=seed)
    else:
        clf.set_params(C=C, warm_start=True)  # lbfgs starts from the previous C's solution
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        clf.fit(x, y)
    return clf, not any(issubclass(w.category, ConvergenceWarning) for w in caught)


def linear_probe(train, val, test, Cs: Sequence[float] = (1e-3, 1e-2, 1e-1, 1, 10), seed: int = 0,
                 max_iter: int = 1000) -> dict:
    """Linear probe: choose ``C`` on ``val``, refit on train+val, score on ``test``.

    Args:
        train, val, test: ``(features (N, C), labels (N,))`` pairs; labels are ints >= 0.
        Cs: inverse regularization strengths to sweep (swept in increasing order, each fit
            warm-started from the previous one).
        seed: ``random_state`` of the logistic regressions.
        max_iter: L-BFGS iteration cap per fit.

    The test split never influences the choice of ``C``. Returns ``{"best_C", "val_acc":
    {C: accuracy}, "test": classification_metrics(...), "converged": {C: bool},
    "refit_converged": bool, "n_classes": int}``.
    """
    xtr, ytr = _check_split("train", train)
    xva, yva = _check_split("val", val)
    xte, yte = _check_split("test", test)
    if not (xtr.shape[1] == xva.shape[1] == xte.shape[1]):
        raise ValueError(f"feature dims differ: train {xtr.shape[1]}, val {xva.shape[1]}, test {xte.shape[1]}")
    Cs = sorted(float(c) for c in Cs)
    if not Cs or any(not np.isfinite(c) or c <= 0 for c in Cs):
        raise ValueError(f"Cs must be a non-empty sequence of positive numbers, got {Cs}")
    if len(np.unique(ytr)) < 2:
        raise ValueError("train split needs at least 2 classes")
    scaler = StandardScaler().fit(xtr)
    ztr, zva = scaler.transform(xtr), scaler.transform(xva)
    val_acc, converged, clf = {}, {}, None
    for c in Cs:
        clf, ok = _fit(ztr, ytr, c, seed, max_iter, clf)
        val_acc[c] = float(np.mean(clf.predict(zva) == yva))
        converged[c] = ok
    best = max(Cs, key=lambda c: (val_acc[c], -c))  # highest accuracy, ties -> smaller C
    xall, yall = np.concatenate([xtr, xva]), np.concatenate([ytr, yva])
    scaler_all = StandardScaler().fit(xall)
    final, refit_ok = _fit(scaler_all.transform(xall), yall, best, seed, max_iter)
    pred = final.predict(scaler_all.transform(xte))
    n_classes = int(max(yall.max(), yte.max(), pred.max())) + 1
    return {"best_C": best, "val_acc": val_acc, "test": classification_metrics(yte, pred, n_classes),
            "converged": converged, "refit_converged": refit_ok, "n_classes": n_classes}


def classification_metrics(y_true, y_pred, n_classes: int) -> dict:
    """Top-1 accuracy, mean per-class accuracy, macro F1 and the confusion matrix.

    Conventions match scikit-learn: ``mean_per_class_acc`` = ``balanced_accuracy_score``
    (mean recall over classes present in ``y_true``); ``macro_f1`` = ``f1_score(average=
    "macro")`` (over classes present in ``y_true`` or ``y_pred``); ``confusion[i][j]`` counts
    true class ``i`` predicted as ``j`` for ``i, j`` in ``range(n_classes)``.
    """
    yt, yp = np.asarray(y_true), np.asarray(y_pred)
    if yt.ndim != 1 or yt.shape != yp.shape or len(yt) == 0:
        raise ValueError(f"y_true and y_pred must be non-empty 1-D arrays of equal length, got {yt.shape}, {yp.shape}")
    if isinstance(n_classes, bool) or not isinstance(n_classes, (int, np.integer)) or n_classes < 1:
        raise ValueError(f"n_classes must be a positive int, got {n_classes!r}")
    for name, y in (("y_true", yt), ("y_pred", yp)):
        if not np.issubdtype(y.dtype, np.integer) or y.min() < 0 or y.max() >= n_classes:
            raise ValueError(f"{name} must hold ints in [0, {n_classes}), got range [{y.min()}, {y.max()}]")
    cm = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(cm, (yt, yp), 1)
    tp = np.diag(cm).astype(np.float64)
    support, predicted = cm.sum(1), cm.sum(0)
    present = support > 0
    f1_classes = (support + predicted) > 0
    f1 = 2 * tp[f1_classes] / (support + predicted)[f1_classes]
    return {
        "top1": float(tp.sum() / len(yt)),
        "mean_per_class_acc": float(np.mean(tp[present] / support[present])),
        "macro_f1": float(np.mean(f1)),
        "confusion": cm.tolist(),
    }
