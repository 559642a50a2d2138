"""The world study's scores as the book's table (the real-data study's tables:
:mod:`vise_lib.transfer.report`)."""

from __future__ import annotations

import pandas as pd

from vise_lib.verdicts.statistics import MIN_SEEDS


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
    """One line per ablation point, from its score rows: its kind, the variants it trained, their
    pretraining seeds and whether that is enough for a verdict (fewer than
    :data:`~vise_lib.verdicts.statistics.MIN_SEEDS`: exploratory)."""
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
                "evidence": "verdicts" if len(p["seeds"]) >= MIN_SEEDS else "exploratory",
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


#: The columns of the claims table of the summary: the verdict first.
CLAIM_COLUMNS = [
    "verdict",
    "claim",
    "task",
    "Δ (points)",
    "95 % CI",
    "seeds a / b",
    "detectable ≥",
    "expected",
    "as expected",
]


def claims_frame(claims: list[dict]) -> pd.DataFrame:
    """The judged claims (``summary/claims.json``) as a compact table of :data:`CLAIM_COLUMNS`: the
    verdict, the claim, a − b with its interval, the pretraining seeds behind each side, the
    smallest effect the design could detect (points) and the verdict expected beforehand."""
    return pd.DataFrame(
        [
            {
                "verdict": c["verdict"],
                "claim": c["claim"],
                "task": c["task"],
                "Δ (points)": f"{c['diff']:+.1f}",
                "95 % CI": f"[{c['ci_low']:+.1f}, {c['ci_high']:+.1f}]",
                "seeds a / b": f"{c.get('n_seeds_a', '?')} / {c.get('n_seeds_b', '?')}",
                "detectable ≥": f"{c['mde']:.1f}" if "mde" in c else "",
                "expected": " or ".join(c["expected"]) if c.get("expected") else "",
                "as expected": {True: "yes", False: "NO", None: ""}[c.get("as_expected")],
            }
            for c in claims
        ],
        columns=CLAIM_COLUMNS,
    )


def budget_table(claims: list[dict]) -> pd.DataFrame:
    """Each claim the budget ablation repeats: its verdict in the main run and at each larger
    budget, and whether they agree (``kind`` ``budget`` rows carry ``main_claim``)."""
    main = {c["claim"]: c for c in claims if c["kind"] != "budget"}
    rows: dict[str, dict] = {}
    for c in claims:
        if c["kind"] != "budget" or c.get("main_claim") not in main:
            continue
        m = main[c["main_claim"]]
        point = c["a"].split(":", 1)[0]
        r = rows.setdefault(
            c["main_claim"],
            {"claim": c["main_claim"], "task": c["task"], "main run": f"{m['verdict']} ({m['diff']:+.1f})"},
        )
        r[point] = f"{c['verdict']} ({c['diff']:+.1f})"
        if c["verdict"] == "exploratory":
            r.setdefault("same verdict", "—")
        elif r.get("same verdict") in (None, "—", "yes"):
            r["same verdict"] = "yes" if c["verdict"] == m["verdict"] else "NO"
    return pd.DataFrame(list(rows.values()))
