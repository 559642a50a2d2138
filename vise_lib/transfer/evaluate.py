"""The real-data transfer study: every backbone on every dataset, linear probe over seeds, plain files out.

For each dataset (read by :mod:`vise_lib.transfer.datasets`, decoded and split by
:mod:`vise_lib.transfer.decode`) and each backbone (resolved by :mod:`vise_lib.transfer.specs`):
frozen pooled features (cached on disk), then for each probe seed a linear probe
(:func:`~vise_lib.transfer.probes.linear_probe`, one-vs-rest for a multi-label dataset) trained
on a seeded stratified 80 % subsample of train
(:func:`~vise_lib.transfer.splits.stratified_subsample`, as in the world study), ``C`` chosen on
val, scored on test. Written under ``results_dir``:

* ``downstream/scores.csv`` (:mod:`vise_lib.verdicts.results`): ``backbone, task, pretrain_seed,
  probe_seed, top1`` (``pretrain_seed`` is 0: one checkpoint per backbone), plus one row per task
  for the pseudo-backbones ``majority`` (always the most frequent training class) and ``chance``
  (a uniform guess: 100/K; for multi-label tasks the expected hit rate of a random class);
* ``downstream/correct.npz``: per-image correctness behind every row (``majority`` included);
* ``downstream/results.json``: everything else (per-class precision / recall / F1, confusion
  matrices, multi-label mAP and micro / macro F1, Emotion6's valence / arousal R² and vote KL,
  the datasets' skips, the backbones' resolved specs);
* ``summary/claims.json``: every backbone against the reference on every dataset, by the paired
  bootstrap and verdict rule of :mod:`vise_lib.verdicts.statistics`.

Emotion6 extras (ours): valence and arousal are regressed from the same features (ridge, alpha
chosen on val, refit on train+val, R² on test); the vote KL is KL(votes ‖ probe probabilities)
over the six emotions (votes renormalized without "neutral"), averaged over test images with
votes, next to the KL of the training set's mean vote distribution as a baseline.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from vise_lib.backbones.checkpoint import load_backbone
from vise_lib.io import write_json
from vise_lib.transfer.config import TransferConfig
from vise_lib.transfer.datasets import GROUPS, load_dataset
from vise_lib.transfer.datasets.base import SPLITS
from vise_lib.transfer.datasets.emotion6 import EMOTION6
from vise_lib.transfer.decode import decode_dataset
from vise_lib.transfer.features import FeatureCache, cached_features
from vise_lib.transfer.probes import linear_probe, mean_average_precision
from vise_lib.transfer.specs import resolve_spec
from vise_lib.transfer.splits import stratified_subsample
from vise_lib.verdicts.results import compare, write_claims, write_correct, write_scores
from vise_lib.verdicts.statistics import Rule

STAGE = "20_transfer"  # the stage whose files these are (also what `vise evaluate` writes)

PSEUDO = ("majority", "chance")


def results_dir(cfg: TransferConfig, run_dir) -> Path:
    """Where the study's files go: ``cfg.results_dir`` or the run folder."""
    return Path(cfg.results_dir or run_dir).resolve()


def default_reference(backbones: dict) -> str:
    """The ImageNet backbone (a ``torchvision:*IMAGENET*`` spec, else a name containing
    "imagenet"), or the first backbone when there is none."""
    for name, b in backbones.items():
        if b["spec"].startswith("torchvision:") and "IMAGENET" in b["spec"].upper():
            return name
    for name in backbones:
        if "imagenet" in name.lower():
            return name
    return next(iter(backbones))


def claim_text(name: str, reference: str, task: str, group: str) -> str:
    """The claim's wording from the dataset's group: the paper's question on a subjective set
    ("beats"), ours on an object set ("is competitive with"), neutral ("compared with") when
    the user did not state the group of a generic ImageFolder / CSV set."""
    if group == "subjective":
        return f"{name} beats {reference} on {task}"
    if group == "object":
        return f"{name} is competitive with {reference} on {task}"
    return f"{name} compared with {reference} on {task} (group unstated: give --group NAME=subjective|object)"


