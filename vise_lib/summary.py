"""The paper's qualitative claims, checked against one run's results."""

from __future__ import annotations

import pandas as pd

from .report import mean_std

# (claim text, backbone a, backbone b, task): the claim is "a > b on task".
CLAIMS = (
    ("Engagement features beat object-label features on emotion", "vise", "object", "emotion"),
    ("Engagement features beat object-label features on political stance", "vise", "object", "stance"),
    ("Object-label features stay better on object recognition", "object", "vise", "object"),
    ("Engagement pretraining beats no pretraining on emotion", "vise", "random", "emotion"),
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
        rows.append({"claim (paper)": text, "task": task,
                     "A": a, "A (%)": round(100 * ra["mean"], 1), "B": b, "B (%)": round(100 * rb["mean"], 1),
                     "A − B (points)": round(100 * diff, 1),
                     "margin (points)": round(100 * margin, 1), "this run": verdict(diff, margin)})  # claim is A > B
    return pd.DataFrame(rows)
