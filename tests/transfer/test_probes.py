import warnings

import numpy as np
import pytest
import torch
from sklearn.metrics import accuracy_score, balanced_accuracy_score, confusion_matrix, f1_score

from vise_lib.backbones.archs import build_backbone, pooled_features
from vise_lib.backbones.tensors import to_tensor
from vise_lib.transfer.features import extract_features
from vise_lib.transfer.probes import classification_metrics, linear_probe


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


# --- warm-started sweep, multi-label probe, mAP ------------------------------------------


def test_warm_started_sweep_matches_cold_fits():
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    train, val, test = _splits()
    res = linear_probe(train, val, test)
    scaler = StandardScaler().fit(train[0])
    for c, acc in res["val_acc"].items():
        cold = LogisticRegression(C=c, max_iter=1000).fit(scaler.transform(train[0]), train[1])
        assert abs(np.mean(cold.predict(scaler.transform(val[0])) == val[1]) - acc) <= 1 / len(val[1]) + 1e-9
    assert all(res["converged"].values()) and res["refit_converged"]
    assert set(res["n_iter"]) == set(res["val_acc"])


def _ml_task(n, k=4, dim=12, seed=0, signal=2.0):
    rng = np.random.default_rng(seed)
    Y = (rng.random((n, k)) < 0.3).astype(np.int64)
    Y[np.arange(n), rng.integers(0, k, n)] = 1  # every row has a label
    x = rng.normal(size=(n, dim))
    x[:, :k] += signal * Y
    return x.astype(np.float32), Y


def test_multilabel_probe_uses_the_signal_and_picks_on_val():

    train, val, test = (_ml_task(n, seed=s) for s, n in enumerate((200, 80, 120)))
    real = linear_probe(train, val, test)
    rng = np.random.default_rng(3)
    fake = linear_probe(*((rng.permutation(x), y) for x, y in (train, val, test)))
    assert real["test"]["mAP"] > 0.8 > fake["test"]["mAP"] + 0.2
    assert real["best_C"] == max(real["val_mAP"], key=lambda c: (real["val_mAP"][c], -c))
    assert len(real["thresholds"]) == 4 and len(real["test"]["confusion"]) == 4
    # permuting the test labels changes the score but never the choice of C or thresholds
    other = linear_probe(train, val, (test[0], np.random.default_rng(0).permutation(test[1])))
    assert other["best_C"] == real["best_C"] and other["thresholds"] == real["thresholds"]
    # a class with no positives in train is a constant, reported column
    ytr = train[1].copy()
    ytr[:, 3] = 0
    res = linear_probe((train[0], ytr), val, test)
    assert res["constant_classes"] == [3]
    with pytest.raises(ValueError, match="0/1"):
        linear_probe((train[0], train[1] * 2), val, test)
    # multi-label train with single-label val: named, not a deep traceback
    with pytest.raises(ValueError, match=r"val: need features \(N, C\) and \(N, K\) 0/1 labels"):
        linear_probe(train, (val[0], val[1].argmax(1)), test)


@pytest.mark.parametrize("seed", range(3))
def test_average_precision_and_multilabel_metrics_match_sklearn(seed):
    from sklearn.metrics import average_precision_score, multilabel_confusion_matrix

    from vise_lib.transfer.probes import average_precision, multilabel_metrics

    rng = np.random.default_rng(seed)
    Y = (rng.random((60, 5)) < 0.3).astype(int)
    Y[:, 4] = 0  # a class without positives is left out of mAP
    S = np.round(rng.random((60, 5)) + 0.5 * Y, 1)  # rounding makes ties
    for k in range(4):
        assert average_precision(Y[:, k], S[:, k]) == pytest.approx(average_precision_score(Y[:, k], S[:, k]))
    assert np.isnan(average_precision(Y[:, 4], S[:, 4]))
    th = np.full(5, 0.8)
    m = multilabel_metrics(Y, S, th)
    P = (th <= S).astype(int)
    assert m["mAP"] == pytest.approx(np.mean([average_precision_score(Y[:, k], S[:, k]) for k in range(4)]))
    used = (P + Y).sum(0) > 0  # macro over classes with positives or predictions, as sklearn
    assert m["macro_f1"] == pytest.approx(f1_score(Y[:, used], P[:, used], average="macro"))
    assert m["micro_f1"] == pytest.approx(f1_score(Y, P, average="micro"))
    assert m["confusion"] == multilabel_confusion_matrix(Y, P).tolist()


# --- feature cache --------------------------------------------------------------------------


def test_feature_cache_reused_and_invalidated(tmp_path):
    from vise_lib.backbones.checkpoint import save_backbone
    from vise_lib.transfer.features import FeatureCache, cached_features

    torch.manual_seed(0)
    ckpt = save_backbone(build_backbone("small_resnet", width=4), tmp_path / "a.pt")
    images = np.random.default_rng(0).integers(0, 256, (6, 16, 16, 3), dtype=np.uint8)
    calls = []

    def load():
        calls.append(1)
        from vise_lib.backbones.checkpoint import load_backbone

        return load_backbone(ckpt, "small_resnet", width=4)

    model = {"arch": "small_resnet", "width": 4, "blocks": 1}
    cache = FeatureCache(tmp_path / "features")
    f1 = cached_features(cache, load, ckpt, images, model)
    assert len(list((tmp_path / "features").glob("*.npy"))) == 1 and len(calls) == 1
    # a new cache object (a new process) reads the file, never loads the backbone
    cache2 = FeatureCache(tmp_path / "features")
    f2 = cached_features(cache2, load, ckpt, images, model)
    np.testing.assert_array_equal(f1, f2)
    assert len(calls) == 1 and cache2.stats == {"hits": 1, "misses": 0, "invalid": 0}
    # other images, other transform (size) or other checkpoint bytes -> new entries
    cached_features(cache2, load, ckpt, images[:, :8, :8], model)
    cached_features(cache2, load, ckpt, images[::-1].copy(), model)
    torch.manual_seed(1)
    save_backbone(build_backbone("small_resnet", width=4), ckpt)  # same path, new weights
    f3 = cached_features(cache2, load, ckpt, images, model)
    assert not np.allclose(f1, f3) and len(calls) == 4
    assert len(list((tmp_path / "features").glob("*.npy"))) == 4
    # a corrupt cache file is replaced, and counted
    for p in (tmp_path / "features").glob("*.npy"):
        p.write_bytes(b"broken")
    cache3 = FeatureCache(tmp_path / "features")
    f4 = cached_features(cache3, load, ckpt, images, model)
    np.testing.assert_allclose(f3, f4)
    assert cache3.stats["invalid"] == 1 and cache3.stats["misses"] == 1
    assert not list((tmp_path / "features").glob(".*"))  # no temp files left behind
