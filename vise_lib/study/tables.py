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
