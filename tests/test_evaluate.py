import warnings

import numpy as np
import pytest
import torch
from sklearn.metrics import accuracy_score, balanced_accuracy_score, confusion_matrix, f1_score

from vise_lib.evaluate import classification_metrics, extract_features, linear_probe
from vise_lib.models import build_backbone, pooled_features
from vise_lib.data import to_tensor


def _task(n, n_classes=3, dim=16, signal=1.5, seed=0):
    """Gaussian features whose first dims carry the label, plus noise dims."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, n_classes, n)
    x = rng.normal(size=(n, dim))
    x[np.arange(n), y] += signal
    return x.astype(np.float32), y


def _splits(seed=0, **kw):
    return tuple(_task(n, seed=seed + i, **kw) for i, n in enumerate((150, 60, 90)))


def test_extract_features_matches_pooled_eval_forward():
    torch.manual_seed(0)
    bb = build_backbone("small_resnet", width=4)
    bb.train()
    images = np.random.default_rng(0).integers(0, 256, (7, 16, 16, 3), dtype=np.uint8)
    feats = extract_features(bb, images, batch_size=3)
    assert feats.shape == (7, 32) and feats.dtype == np.float32
    assert bb.training  # mode restored
    bb.eval()
    with torch.no_grad():
        ref = pooled_features(bb, to_tensor(images)).numpy()
    np.testing.assert_allclose(feats, ref, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError):
        extract_features(bb, images, batch_size=0)


def test_probe_uses_the_signal():
    train, val, test = _splits()
    real = linear_probe(train, val, test)
    rng = np.random.default_rng(1)
    shuffled = tuple((rng.permutation(x), y) for x, y in (train, val, test))
    fake = linear_probe(*shuffled)
    assert real["test"]["top1"] > 0.7 > fake["test"]["top1"] + 0.2
    assert set(real["val_acc"]) == {1e-3, 1e-2, 1e-1, 1.0, 10.0}
    assert real["best_C"] in real["val_acc"]
    assert real["val_acc"][real["best_C"]] == max(real["val_acc"].values())
    assert len(real["test"]["confusion"]) == 3


def test_C_is_chosen_on_validation_only():
    train, val, (xte, yte) = _splits()
    base = linear_probe(train, val, (xte, yte), seed=0)
    perm = np.random.default_rng(5).permutation(yte)
    permuted = linear_probe(train, val, (xte, perm), seed=0)
    assert permuted["best_C"] == base["best_C"] and permuted["val_acc"] == base["val_acc"]
    assert permuted["test"]["top1"] != base["test"]["top1"]
    other = linear_probe(train, val, _task(90, seed=99), seed=0)
    assert other["best_C"] == base["best_C"]


def test_ties_go_to_the_smaller_C():
    # perfectly separable data: every C gets val accuracy 1.0
    train, val, test = _splits(signal=20.0)
    res = linear_probe(train, val, test, Cs=(10, 0.1, 1))
    assert set(res["val_acc"].values()) == {1.0}
    assert res["best_C"] == 0.1


def test_probe_bad_arguments():
    train, val, test = _splits()
    with pytest.raises(ValueError, match="Cs"):
        linear_probe(train, val, test, Cs=())
    with pytest.raises(ValueError, match="Cs"):
        linear_probe(train, val, test, Cs=(0.0, 1.0))
    with pytest.raises(ValueError, match="feature dims"):
        linear_probe(train, (val[0][:, :5], val[1]), test)
    with pytest.raises(ValueError, match="val"):
        linear_probe(train, (val[0], val[1][:3]), test)
    with pytest.raises(ValueError, match="NaN"):
        linear_probe((np.full_like(train[0], np.nan), train[1]), val, test)


@pytest.mark.parametrize("seed", range(4))
def test_metrics_match_sklearn(seed):
    rng = np.random.default_rng(seed)
    n_classes = 5
    y_true = rng.integers(0, 4, 50)  # class 4 never true
    y_pred = np.where(rng.random(50) < 0.5, y_true, rng.integers(0, n_classes, 50))
    m = classification_metrics(y_true, y_pred, n_classes)
    assert m["top1"] == pytest.approx(accuracy_score(y_true, y_pred))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # sklearn warns that class 4 is predicted but never true
        bal = balanced_accuracy_score(y_true, y_pred)
    assert m["mean_per_class_acc"] == pytest.approx(bal)
    assert m["macro_f1"] == pytest.approx(f1_score(y_true, y_pred, average="macro"))
    assert m["confusion"] == confusion_matrix(y_true, y_pred, labels=range(n_classes)).tolist()


def test_metrics_bad_arguments():
    with pytest.raises(ValueError, match="y_pred"):
        classification_metrics(np.array([0, 1]), np.array([0, 3]), 3)
    with pytest.raises(ValueError, match="equal length"):
        classification_metrics(np.array([0, 1]), np.array([0]), 3)
