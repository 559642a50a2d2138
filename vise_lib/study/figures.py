"""Tables and figures of the ablation study: phase diagrams and the per-point information table."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns

#: One colour per verdict, in every figure.
VERDICT_COLOURS = {
    "holds": "tab:green",
    "reversed": "tab:red",
    "equivalent": "tab:blue",
    "unresolved": "tab:gray",
    "exploratory": "tab:orange",
}
#: One colour per task, in every figure.
TASK_COLOURS = {"emotion": "tab:purple", "stance": "tab:olive", "object": "tab:cyan"}


def phase_frame(
    main: pd.DataFrame, ablation: pd.DataFrame, kind: str, base_value: float, baselines=("shuffled", "object")
) -> pd.DataFrame:
    """``vise`` minus each baseline (points) along one swept knob, per task.

    ``main`` is the main run's ``scores.csv`` (its ``vise`` is the point at ``base_value``, its
    baselines the reference for every point: same images, same test set); ``ablation`` holds
    the ablation rows with ``kind``, ``value`` and ``backbone`` = ``<point>:vise``. The
    advantage is the mean over every seed row; ``sd`` is the standard deviation of the
    pretraining seeds' means (0 with one seed) and ``seeds`` their number (fewer than 3:
    exploratory).
    """
    ref = main.groupby(["backbone", "task"])["top1"].mean()
    pts = ablation[(ablation["kind"] == kind) & ablation["backbone"].str.endswith(":vise")]
    vise = pd.concat([main[main["backbone"] == "vise"].assign(value=base_value), pts])
    per_seed = vise.groupby(["value", "task", "pretrain_seed"], as_index=False)["top1"].mean()
    g = per_seed.groupby(["value", "task"], as_index=False)["top1"].agg(["mean", "std", "count"])
    g = g.rename(columns={"mean": "top1", "count": "seeds"}).fillna({"std": 0.0})
    out = [
        g.assign(
            over=b, advantage=[m - ref.get((b, t), float("nan")) for m, t in zip(g["top1"], g["task"], strict=False)]
        )
        for b in baselines
    ]
    return pd.concat(out, ignore_index=True).rename(
        columns={"value": "x", "advantage": "advantage (points)", "std": "sd"}
    )


def phase_plot(frame: pd.DataFrame, xlabel: str, title: str):
    """One panel per baseline: ``vise`` minus it along the swept knob, a line per task in the
    task's colour (:data:`TASK_COLOURS`), error bars ±1 sd over pretraining seeds; a hollow
    marker is a point with fewer than 3 seeds (exploratory)."""
    overs = list(dict.fromkeys(frame["over"]))
    fig, axes = plt.subplots(1, len(overs), figsize=(4.8 * len(overs), 3.4), squeeze=False, sharey=True)
    for ax, over in zip(axes[0], overs, strict=False):
        f = frame[frame["over"] == over]
        for task, g in f.groupby("task", sort=False):
            g = g.sort_values("x")
            colour = TASK_COLOURS.get(str(task), "k")
            ax.errorbar(g["x"], g["advantage (points)"], yerr=g["sd"], color=colour, label=task, capsize=3, lw=1.5)
            few = g["seeds"] < 3
            ax.scatter(g["x"][~few], g["advantage (points)"][~few], color=colour, zorder=3)
            ax.scatter(g["x"][few], g["advantage (points)"][few], facecolors="white", edgecolors=colour, zorder=3)
        ax.axhline(0, color="k", lw=0.8, ls=":")
        ax.set(xlabel=xlabel, title=f"vise − {over}", ylabel="advantage (points)")
        ax.legend(fontsize=8)
    fig.suptitle(f"{title} (bars: ±1 sd over pretraining seeds; hollow: < 3 seeds, exploratory)", fontsize=10)
    fig.tight_layout()
    return fig


def claims_plot(claims: list[dict]):
    """Forest plot: each claim's a − b (points) with its 95 % interval, coloured by verdict (legend);
    shaded band: ±ε."""
    from matplotlib.artist import Artist
    from matplotlib.lines import Line2D
    from matplotlib.patches import Rectangle

    fig, ax = plt.subplots(figsize=(9, 0.36 * len(claims) + 1.6))
    y = list(range(len(claims)))[::-1]
    for yi, c in zip(y, claims, strict=False):
        ax.plot([c["ci_low"], c["ci_high"]], [yi, yi], color=VERDICT_COLOURS[c["verdict"]], lw=2)
        ax.plot(c["diff"], yi, "o", color=VERDICT_COLOURS[c["verdict"]])
    if claims:
        eps = claims[0]["epsilon"]
        ax.axvspan(-eps, eps, color="0.9", zorder=0)
    ax.axvline(0, color="k", lw=0.8)
    ax.set_yticks(y, [f"{c['a']} − {c['b']} ({c['task']})" for c in claims], fontsize=8)
    shown = [v for v in VERDICT_COLOURS if any(c["verdict"] == v for c in claims)]
    handles: list[Artist] = [Line2D([], [], color=VERDICT_COLOURS[v], marker="o", lw=2, label=v) for v in shown]
    handles.append(Rectangle((0, 0), 1, 1, color="0.9", label="±ε (equivalence margin)"))
    ax.legend(handles=handles, loc="lower right", fontsize=8, framealpha=0.9)
    ax.set(xlabel="difference in test top-1 (points), 95 % CI", title="claims: a − b with its interval")
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


def learning_curves_plot(history: pd.DataFrame):
    """Training and held-out accuracy on each variant's own labels per epoch (mean over pretraining
    seeds, band: ±1 sd), from :func:`~vise_lib.study.backbone_runs.history_frame`; a variant
    without held-out posts (SimCLR: no labels) shows only its training curve."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8), sharey=True)
    for ax, y, title in zip(
        axes,
        ("accuracy", "held-out accuracy"),
        ("training (augmented batches)", "held out (unseen posts)"),
        strict=True,
    ):
        data = history.dropna(subset=[y])
        if len(data):
            sns.lineplot(data=data, x="epoch", y=y, hue="variant", errorbar="sd", marker="o", ax=ax)
        ax.set(title=f"accuracy on its own labels: {title}", ylabel="accuracy")
    fig.tight_layout()
    return fig