def per_class(confusion) -> list[dict]:
    """Precision, recall, F1 and support per class from a confusion matrix (rows: true)."""
    cm = np.asarray(confusion, dtype=np.float64)
    tp, support, predicted = np.diag(cm), cm.sum(1), cm.sum(0)
    out = []
    for k in range(len(cm)):
        p = tp[k] / predicted[k] if predicted[k] else 0.0
        r = tp[k] / support[k] if support[k] else float("nan")
        f = 2 * tp[k] / (support[k] + predicted[k]) if support[k] + predicted[k] else 0.0
        out.append({"precision": float(p), "recall": float(r), "f1": float(f), "support": int(support[k])})
    return out


def _ridge_r2(feats: dict, target: dict, alphas=(0.1, 1.0, 10.0, 100.0, 1000.0)) -> float:
    """R² on test of a ridge regression (standardized features, alpha by val R², refit on train+val)."""
    from sklearn.linear_model import Ridge
    from sklearn.metrics import r2_score
    from sklearn.preprocessing import StandardScaler

    ok = {s: np.isfinite(target[s]) for s in SPLITS}
    if min(int(ok[s].sum()) for s in SPLITS) < 2:
        return float("nan")
    x = {s: feats[s][ok[s]] for s in SPLITS}
    y = {s: target[s][ok[s]] for s in SPLITS}
    sc = StandardScaler().fit(x["train"])
    score = {
        a: r2_score(y["val"], Ridge(alpha=a).fit(sc.transform(x["train"]), y["train"]).predict(sc.transform(x["val"])))
        for a in alphas
    }
    best = max(alphas, key=lambda a: (score[a], a))
    xa, ya = np.concatenate([x["train"], x["val"]]), np.concatenate([y["train"], y["val"]])
    sc = StandardScaler().fit(xa)
    return float(r2_score(y["test"], Ridge(alpha=best).fit(sc.transform(xa), ya).predict(sc.transform(x["test"]))))


def _vote_kl(votes_test, proba, classes, votes_train) -> tuple[float, float]:
    """Mean KL(votes ‖ probe) and KL(votes ‖ mean training votes) over test images with votes."""
    cols = [EMOTION6.index(c) for c in classes]
    v = votes_test[:, cols]
    keep = np.isfinite(v).all(1) & (v.sum(1) > 0)
    vt = votes_train[:, cols]
    vt = vt[np.isfinite(vt).all(1) & (vt.sum(1) > 0)]
    if not keep.any() or not len(vt):
        return float("nan"), float("nan")
    eps = 1e-6
    p = v[keep] / v[keep].sum(1, keepdims=True)
    q = np.clip(proba[keep], eps, 1)
    q = q / q.sum(1, keepdims=True)
    prior = (vt / vt.sum(1, keepdims=True)).mean(0)
    kl = lambda a, b: float(np.mean(np.sum(np.where(a > 0, a * np.log(np.clip(a, eps, 1) / b), 0.0), 1)))  # noqa: E731
    return kl(p, q), kl(p, np.clip(prior, eps, 1)[None, :])


def _baselines(task: str, y_train, y_test, multilabel: bool):
    """Score rows and per-image correctness of the pseudo-backbones ``majority`` and ``chance``."""
    if multilabel:
        has = y_test.sum(1) > 0
        top = int(np.argmax(y_train.sum(0)))
        correct = y_test[has, top].astype(bool)
        chance = float(np.mean(y_test[has].sum(1) / y_test.shape[1]))
        prevalence = mean_average_precision(y_test, np.tile(y_train.mean(0), (len(y_test), 1)))
        info = {"majority_class": top, "majority_mAP": 100 * prevalence, "chance_mAP": 100 * prevalence}
    else:
        top = int(np.bincount(y_train).argmax())
        correct = y_test == top
        chance = 1.0 / (int(max(y_train.max(), y_test.max())) + 1)
        info = {"majority_class": top}
    rows = [
        {"backbone": "majority", "task": task, "pretrain_seed": 0, "probe_seed": 0, "top1": 100 * correct.mean()},
        {"backbone": "chance", "task": task, "pretrain_seed": 0, "probe_seed": 0, "top1": 100 * chance},
    ]
    return rows, correct, info | {"majority": 100 * float(correct.mean()), "chance": 100 * chance}


