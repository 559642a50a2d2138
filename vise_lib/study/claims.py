"""The paper's qualitative claims, checked against one run's results."""

from __future__ import annotations

import pandas as pd

from vise_lib.study.tables import mean_std

# (claim text, backbone a, backbone b, task): the claim is "a > b on task".
CLAIMS = (
    ("Engagement features beat object-label features on emotion", "vise", "object", "emotion"),
    ("Engagement features beat object-label features on political stance", "vise", "object", "stance"),
    ("Object-label features stay better on object recognition", "object", "vise", "object"),
    ("Engagement pretraining beats no pretraining on emotion", "vise", "random", "emotion"),
    ("Engagement features beat self-supervised (SimCLR) features on emotion", "vise", "simclr", "emotion"),
    ("Engagement pretraining beats no pretraining on political stance", "vise", "random", "stance"),
)


def verdict(diff: float, margin: float) -> str:
    if diff > margin:
        return "observed"
    if diff < -margin:
        return "reversed"
    return "inconclusive"


def claims(df: pd.DataFrame, metric: str = "top1", min_margin: float = 0.01) -> pd.DataFrame:
    """One row per claim whose backbones and task are in ``df``.

    A difference counts only when it exceeds the larger of the two std over seeds and
    ``min_margin`` (one percentage point by default).
    """
    ms = mean_std(df, metric).set_index(["backbone", "task"])
    rows = []
    for text, a, b, task in CLAIMS:
        if (a, task) not in ms.index or (b, task) not in ms.index:
            continue
        ra, rb = ms.loc[(a, task)], ms.loc[(b, task)]
        diff = float(ra["mean"] - rb["mean"])
        margin = max(float(ra["std"]), float(rb["std"]), min_margin)
        rows.append({"claim": text, "source": "paper", "task": task,
                     "A": a, "A (%)": round(100 * ra["mean"], 1), "B": b, "B (%)": round(100 * rb["mean"], 1),
                     "A − B (points)": round(100 * diff, 1),
                     "margin (points)": round(100 * margin, 1), "this run": verdict(diff, margin)})  # claim is A > B
    return pd.DataFrame(rows)


def weak_tasks(df: pd.DataFrame, chance: dict[str, float], metric: str = "top1",
               within: float = 0.10) -> list[str]:
    """Sentences for tasks on which even the best backbone is within ``within`` of chance:
    there, a verdict between backbones says little about the method."""
    ms = mean_std(df, metric)
    out = []
    for task, sub in ms.groupby("task", sort=False):
        if task not in chance:
            continue
        best = sub.loc[sub["mean"].idxmax()]
        if best["mean"] - chance[task] < within:
            out.append(f"On *{task}* every backbone is within {100 * within:.0f} points of chance "
                       f"({100 * chance[task]:.1f} %; best: {best['backbone']} {100 * best['mean']:.1f} %): "
                       f"none of these features capture it well, so the verdicts on {task} say little.")
    return out


def ablation_claims(rows: list[dict], min_margin: float = 0.01) -> pd.DataFrame:
    """Does the ``vise`` advantage come from the engagement signal? (from the ablation rows)

    For each task: ``vise`` at the base noise versus ``vise`` at the largest swept
    ``engagement_noise`` (where engagement carries the least signal). "observed" means the
    signal-bearing engagement gave the better features by more than the margin.
    """
    df = pd.DataFrame(rows)
    if df.empty or "engagement_noise" not in set(df["factor"]):
        return pd.DataFrame()
    noisy = df[df["factor"] == "engagement_noise"]
    top = noisy["value"].max()
    out = []
    for task in sorted(df["task"].unique()):
        base = df[(df["factor"] == "base") & (df["task"] == task)]["top1"]
        worst = noisy[(noisy["value"] == top) & (noisy["task"] == task)]["top1"]
        if base.empty or worst.empty:
            continue
        diff = float(base.mean() - worst.mean())
        margin = max(float(base.std(ddof=1)) if len(base) > 1 else 0.0,
                     float(worst.std(ddof=1)) if len(worst) > 1 else 0.0, min_margin)
        out.append({"claim": "The vise features owe their quality to the engagement signal", "source": "ours",
                    "task": task, "A": "vise, noise 0", "A (%)": round(100 * base.mean(), 1),
                    "B": f"vise, noise {top:g}", "B (%)": round(100 * worst.mean(), 1),
                    "A − B (points)": round(100 * diff, 1), "margin (points)": round(100 * margin, 1),
                    "this run": verdict(diff, margin)})
    return pd.DataFrame(out)


def sentences(claim_table: pd.DataFrame) -> list[str]:
    """One plain sentence per claim row, saying what this run observed."""
    text = {"observed": "holds in this run", "reversed": "is **reversed** in this run",
            "inconclusive": "is **not resolved** by this run (difference within the margin)"}
    out = []
    for r in claim_table.to_dict(orient="records"):
        out.append(f"*{r['claim']}* ({r['task']}): {text[r['this run']]} — {r['A']} {r['A (%)']} % vs "
                   f"{r['B']} {r['B (%)']} %, a difference of {r['A − B (points)']:+.1f} points "
                   f"(margin {r['margin (points)']:.1f}).")
    return out
