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


#: The study's backbones in the order its tables show them (references last).
BACKBONE_ORDER = ("vise", "shuffled", "object", "simclr", "random", "oracle", "pixels", "handmade")


def backbone_order(names) -> list[str]:
    """The study's backbones among ``names`` in :data:`BACKBONE_ORDER`, then the others sorted."""
    present = set(names)
    return [b for b in BACKBONE_ORDER if b in present] + sorted(present - set(BACKBONE_ORDER))


def per_seed_table(scores: pd.DataFrame) -> pd.DataFrame:
    """Backbone x (task, pretraining seed): top-1 (%) averaged over probe seeds."""
    per_seed = scores.groupby(["backbone", "task", "pretrain_seed"], as_index=False)["top1"].mean()
    return per_seed.pivot_table(index="backbone", columns=["task", "pretrain_seed"], values="top1").round(1)


def factor_readout_table(readout: list[dict]) -> pd.DataFrame:
    """Backbone x hidden factor: the factor readout's probe top-1 (%) (``factor_readout`` of the
    downstream results)."""
    return pd.DataFrame(readout).pivot(index="backbone", columns="factor", values="top1").round(1)


def ablation_points_table(rows: list[dict]) -> pd.DataFrame:
    """One line per ablation point, from its score rows: its kind, the variants it trained and
    their pretraining seeds."""
    points: dict[str, dict] = {}
    for r in rows:
        p = points.setdefault(r["point"], {"point": r["point"], "kind": r["kind"], "variants": {}, "seeds": set()})
        p["variants"][r["backbone"].split(":", 1)[1]] = None
        p["seeds"].add(int(r["pretrain_seed"]))
    return pd.DataFrame(
        [
            {
                "point": p["point"],
                "kind": p["kind"],
                "variants": ", ".join(p["variants"]),
                "pretraining seeds": sorted(p["seeds"]),
            }
            for p in points.values()
        ]
    )


#: The columns of :func:`label_information_table`, in the order
#: :func:`~vise_lib.study.label_information.label_information` computes them.
INFORMATION_COLUMNS = [f"{m}_{k}" for k in ("object", "affect", "stance", "poster") for m in ("nmi", "ami")] + [
    "cmi_affect_given_content",
    "cmi_reference",
    "cmi_excess",
]


def label_information_table(information: dict[str, dict[str, float]], points: list[str]) -> pd.DataFrame:
    """What each point's pseudo labels carry (``information`` of the ablation results), one row
    for the ``"main run"`` and then one per point in ``points``' order, rounded to 3 decimals."""
    table = pd.DataFrame(information).T
    rows = [p for p in ("main run", *points) if p in table.index]
    columns = [c for c in INFORMATION_COLUMNS if c in table.columns]
    return table.loc[rows, columns + [c for c in table.columns if c not in columns]].round(3)


def ablation_scores_table(main: pd.DataFrame, rows: list[dict], tasks: list[str]) -> pd.DataFrame:
    """(point, backbone) x task: mean top-1 (%) over pretraining and probe seeds of every ablation
    point, after the main run's ``vise``, ``shuffled``, ``object`` and ``random`` for reference."""
    ref = main[main["task"].isin(tasks) & main["backbone"].isin(["vise", "shuffled", "object", "random"])]
    table = pd.concat([ref.assign(point="main run"), pd.DataFrame(rows)])
    return table.pivot_table(
        index=["point", "backbone"], columns="task", values="top1", aggfunc="mean", sort=False
    ).round(1)


#: The columns of the claims table of the summary.
CLAIM_COLUMNS = ["claim", "task", "a", "b", "diff", "ci_low", "ci_high", "verdict", "expected", "as_expected"]


def claims_frame(claims: list[dict]) -> pd.DataFrame:
    """The judged claims (``summary/claims.json``) as a table of :data:`CLAIM_COLUMNS`."""
    return pd.DataFrame(claims, columns=CLAIM_COLUMNS)