def evaluate(cfg: TransferConfig, run_dir, echo=print) -> dict:
    """Run the study of ``cfg`` and write its files (see the module docstring); returns results.json's dict."""
    out = results_dir(cfg, run_dir)
    if not cfg.backbones or not cfg.datasets:
        raise ValueError(
            "transfer: name at least one backbone and one dataset "
            "(vise evaluate --backbone NAME=SPEC --dataset NAME=PATH[:FORMAT])"
        )
    backbones = {n: resolve_spec(n, s, out, cfg.allow_download) for n, s in cfg.backbones.items()}
    clash = sorted(set(backbones) & set(PSEUDO))
    if clash:
        raise ValueError(f"backbone names {clash} are reserved for the baselines")
    reference = cfg.reference or default_reference(backbones)
    if reference not in backbones:
        raise ValueError(f"reference {reference!r} is not one of the backbones {list(backbones)}")
    for b in backbones.values():
        echo(
            f"backbone {b['name']}: {b['spec']} -> {b['arch']}"
            + (f" (width {b['width']}, blocks {b['blocks']})" if b["arch"] == "small_resnet" else "")
            + f", {b['source']}"
        )
    data, decoded = read_datasets(cfg, echo)
    cache, threads = FeatureCache(out / "features"), torch.get_num_threads()
    scores: list[dict] = []
    correct: dict = {}
    runs: list[dict] = []
    baselines: dict = {}
    try:
        if cfg.num_threads:
            torch.set_num_threads(cfg.num_threads)
        for task, dec in decoded.items():
            task_runs, baselines[task] = probe_dataset(cfg, task, dec, backbones, cache, scores, correct)
            runs += task_runs
    finally:
        torch.set_num_threads(threads)
    claims = []
    for task in decoded:
        group = data[task]["group"]
        for name in backbones:
            if name == reference:
                continue
            text = claim_text(name, reference, task, group)
            claims.append(
                compare(
                    correct,
                    name,
                    reference,
                    task,
                    text,
                    Rule(cfg.min_effect, cfg.epsilon, cfg.n_boot),
                    group=group,
                    kind="transfer",
                    text=text,
                )
            )
    results = {
        "config": cfg.to_params(),
        "backbones": backbones,
        "reference": reference,
        "datasets": data,
        "tasks": list(decoded),
        "seeds": list(cfg.seeds),
        "runs": runs,
        "baselines": baselines,
        "cache": dict(cache.stats),
    }
    write_scores(out / "downstream" / "scores.csv", scores, stage=STAGE)
    write_correct(out / "downstream" / "correct.npz", correct, stage=STAGE)
    write_json(out / "downstream" / "results.json", results, stage=STAGE)
    write_claims(out / "summary" / "claims.json", claims, stage=STAGE)
    return results


def read_datasets(cfg: TransferConfig, echo=print) -> tuple[dict, dict]:
    """Read, decode and split every dataset of ``cfg``: ``(data, decoded)``, ``data[name]`` the
    JSON-ready description (path, format, data root, group, classes, split sizes, skips) and
    ``decoded[name]`` the :class:`~vise_lib.transfer.decode.Decoded` set, named ``name``."""
    data, decoded = {}, {}
    for name, d in cfg.dataset_specs().items():
        ds = load_dataset(d["path"], d["format"], d["data_root"])
        ds.name = name
        dec = decode_dataset(ds, cfg.image_size, seed=cfg.split_seed, min_per_class=cfg.min_per_class)
        decoded[name] = dec
        echo(dec.summary())
        data[name] = {
            "path": d["path"],
            "format": ds.format,
            "data_root": d["data_root"],
            "group": d["group"] or GROUPS[ds.format],
            "classes": dec.dataset.classes,
            "multilabel": dec.dataset.multilabel,
            "n_images": {s: len(dec.index(s)) for s in SPLITS},
            "summary": dec.summary(),
            "dropped_classes": [list(c) for c in dec.dropped_classes],
            "skipped": [list(s) for s in dec.skipped],
        }
    return data, decoded


