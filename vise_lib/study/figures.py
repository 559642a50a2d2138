"""Tables and figures of the ablation study: phase diagrams and the per-point information table."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns


def phase_frame(
    main: pd.DataFrame, ablation: pd.DataFrame, kind: str, base_value: float, baselines=("shuffled", "object")
) -> pd.DataFrame:
    """``vise`` minus each baseline (points) along one swept knob, per task.

    ``main`` is the main run's ``scores.csv`` (its ``vise`` is the point at ``base_value``, its
    baselines the reference for every point: same images, same test set); ``ablation`` holds
    the ablation rows with ``kind``, ``value`` and ``backbone`` = ``<point>:vise``. Means over
    every seed row.
    """
    ref = main.groupby(["backbone", "task"])["top1"].mean()
    pts = ablation[(ablation["kind"] == kind) & ablation["backbone"].str.endswith(":vise")]
    vise = pd.concat([main[main["backbone"] == "vise"].assign(value=base_value), pts])
    g = vise.groupby(["value", "task"], as_index=False)["top1"].mean()
    out = [
        g.assign(
            over=b, advantage=[m - ref.get((b, t), float("nan")) for m, t in zip(g["top1"], g["task"], strict=False)]
        )
        for b in baselines
    ]
    return pd.concat(out, ignore_index=True).rename(columns={"value": "x", "advantage": "advantage (points)"})


def phase_plot(frame: pd.DataFrame, xlabel: str, title: str):
    """One panel per baseline: ``vise`` minus it along the swept knob, a line per task."""
    overs = list(dict.fromkeys(frame["over"]))
    fig, axes = plt.subplots(1, len(overs), figsize=(4.6 * len(overs), 3.3), squeeze=False, sharey=True)
    for ax, over in zip(axes[0], overs, strict=False):
        sns.lineplot(data=frame[frame["over"] == over], x="x", y="advantage (points)", hue="task", marker="o", ax=ax)
        ax.axhline(0, color="k", lw=0.8, ls=":")
        ax.set(xlabel=xlabel, title=f"vise − {over}")
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def claims_plot(claims: list[dict]):
    """Forest plot: each claim's a − b (points) with its 95 % interval; shaded band: ±ε."""
    fig, ax = plt.subplots(figsize=(8, 0.42 * len(claims) + 1.2))
    y = list(range(len(claims)))[::-1]
    colour = {"holds": "tab:green", "reversed": "tab:red", "equivalent": "tab:blue", "unresolved": "tab:gray"}
    for yi, c in zip(y, claims, strict=False):
        ax.plot([c["ci_low"], c["ci_high"]], [yi, yi], color=colour[c["verdict"]], lw=2)
        ax.plot(c["diff"], yi, "o", color=colour[c["verdict"]])
    if claims:
        eps = claims[0]["epsilon"]
        ax.axvspan(-eps, eps, color="0.9", zorder=0)
    ax.axvline(0, color="k", lw=0.8)
    ax.set_yticks(y, [f"{c['a']} − {c['b']} ({c['task']})" for c in claims], fontsize=8)
    ax.set(xlabel="difference in test top-1 (points), 95 % CI", title="claims (colour: verdict)")
    fig.tight_layout()
    return fig


#: The knobs of the phase diagrams: an ablation point's ``kind`` -> (the world parameter it sweeps, its label).
PHASE_KNOBS = {
    "noise": ("engagement_noise", "engagement_noise"),
    "affect": ("eng_affect", "eng_affect (affect beyond content)"),
}


def phase_frames(main: pd.DataFrame, ablation: pd.DataFrame, base_world: dict) -> dict[str, pd.DataFrame]:
    """The :func:`phase_frame` of every swept knob that has points in ``ablation``, keyed by the
    knob's label; the main run is the point at the base world's value (``base_world``: the
    world's parameters, ``world/world.json``'s ``config``)."""
    kinds = set(ablation["kind"]) if "kind" in ablation else set()
    return {
        label: phase_frame(main, ablation, kind, base_world[param])
        for kind, (param, label) in PHASE_KNOBS.items()
        if kind in kinds
    }


def scores_plot(scores: pd.DataFrame, chance: dict[str, float], order: list[str] | None = None):
    """Bars of test top-1 (%) per task and backbone from ``scores.csv`` rows (error bars: sd over
    every seed row), with chance per task dotted."""
    fig, ax = plt.subplots(figsize=(10, 3.6))
    sns.barplot(data=scores, x="task", y="top1", hue="backbone", errorbar="sd", ax=ax, hue_order=order)
    for i, t in enumerate(dict.fromkeys(scores["task"])):
        if t in chance:
            ax.hlines(100 * chance[t], i - 0.4, i + 0.4, colors="k", linestyles=":")
    ax.set(ylabel="test top-1 (%)", title="Linear probe on frozen features (dotted: chance; bars: sd over seeds)")
    ax.legend(bbox_to_anchor=(1.01, 1), loc="upper left")
    fig.tight_layout()
    return fig
