"""The world study's scores as the book's table (the real-data study's tables:
:mod:`vise_lib.transfer.report`)."""

from __future__ import annotations

import pandas as pd


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
