"""Tables of the real-data transfer study, built from its files (for the notebooks, the book and the CLI).

* :func:`headline_table`: backbones (plus ``majority class`` and ``chance``) × datasets, each
  cell the test score's mean ± std over probe seeds: top-1 accuracy (%) for single-label
  datasets, mAP (%) for multi-label ones (the column says which);
* :func:`detail_table`: the other metrics per backbone and dataset (macro F1, mean per-class
  accuracy; micro / macro F1 for multi-label; valence / arousal R² and vote KL for Emotion6);
* :func:`per_class_table`, :func:`confusion`: one backbone on one dataset, over seeds;
* :func:`claims_table`: the claims with their verdicts, grouped subjective / object;
* :func:`warnings`: what to know before trusting them (majority-only probes, a metric worse than
  the training prior for every backbone, a test split too small for the verdict margin);
* :func:`scrollable`: a wide table as HTML that scrolls inside the page.
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


def confusion_plot(results: dict, task: str, per_row: int = 3):
    """One panel per backbone, ``per_row`` panels a row: the confusion matrix of a single-label
    dataset summed over seeds, normalized per row (rows: true class, columns: predicted), each
    cell annotated with its share (%) when there are at most 10 classes."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    order, classes = list(results["backbones"]), results["datasets"][task]["classes"]
    k = len(classes)
    side = min(max(3.8, 0.45 * k + 1.6), 9.0)
    n_rows, n_cols = -(-len(order) // per_row), min(per_row, len(order))
    fig, axes = plt.subplots(n_rows, n_cols, figsize=(side * n_cols, side * n_rows), squeeze=False)
    labels = [c if len(c) <= 14 else c[:13] + "…" for c in classes] if k <= 30 else False
    for ax in axes.flat[len(order) :]:
        ax.set_visible(False)
    for ax, b in zip(axes.flat, order, strict=False):
        cm = confusion(results, b, task).astype(float)
        share = 100 * cm / np.maximum(cm.sum(1, keepdims=True), 1)
        sns.heatmap(
            share,
            vmin=0,
            vmax=100,
            cmap="Blues",
            cbar=False,
            ax=ax,
            square=True,
            annot=k <= 10,
            fmt=".0f",
            annot_kws={"fontsize": 9},
            xticklabels=labels,
            yticklabels=labels,
        )
        ax.set_title(f"{task}: {b}", fontsize=11)
        ax.set_xlabel("predicted")
        ax.set_ylabel("true")
        ax.tick_params(axis="x", labelrotation=45 if k > 4 else 0, labelsize=9)
        ax.tick_params(axis="y", labelrotation=0, labelsize=9)
    fig.tight_layout()
    return fig


def scrollable(table: pd.DataFrame, float_format: str = "{:.1f}") -> str:
    """HTML of ``table`` inside a block that scrolls sideways, so a table wider than the page
    (per-class metrics of many backbones) stays inside it; display it with ``IPython.display.HTML``."""
    html = table.to_html(float_format=float_format.format, na_rep="—", border=0, classes="dataframe")
    return f'<div style="overflow-x: auto; max-width: 100%;">{html}</div>'


def _predicts_only(runs: list[dict], cls: int) -> bool:
    """Whether every run's test predictions (its confusion matrix's columns) are class ``cls``."""
    for r in runs:
        predicted = np.asarray(r["confusion"]).sum(0)
        if predicted.sum() == 0 or predicted[cls] != predicted.sum():
            return False
    return bool(runs)


def warnings(results: dict, claims: list[dict] | None = None) -> list[str]:
    """What the reader must know before trusting the tables, one sentence each (Markdown):

    * every probe (every backbone, every seed) predicts the majority training class on a dataset:
      the probes learned the prior, not the images; or one backbone's probes do;
    * a secondary metric is worse than predicting the training prior for every backbone (the
      Emotion6 vote-distribution KL against ``vote_kl_prior``);
    * a test split too small to resolve the verdict margin: one test image moves top-1 by more
      than δ, or every claim on the dataset has a 95 % interval wider than ±δ.
    """
    out: list[str] = []
    runs = results["runs"]
    delta = results.get("config", {}).get("min_effect", MIN_EFFECT)
    for t in results["tasks"]:
        d = results["datasets"][t]
        n_test = d["n_images"]["test"]
        task_runs = [r for r in runs if r["task"] == t and "confusion" in r]
        if not d["multilabel"] and task_runs:
            top = results["baselines"][t]["majority_class"]
            name = d["classes"][top]
            if _predicts_only(task_runs, top):
                out.append(
                    f"**{t}: every probe predicts the majority class** (`{name}`) for every test image, for "
                    f"every backbone and seed: the scores are the majority row's, and no backbone's features "
                    f"told the classes apart under this protocol."
                )
            else:
                only = [
                    b for b in results["backbones"] if _predicts_only([r for r in task_runs if r["backbone"] == b], top)
                ]
                if only:
                    out.append(
                        f"**{t}:** every probe of {', '.join(f'`{b}`' for b in only)} predicts the majority class "
                        f"(`{name}`) for every test image."
                    )
        kl = [r for r in runs if r["task"] == t and np.isfinite(r.get("vote_kl", np.nan))]
        if kl:
            worse = {
                b
                for b in results["backbones"]
                if (mine := [r for r in kl if r["backbone"] == b])
                and np.mean([r["vote_kl"] for r in mine]) > np.mean([r["vote_kl_prior"] for r in mine])
            }
            if worse == set(results["backbones"]):
                out.append(
                    f"**{t}: the vote-distribution KL is worse than the training prior for every backbone** "
                    f"(`vote_kl` > `vote_kl_prior`): on that metric no probe beats predicting the training "
                    f"set's mean vote distribution."
                )
        mine = [c for c in claims or [] if c["task"] == t]
        half = min(((c["ci_high"] - c["ci_low"]) / 2 for c in mine), default=0.0)
        if n_test and 100 / n_test > delta:
            out.append(
                f"**{t}: the test split ({n_test} images) is too small to resolve the verdict margin**: one "
                f"test image moves top-1 by {100 / n_test:.1f} points, more than δ = {delta:g}, so a verdict "
                f"there (an interval of identical predictions can even look tight) says little."
            )
        elif half > delta:
            out.append(
                f"**{t}: the test split ({n_test} images) is too small to resolve the verdict margin**: "
                f"the narrowest 95 % interval of a claim is ±{half:.1f} points, wider than δ = {delta:g}, "
                f"so no verdict but `unresolved` can be reached there."
            )
    return out


def reference_note(results: dict) -> str:
    """Markdown: the reference backbone, its spec, and the verdict rule with the run's δ and ε."""
    ref = results["reference"]
    return f"Reference backbone: **{ref}** (`{results['backbones'][ref]['spec']}`). " + verdict_rule(
        results["config"]["min_effect"], results["config"]["epsilon"]
    )


def verdict_tally(table: pd.DataFrame) -> pd.DataFrame:
    """How many claims of each group reached each verdict (``table``: :func:`claims_table`)."""
    return table.groupby(["group", "verdict"]).size().unstack(fill_value=0)