def probe_dataset(
    cfg: TransferConfig,
    task: str,
    dec,
    backbones: dict,
    cache: FeatureCache,
    scores: list,
    correct: dict,
    score_name=lambda name: (name, 0),
) -> tuple[list[dict], dict]:
    """Every backbone on one decoded dataset under the study's protocol: the ``majority`` and
    ``chance`` rows, then for each backbone (``{name: {"path", "arch", "width", "blocks"}}``)
    cached features and a linear probe per seed of ``cfg`` with per-class metrics and the
    confusion matrix. Appends score rows to ``scores`` and per-image correctness to ``correct``;
    returns ``(runs, baseline info)``. ``score_name(name) -> (backbone, pretrain_seed)`` names a
    backbone's rows (the ``03_downstream`` stage turns ``vise@2`` into ``("vise", 2)``).

    The one code path of ``vise evaluate`` (:func:`evaluate`) and of the ``03_downstream`` stage
    on a dataset (:func:`vise_lib.stages.downstream.run_downstream`).
    """
    y = {s: dec.dataset.labels[dec.index(s)] for s in SPLITS}
    rows, ok, info = _baselines(task, y["train"], y["test"], dec.dataset.multilabel)
    scores += rows
    correct[("majority", task, 0, 0)] = ok
    runs: list[dict] = []
    split_images = dec.splits()
    for name, b in backbones.items():
        memo: dict = {}

        def net(b=b, memo=memo):
            if "net" not in memo:
                memo["net"] = load_backbone(b["path"], b["arch"], b["width"], b["blocks"])
            return memo["net"]

        model = {k: b[k] for k in ("arch", "width", "blocks")}
        feats = {s: cached_features(cache, net, b["path"], split_images[s][0], model, cfg.batch_size) for s in SPLITS}
        runs += _probe_runs(name, task, dec, feats, cfg, scores, correct, score_name)
    return runs, info


def _probe_runs(name, task, dec, feats, cfg, scores, correct, score_name) -> list[dict]:
    ds = dec.dataset
    y = {s: ds.labels[dec.index(s)] for s in SPLITS}
    runs = []
    for seed in cfg.seeds:
        keep = stratified_subsample(y["train"], seed)
        res = linear_probe(
            (feats["train"][keep], y["train"][keep]),
            (feats["val"], y["val"]),
            (feats["test"], y["test"]),
            Cs=cfg.Cs,
            seed=seed,
            max_iter=cfg.max_iter,
            return_outputs=True,
        )
        m = res["test"]
        run = {
            "backbone": name,
            "task": task,
            "seed": seed,
            "best_C": res["best_C"],
            "top1": 100 * m["top1"],
            "macro_f1": 100 * m["macro_f1"],
            "mean_per_class_acc": 100 * m["mean_per_class_acc"],
            "confusion": m["confusion"],
        }
        if ds.multilabel:
            has = y["test"].sum(1) > 0
            hit = y["test"][np.flatnonzero(has), res["test_scores"][has].argmax(1)].astype(bool)
            run.update(mAP=100 * m["mAP"], micro_f1=100 * m["micro_f1"])
        else:
            hit = res["test_pred"] == y["test"]
            run["per_class"] = per_class(m["confusion"])
            if "votes" in ds.extra:
                tr = dec.index("train")[keep]
                sub = {"train": tr, "val": dec.index("val"), "test": dec.index("test")}
                f = {"train": feats["train"][keep], "val": feats["val"], "test": feats["test"]}
                for target in ("valence", "arousal"):
                    run[f"{target}_r2"] = _ridge_r2(f, {s: ds.extra[target][sub[s]] for s in SPLITS})
                run["vote_kl"], run["vote_kl_prior"] = _vote_kl(
                    ds.extra["votes"][sub["test"]], res["test_proba"], ds.classes, ds.extra["votes"][tr]
                )
        variant, pretrain_seed = score_name(name)
        correct[(variant, task, pretrain_seed, seed)] = hit
        scores.append(
            {"backbone": variant, "task": task, "pretrain_seed": pretrain_seed, "probe_seed": seed, "top1": run["top1"]}
        )
        runs.append(run)
    return runs
