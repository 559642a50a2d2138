"""Frozen-feature evaluation: linear probes (single- and multi-label) and their metrics.

Protocol (ours): pooled trunk features, standardized on the training split; L2-regularized
logistic regression (L-BFGS; multinomial for single-label tasks, one-vs-rest for multi-label
ones); ``C`` swept in increasing order on a log grid, each fit warm-started from the previous
``C``'s solution, and chosen by validation score only (accuracy, or mAP for multi-label; ties
go to the smaller ``C``); refit from scratch on train+val with that ``C`` (so the test score
depends on the chosen ``C`` only, not on the sweep's path); scored once on test.
Multi-label decision thresholds are chosen per class on validation (best F1) and applied
unchanged to the refit model's test scores.

The fits run with BLAS limited to one thread: on a few shared cores, multi-threaded OpenBLAS
spin-waits made each small L-BFGS fit 10-50x slower.
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Sequence

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

DEFAULT_CS = (1e-3, 1e-2, 1e-1, 1.0, 10.0)


def _check_split(name: str, split, multilabel: bool = False) -> tuple[np.ndarray, np.ndarray]:
    if not isinstance(split, (tuple, list)) or len(split) != 2:
        raise ValueError(f"{name} must be a (features, labels) pair")
    x, y = np.asarray(split[0]), np.asarray(split[1])
    want = 2 if multilabel else 1
    if x.ndim != 2 or y.ndim != want or len(x) != len(y) or len(x) == 0:
        kind = "(N, K) 0/1 labels" if multilabel else "labels (N,)"
        raise ValueError(f"{name}: need features (N, C) and {kind} with N > 0, got {x.shape} and {y.shape}")
    if multilabel:
        if not np.isin(y, (0, 1)).all():
            raise ValueError(f"{name}: multi-label targets must be 0/1")
    elif not np.issubdtype(y.dtype, np.integer) or y.min() < 0:
        raise ValueError(f"{name}: labels must be non-negative ints")
    if not np.isfinite(x).all():
        raise ValueError(f"{name}: features contain NaN or inf")
    return x.astype(np.float64), y.astype(np.int64)


def _check_inputs(train, val, test, Cs, multilabel=False):
    xtr, ytr = _check_split("train", train, multilabel)
    xva, yva = _check_split("val", val, multilabel)
    xte, yte = _check_split("test", test, multilabel)
    if not (xtr.shape[1] == xva.shape[1] == xte.shape[1]):
        raise ValueError(f"feature dims differ: train {xtr.shape[1]}, val {xva.shape[1]}, test {xte.shape[1]}")
    if multilabel and not (ytr.shape[1] == yva.shape[1] == yte.shape[1]):
        raise ValueError(f"label dims differ: train {ytr.shape[1]}, val {yva.shape[1]}, test {yte.shape[1]}")
    Cs = sorted(float(c) for c in Cs)
    if not Cs or any(not np.isfinite(c) or c <= 0 for c in Cs):
        raise ValueError(f"Cs must be a non-empty sequence of positive numbers, got {Cs}")
    return xtr, ytr, xva, yva, xte, yte, Cs


def fit_probe(x, y, C, seed, max_iter, clf=None):
    """Fit a logistic regression, warm-started from ``clf`` if given; returns (model, converged)."""
    if clf is None:
        clf = LogisticRegression(C=C, solver="lbfgs", max_iter=max_iter, random_state=seed)
    else:
        clf.set_params(C=C, warm_start=True)  # lbfgs starts from the previous solution
    with warnings.catch_warnings(record=True) as caught, threadpool_limits(1, user_api="blas"):
        warnings.simplefilter("always", ConvergenceWarning)
        clf.fit(x, y)
    return clf, not any(issubclass(w.category, ConvergenceWarning) for w in caught)


def _best(Cs, score):
    return max(Cs, key=lambda c: (score[c], -c))  # highest score, ties -> smaller C


def linear_probe(
    train: tuple[np.ndarray, np.ndarray],
    val: tuple[np.ndarray, np.ndarray],
    test: tuple[np.ndarray, np.ndarray],
    Cs: Sequence[float] = DEFAULT_CS,
    seed: int = 0,
    max_iter: int = 1000,
    return_outputs: bool = False,
) -> dict:
    """Linear probe: choose ``C`` on ``val``, refit on train+val, score on ``test``.

    Single-label when the labels are ints ``(N,)`` (a multinomial logistic regression, ``C``
    chosen by validation accuracy); multi-label when they are 0/1 ``(N, K)`` (one-vs-rest,
    ``C`` chosen by validation mAP, one ``C`` shared by all classes).

    Args:
        train, val, test: ``(features (N, C), labels)`` pairs; labels ``(N,)`` ints >= 0, or
            ``(N, K)`` of 0/1 in all three.
        Cs: inverse regularization strengths to sweep (swept in increasing order, each fit
            warm-started from the previous one).
        seed: ``random_state`` of the logistic regressions.
        max_iter: L-BFGS iteration cap per fit.
        return_outputs: also return the test predictions (see below).

    The test split never influences the choice of ``C``.

    Single-label returns ``{"best_C", "val_acc": {C: accuracy}, "test":
    classification_metrics(...), "converged": {C: bool}, "refit_converged": bool, "n_iter":
    {C: int}, "n_classes": int}``; with ``return_outputs`` also ``"test_pred"`` (N,) and
    ``"test_proba"`` (N, n_classes; zero columns for classes absent from train+val).

    Multi-label: per class, the decision threshold maximizing validation F1 (under the
    train-only model at the chosen ``C``) is kept and applied to the refit model's test scores.
    Returns ``{"best_C", "val_mAP": {C: mAP}, "thresholds", "test": multilabel_metrics(...),
    "converged", "refit_converged", "n_classes", "constant_classes"}`` (classes with a single
    value in the training split, scored by a constant); with ``return_outputs`` also
    ``"test_scores"`` (N, K).
    """
    multilabel = isinstance(train, (tuple, list)) and len(train) == 2 and np.ndim(train[1]) == 2
    xtr, ytr, xva, yva, xte, yte, Cs = _check_inputs(train, val, test, Cs, multilabel)
    fit = _one_vs_rest if multilabel else _multinomial
    return fit(xtr, ytr, xva, yva, xte, yte, Cs, seed, max_iter, return_outputs)


def _multinomial(xtr, ytr, xva, yva, xte, yte, Cs, seed, max_iter, return_outputs) -> dict:
    if len(np.unique(ytr)) < 2:
        raise ValueError("train split needs at least 2 classes")
    scaler = StandardScaler().fit(xtr)
    ztr, zva = scaler.transform(xtr), scaler.transform(xva)
    val_acc, converged, n_iter, clf = {}, {}, {}, None
    for c in Cs:
        clf, ok = fit_probe(ztr, ytr, c, seed, max_iter, clf)
        val_acc[c] = float(np.mean(clf.predict(zva) == yva))
        converged[c], n_iter[c] = ok, int(np.max(clf.n_iter_))
    best = _best(Cs, val_acc)
    xall, yall = np.concatenate([xtr, xva]), np.concatenate([ytr, yva])
    scaler_all = StandardScaler().fit(xall)
    final, refit_ok = fit_probe(scaler_all.transform(xall), yall, best, seed, max_iter)
    pred = final.predict(scaler_all.transform(xte))
    n_classes = int(max(yall.max(), yte.max(), pred.max())) + 1
    out = {
        "best_C": best,
        "val_acc": val_acc,
        "test": classification_metrics(yte, pred, n_classes),
        "converged": converged,
        "refit_converged": refit_ok,
        "n_iter": n_iter,
        "n_classes": n_classes,
    }
    if return_outputs:
        proba = np.zeros((len(xte), n_classes))
        proba[:, final.classes_] = final.predict_proba(scaler_all.transform(xte))
        out.update(test_pred=pred, test_proba=proba)
    return out


class _OneVsRest:
    """Independent binary logistic regressions, one per label column, warm-startable.

    A column with a single value in training (no positives, or all positive) gets a constant
    score equal to that value; such columns are listed in ``constant``.
    """

    def __init__(self, seed, max_iter):
        self.seed, self.max_iter, self.models, self.constant = seed, max_iter, None, {}

    def fit(self, x, Y, C):
        models = self.models or [None] * Y.shape[1]
        ok_all, iters = True, 0
        for k in range(Y.shape[1]):
            col = Y[:, k]
            if col.min() == col.max():
                self.constant[k] = float(col[0])
                models[k] = None
                continue
            self.constant.pop(k, None)
            models[k], ok = fit_probe(x, col, C, self.seed, self.max_iter, models[k])
            ok_all &= ok
            iters = max(iters, int(np.max(models[k].n_iter_)))
        self.models = models
        return ok_all, iters

    def scores(self, x):
        if self.models is None:
            raise TypeError("the probe is not fitted: call fit() first")
        out = np.empty((len(x), len(self.models)))
        for k, m in enumerate(self.models):
            out[:, k] = self.constant[k] if m is None else m.predict_proba(x)[:, 1]
        return out


def best_thresholds(Y, S):
    """Per column, the score threshold maximizing F1 on (Y, S); 0.5 where Y has no positives."""
    th = np.full(Y.shape[1], 0.5)
    for k in range(Y.shape[1]):
        y, s = Y[:, k], S[:, k]
        if y.sum() == 0:
            continue
        order = np.argsort(-s, kind="stable")
        tp = np.cumsum(y[order])
        f1 = 2 * tp / (np.arange(1, len(y) + 1) + y.sum())
        distinct = np.r_[s[order][1:] != s[order][:-1], True]  # cut only between distinct scores
        f1 = np.where(distinct, f1, -1)
        th[k] = s[order][int(np.argmax(f1))]
    return th


def _one_vs_rest(xtr, ytr, xva, yva, xte, yte, Cs, seed, max_iter, return_outputs) -> dict:
    scaler = StandardScaler().fit(xtr)
    ztr, zva = scaler.transform(xtr), scaler.transform(xva)
    ovr, val_map, converged, models = _OneVsRest(seed, max_iter), {}, {}, {}
    for c in Cs:
        converged[c] = ovr.fit(ztr, ytr, c)[0]
        val_map[c] = mean_average_precision(yva, ovr.scores(zva))
        models[c] = copy.deepcopy(ovr)
    best = _best(Cs, val_map)
    thresholds = best_thresholds(yva, models[best].scores(zva))
    constant = sorted(models[best].constant)
    xall, yall = np.concatenate([xtr, xva]), np.concatenate([ytr, yva])
    scaler_all = StandardScaler().fit(xall)
    final = _OneVsRest(seed, max_iter)
    refit_ok = final.fit(scaler_all.transform(xall), yall, best)[0]
    scores = final.scores(scaler_all.transform(xte))
    out = {
        "best_C": best,
        "val_mAP": val_map,
        "thresholds": thresholds.tolist(),
        "test": multilabel_metrics(yte, scores, thresholds),
        "converged": converged,
        "refit_converged": refit_ok,
        "n_classes": int(yte.shape[1]),
        "constant_classes": constant,
    }
    if return_outputs:
        out["test_scores"] = scores
    return out


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


def average_precision(y_true, scores) -> float:
    """Average precision of one binary column (scikit-learn's ``average_precision_score``).

    ``sum_n (R_n - R_{n-1}) P_n`` over distinct score thresholds, ties grouped; ``nan`` when
    ``y_true`` has no positives.
    """
    y, s = np.asarray(y_true).astype(np.int64), np.asarray(scores, dtype=np.float64)
    if y.ndim != 1 or y.shape != s.shape:
        raise ValueError(f"y_true and scores must be 1-D of equal length, got {y.shape}, {s.shape}")
    n_pos = int(y.sum())
    if n_pos == 0:
        return float("nan")
    order = np.argsort(-s, kind="mergesort")
    s, y = s[order], y[order]
    last = np.r_[np.nonzero(s[1:] != s[:-1])[0], len(s) - 1]  # end of each tie group
    tp = np.cumsum(y)[last]
    precision = tp / (last + 1)
    recall = tp / n_pos
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


def mean_average_precision(Y, S) -> float:
    """Mean of :func:`average_precision` over the columns of ``Y`` that have positives."""
    aps = [average_precision(Y[:, k], S[:, k]) for k in range(Y.shape[1]) if Y[:, k].any()]
    if not aps:
        raise ValueError("no column of the labels has a positive: mAP is undefined")
    return float(np.mean(aps))


def multilabel_metrics(Y_true, scores, thresholds) -> dict:
    """Multi-label metrics from 0/1 targets ``(N, K)``, scores ``(N, K)`` and per-class thresholds.

    ``mAP``: mean average precision over classes with test positives; ``macro_f1`` /
    ``micro_f1``: F1 of ``scores >= thresholds`` (macro over classes with test positives or
    predictions; scikit-learn's multi-label macro would add a 0 for each other class);
    ``top1``: share of samples with a label whose top-scored class is one of them;
    ``mean_per_class_acc``: mean recall over classes with positives;
    ``confusion``: per class ``[[tn, fp], [fn, tp]]``.
    """
    Y, S = np.asarray(Y_true).astype(np.int64), np.asarray(scores, dtype=np.float64)
    th = np.asarray(thresholds, dtype=np.float64)
    if Y.ndim != 2 or Y.shape != S.shape or th.shape != (Y.shape[1],) or len(Y) == 0:
        raise ValueError(f"need Y_true and scores (N, K) and thresholds (K,), got {Y.shape}, {S.shape}, {th.shape}")
    P = (th <= S).astype(np.int64)
    tp, fp, fn = (P & Y).sum(0), (P & (1 - Y)).sum(0), ((1 - P) & Y).sum(0)
    tn = len(Y) - tp - fp - fn
    denom = 2 * tp + fp + fn
    has = Y.sum(1) > 0
    top = S.argmax(1)
    return {
        "mAP": mean_average_precision(Y, S),
        "macro_f1": float(np.mean(2 * tp[denom > 0] / denom[denom > 0])) if (denom > 0).any() else 0.0,
        "micro_f1": float(2 * tp.sum() / max(denom.sum(), 1)),
        "top1": float(np.mean(Y[np.arange(len(Y)), top][has])) if has.any() else float("nan"),
        "mean_per_class_acc": float(np.mean(tp[Y.sum(0) > 0] / Y.sum(0)[Y.sum(0) > 0])),
        "confusion": np.stack([np.stack([tn, fp], 1), np.stack([fn, tp], 1)], 1).tolist(),
    }
