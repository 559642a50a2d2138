"""Results JSON -> tables and seaborn plots for the book."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns


def downstream_frame(results: dict, protocol: str | None = "linear") -> pd.DataFrame:
    """Flatten the downstream stage's ``results.json``: one row per (backbone, task, seed)
    with ``best_C`` and every scalar test metric (``top1``, ``mean_per_class_acc``,
    ``macro_f1``; ``mAP`` for multi-label tasks, ``NaN`` elsewhere), for one protocol
    (``linear`` or ``finetune``; ``None`` keeps all, with a ``protocol`` column)."""
    rows = [
        {
            "backbone": r["backbone"],
            "task": r["task"],
            "seed": r["seed"],
            "protocol": r.get("protocol", "linear"),
            "best_C": r.get("best_C"),
            **{k: v for k, v in r["test"].items() if isinstance(v, (int, float))},
        }
        for r in results["runs"]
        if protocol is None or r.get("protocol", "linear") == protocol
    ]
    if not rows:
        raise ValueError(
            f"the downstream results hold no {protocol!r} runs" if protocol else "the downstream results hold no runs"
        )
    return pd.DataFrame(rows)


def mean_std(df: pd.DataFrame, metric: str = "top1") -> pd.DataFrame:
    """Mean and std over seeds, one row per (backbone, task)."""
    g = df.groupby(["backbone", "task"], sort=False)[metric]
    out = g.agg(["mean", "std", "count"]).reset_index()
    out["std"] = out["std"].fillna(0.0)
    return out


def headline_table(df: pd.DataFrame, metric: str = "top1", order: list[str] | None = None) -> pd.DataFrame:
    """Backbones x tasks, cells ``mean ± std`` (in %), as a display table."""
    ms = mean_std(df, metric)
    ms["cell"] = [f"{100 * m:.1f} ± {100 * s:.1f}" for m, s in zip(ms["mean"], ms["std"], strict=False)]
    table = ms.pivot(index="backbone", columns="task", values="cell")
    if order:
        table = table.reindex([b for b in order if b in table.index])
    table.columns.name = f"{metric} (%)"
    return table


def bar_plot(
    df: pd.DataFrame,
    metric: str = "top1",
    chance: dict[str, float] | None = None,
    order: list[str] | None = None,
    title: str = "Linear probe on frozen features (dotted: chance)",
):
    """Grouped bars: tasks on x, one bar per backbone, error bars = std over seeds."""
    sns.set_theme(style="whitegrid", context="notebook")
    ms = mean_std(df, metric)
    tasks = list(dict.fromkeys(ms["task"]))
    backbones = order or list(dict.fromkeys(ms["backbone"]))
    fig, ax = plt.subplots(figsize=(1.8 + 1.6 * len(tasks), 3.6))
    width = 0.8 / len(backbones)
    palette = sns.color_palette("colorblind", len(backbones))
    for i, b in enumerate(backbones):
        sub = ms[ms["backbone"] == b].set_index("task").reindex(tasks)
        xs = [t + (i - (len(backbones) - 1) / 2) * width for t in range(len(tasks))]
        ax.bar(xs, 100 * sub["mean"], width, yerr=100 * sub["std"], label=b, color=palette[i], capsize=3)
    if chance:
        for t, task in enumerate(tasks):
            if task in chance:
                ax.hlines(100 * chance[task], t - 0.45, t + 0.45, colors="k", linestyles=":", lw=1)
    ax.set_xticks(range(len(tasks)), tasks)
    ax.set_ylabel(f"test {metric} (%)")
    ax.set_ylim(0, 100)
    ax.legend(title="backbone", frameon=False, bbox_to_anchor=(1.0, 1.0), loc="upper left")
    ax.set_title(title)
    fig.tight_layout()
    return fig


def scores_table(scores: pd.DataFrame, order: list[str] | None = None) -> pd.DataFrame:
    """``scores.csv`` rows as a backbone x task table of "mean ± std (n)" over every pretraining and
    probe seed (top-1 %)."""
    g = scores.groupby(["backbone", "task"], sort=False)["top1"].agg(["mean", "std", "count"]).reset_index()
    g["cell"] = [
        f"{m:.1f} ± {0.0 if pd.isna(s) else s:.1f} ({n})"
        for m, s, n in zip(g["mean"], g["std"], g["count"], strict=False)
    ]
    t = g.pivot(index="backbone", columns="task", values="cell")
    rows = [b for b in (order or list(dict.fromkeys(scores["backbone"]))) if b in t.index]
    return t.loc[rows, list(dict.fromkeys(scores["task"]))]
