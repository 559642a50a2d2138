"""Tables of the real-data transfer study, built from its files (for the notebooks, the book and the CLI).

* :func:`headline_table`: backbones (plus ``majority class`` and ``chance``) × datasets, each
  cell the test score's mean ± std over probe seeds: top-1 accuracy (%) for single-label
  datasets, mAP (%) for multi-label ones (the column says which);
* :func:`detail_table`: the other metrics per backbone and dataset (macro F1, mean per-class
  accuracy; micro / macro F1 for multi-label; valence / arousal R² and vote KL for Emotion6);
* :func:`per_class_table`, :func:`confusion`: one backbone on one dataset, over seeds;
* :func:`claims_table`: the claims with their verdicts, grouped subjective / object.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from vise_lib.verdicts.statistics import EPSILON, MIN_EFFECT

VERDICT_RULE = (
    "Each claim compares a backbone with the reference on one dataset's test images: the difference in "
    "top-1 accuracy (points; for multi-label datasets, the share of images whose top-scored class is one "
    "of their labels), with a 95 % paired bootstrap interval that resamples test images and probe seeds. "
    "**holds**: the interval lies above 0 and the difference is at least δ; **reversed**: the interval "
    "lies below 0 and the difference is at most −δ; **equivalent** (competitive): the interval lies "
    "inside [−ε, ε]; **unresolved**: anything else. δ = {min_effect:g} and ε = {epsilon:g} points, "
    "fixed before any run."
)


def verdict_rule(min_effect: float = MIN_EFFECT, epsilon: float = EPSILON) -> str:
    return VERDICT_RULE.format(min_effect=min_effect, epsilon=epsilon)


def _cell(values) -> str:
    v = np.asarray(values, dtype=float)
    if not len(v) or np.isnan(v).all():
        return "—"
    return f"{np.nanmean(v):.1f} ± {np.nanstd(v):.1f}" if len(v) > 1 else f"{v[0]:.1f}"


def _column(results: dict, task: str) -> str:
    return f"{task} (mAP)" if results["datasets"][task]["multilabel"] else task


def headline_table(results: dict) -> pd.DataFrame:
    """Backbones + ``majority class`` + ``chance`` × datasets, mean ± std over seeds (see module docstring)."""
    runs = pd.DataFrame(results["runs"])
    rows: dict[str, dict[str, str]] = {}
    for b in results["backbones"]:
        rows[b] = {}
        for t in results["tasks"]:
            metric = "mAP" if results["datasets"][t]["multilabel"] else "top1"
            sel = runs[(runs.backbone == b) & (runs.task == t)] if len(runs) else runs
            rows[b][_column(results, t)] = _cell(sel[metric]) if len(sel) else "—"
    for pseudo, label in (("majority", "majority class"), ("chance", "chance")):
        rows[label] = {}
        for t in results["tasks"]:
            base = results["baselines"][t]
            key = f"{pseudo}_mAP" if results["datasets"][t]["multilabel"] else pseudo
            rows[label][_column(results, t)] = f"{base[key]:.1f}"
    df = pd.DataFrame.from_dict(rows, orient="index")
    df.index.name = "backbone"
    return df


def detail_table(results: dict) -> pd.DataFrame:
    """One row per backbone and dataset: the secondary metrics, mean ± std over seeds."""
    runs = pd.DataFrame(results["runs"])
    metrics = [
        "top1",
        "macro_f1",
        "mean_per_class_acc",
        "mAP",
        "micro_f1",
        "valence_r2",
        "arousal_r2",
        "vote_kl",
        "vote_kl_prior",
    ]
    out = []
    for (b, t), g in runs.groupby(["backbone", "task"], sort=False):
        row = {"backbone": b, "dataset": t}
        for m in metrics:
            if m in g and g[m].notna().any():
                row[m] = (
                    _cell(g[m])
                    if not m.startswith(("valence", "arousal", "vote"))
                    else (f"{g[m].mean():.3f} ± {g[m].std(ddof=0):.3f}")
                )
        out.append(row)
    return pd.DataFrame(out).set_index(["backbone", "dataset"]).fillna("")


def per_class_table(results: dict, backbone: str, task: str) -> pd.DataFrame:
    """Per-class precision / recall / F1 (%, mean over seeds) and test support of one backbone on one dataset."""
    runs = [r for r in results["runs"] if r["backbone"] == backbone and r["task"] == task and "per_class" in r]
    if not runs:
        raise ValueError(f"no single-label runs of {backbone!r} on {task!r}")
    classes = results["datasets"][task]["classes"]
    df = pd.DataFrame(
        [
            {
                "class": c,
                **{m: 100 * np.nanmean([r["per_class"][k][m] for r in runs]) for m in ("precision", "recall", "f1")},
                "support": runs[0]["per_class"][k]["support"],
            }
            for k, c in enumerate(classes)
        ]
    )
    return df.set_index("class").round(1)


def confusion(results: dict, backbone: str, task: str) -> np.ndarray:
    """The confusion matrix summed over seeds (rows: true class; multi-label: per class [[tn, fp], [fn, tp]])."""
    mats = [np.asarray(r["confusion"]) for r in results["runs"] if r["backbone"] == backbone and r["task"] == task]
    if not mats:
        raise ValueError(f"no runs of {backbone!r} on {task!r}")
    return np.sum(mats, axis=0)


def claims_table(claims: list[dict]) -> pd.DataFrame:
    """Claims as a table: group, dataset, claim, difference and CI (points), verdict."""
    if not claims:
        return pd.DataFrame(columns=["group", "dataset", "claim", "diff", "95% CI", "verdict"])
    df = pd.DataFrame(
        [
            {
                "group": c.get("group", ""),
                "dataset": c["task"],
                "claim": c["claim"],
                "diff": f"{c['diff']:+.1f}",
                "95% CI": f"[{c['ci_low']:+.1f}, {c['ci_high']:+.1f}]",
                "verdict": c["verdict"],
            }
            for c in claims
        ]
    )
    return df.sort_values(
        ["group", "dataset"],
        key=lambda s: s.map({"subjective": 0, "object": 1, "unstated": 2}).fillna(s) if s.name == "group" else s,
        kind="stable",
    ).reset_index(drop=True)


def datasets_table(results: dict) -> pd.DataFrame:
    """One row per dataset: format, summary group, classes, multi-label, images per split and
    dropped classes, as reading and decoding left them."""
    return pd.DataFrame(
        [
            {
                "dataset": t,
                "format": d["format"],
                "group": d["group"],
                "classes": len(d["classes"]),
                "multi-label": d["multilabel"],
                **d["n_images"],
                "dropped classes": len(d["dropped_classes"]),
            }
            for t, d in results["datasets"].items()
        ]
    ).set_index("dataset")


def dataset_table(results: dict, task: str) -> pd.DataFrame:
    """One dataset's table: per-class precision / recall / F1 of every backbone side by side, or
    for a multi-label dataset its mAP and micro / macro F1 per backbone."""
    if results["datasets"][task]["multilabel"]:
        return detail_table(results).xs(task, level="dataset")[["mAP", "micro_f1", "macro_f1"]]
    return pd.concat({b: per_class_table(results, b, task) for b in results["backbones"]}, axis=1)


def confusion_plot(results: dict, task: str):
    """One panel per backbone: the confusion matrix of a single-label dataset summed over seeds,
    normalized per row (rows: true class, columns: predicted)."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    order, classes = list(results["backbones"]), results["datasets"][task]["classes"]
    fig, axes = plt.subplots(1, len(order), figsize=(3.3 * len(order), 3.4), squeeze=False)
    labels = [c[:6] for c in classes] if len(classes) <= 12 else False
    for ax, b in zip(axes[0], order, strict=False):
        cm = confusion(results, b, task).astype(float)
        sns.heatmap(
            cm / np.maximum(cm.sum(1, keepdims=True), 1),
            vmin=0,
            vmax=1,
            cmap="Blues",
            cbar=False,
            ax=ax,
            square=True,
            xticklabels=labels,
            yticklabels=labels,
        )
        ax.set_title(f"{task}: {b}")
    fig.tight_layout()
    return fig


def reference_note(results: dict) -> str:
    """Markdown: the reference backbone, its spec, and the verdict rule with the run's δ and ε."""
    ref = results["reference"]
    return f"Reference backbone: **{ref}** (`{results['backbones'][ref]['spec']}`). " + verdict_rule(
        results["config"]["min_effect"], results["config"]["epsilon"]
    )


def verdict_tally(table: pd.DataFrame) -> pd.DataFrame:
    """How many claims of each group reached each verdict (``table``: :func:`claims_table`)."""
    return table.groupby(["group", "verdict"]).size().unstack(fill_value=0)
