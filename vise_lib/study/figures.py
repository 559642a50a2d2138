"""Tables and figures of the ablation study (rows from :mod:`vise_lib.study.ablation`)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns


def frame(rows: list[dict]) -> pd.DataFrame:
    """Rows -> DataFrame with top1 in percent."""
    df = pd.DataFrame(rows)
    if df.empty:
        raise ValueError("no ablation rows")
    df["top1 (%)"] = 100 * df["top1"]
    return df


def advantage(df: pd.DataFrame, factor: str, base_value, over: str) -> pd.DataFrame:
    """vise minus a baseline (``over``), per task and value of ``factor`` (base point included).

    Mean over seeds; the baseline is the same backbone for every value (trained on the base
    world, whose images every point shares).
    """
    vise = df[(df["backbone"] == "vise") & (df["factor"].isin([factor, "base"]))].copy()
    vise["x"] = [base_value if f == "base" else v for f, v in zip(vise["factor"], vise["value"])]
    ref = df[df["backbone"] == over].groupby("task")["top1"].mean()
    g = vise.groupby(["x", "task"])["top1"].agg(["mean", "std"]).reset_index()
    g["advantage (points)"] = 100 * (g["mean"] - g["task"].map(ref))
    g["std"] = 100 * g["std"].fillna(0.0)
    g["over"] = over
    return g


def phase_diagram(df: pd.DataFrame, base_noise: float = 0.0):
    """The VisE advantage over ``object`` and over ``random`` as engagement noise grows."""
    sns.set_theme(style="whitegrid")
    parts = [advantage(df, "engagement_noise", base_noise, over) for over in ("object", "random")]
    fig, axes = plt.subplots(1, 2, figsize=(9.5, 3.4), sharey=True)
    for ax, part in zip(axes, parts):
        for task, sub in part.groupby("task"):
            sub = sub.sort_values("x")
            ax.errorbar(sub["x"], sub["advantage (points)"], yerr=sub["std"], marker="o", capsize=3, label=task)
        ax.axhline(0, color="k", lw=1, ls=":")
        ax.set_xlabel("engagement_noise (0 = designed signal, 1 = none)")
        ax.set_title(f"vise − {part['over'].iloc[0]}")
    axes[0].set_ylabel("test top-1 difference (points)")
    axes[1].legend(title="task", frameon=False)
    fig.tight_layout()
    return fig, pd.concat(parts, ignore_index=True)


def sweep_plot(df: pd.DataFrame, factor: str, base_value, log_x: bool = False, ax=None):
    """vise top-1 per task against one factor's values (base point included); dotted: object."""
    sub = df[(df["backbone"] == "vise") & (df["factor"].isin([factor, "base"]))].copy()
    sub["x"] = [base_value if f == "base" else v for f, v in zip(sub["factor"], sub["value"])]
    if ax is None:
        _, ax = plt.subplots(figsize=(4.6, 3.2))
    tasks = sorted(sub["task"].unique())
    pal = dict(zip(tasks, sns.color_palette("colorblind", len(tasks))))
    kw = dict(x="x", y="top1 (%)", hue="task", hue_order=tasks, palette=pal, ax=ax, errorbar="sd")
    if all(isinstance(v, (int, float, np.integer, np.floating)) for v in sub["x"]):
        sns.lineplot(data=sub.sort_values("x"), marker="o", **kw)
        if log_x:
            ax.set_xscale("log", base=2)
    else:
        sns.barplot(data=sub, **kw)
    obj = df[df["backbone"] == "object"].groupby("task")["top1 (%)"].mean()
    for task, v in obj.items():
        if task in pal:
            ax.axhline(v, ls=":", lw=1, color=pal[task])
    ax.set_xlabel(factor)
    ax.set_title(f"vise vs {factor} (dotted: object baseline)")
    return ax
