"""The study's claims, fixed before any run, with the verdict each control is expected to get.

A claim is "backbone ``a`` beats backbone ``b`` on ``task``" (``a − b`` in top-1 points), judged
by :func:`vise_lib.verdicts.results.compare` (paired bootstrap over test images and seeds, the
verdict rule of :mod:`vise_lib.verdicts.statistics`). ``source`` says whose claim it is: ``paper``
only where the paper's public text says it (quoted in ``quote``), ``ours`` otherwise.
``expected`` is what we wrote down before running: a set of verdicts a control or a "no" world
should get (``None`` for the open questions the study asks). Backbones from an ablation world
are named ``<world>:<variant>`` (e.g. ``content_only:vise``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from vise_lib.study.reference_features import REFERENCES
from vise_lib.verdicts.results import compare
from vise_lib.verdicts.statistics import MIN_SEEDS, Rule

PAPER_QUOTE = (
    'the representation "transfers well to subjective downstream computer vision tasks like emotion '
    'recognition or political bias classification"'
)
#: "a does not beat b", resolved: an unresolved interval is not evidence of a "no"
NOT_A_WIN = ["equivalent", "reversed"]
#: "a and b do not differ": only an interval inside [−ε, ε] shows it (a null world must reach it,
#: or be reported as underpowered with its equivalence power)
NO_DIFFERENCE = ["equivalent"]

#: The claims, in the order the summary shows them.
CLAIMS = (
    {
        "claim": "engagement beats object labels on emotion",
        "a": "vise",
        "b": "object",
        "task": "emotion",
        "source": "ours",
        "quote": PAPER_QUOTE,
        "expected": None,
        "kind": "question",
    },
    {
        "claim": "engagement beats object labels on stance",
        "a": "vise",
        "b": "object",
        "task": "stance",
        "source": "ours",
        "quote": PAPER_QUOTE,
        "expected": None,
        "kind": "question",
    },
    {
        "claim": "Δ_eng: engagement beats its own shuffled-label control on emotion",
        "a": "vise",
        "b": "shuffled",
        "task": "emotion",
        "source": "ours",
        "expected": None,
        "kind": "headline",
    },
    {
        "claim": "Δ_eng: engagement beats its own shuffled-label control on stance",
        "a": "vise",
        "b": "shuffled",
        "task": "stance",
        "source": "ours",
        "expected": None,
        "kind": "headline",
    },
    {
        "claim": "engagement beats self-supervision (SimCLR) on emotion",
        "a": "vise",
        "b": "simclr",
        "task": "emotion",
        "source": "ours",
        "expected": None,
        "kind": "question",
    },
    {
        "claim": "engagement beats no pretraining on emotion",
        "a": "vise",
        "b": "random",
        "task": "emotion",
        "source": "ours",
        "expected": None,
        "kind": "question",
    },
    {
        "claim": "object labels stay better on object recognition",
        "a": "object",
        "b": "vise",
        "task": "object",
        "source": "ours",
        "expected": ["holds"],
        "kind": "control",
    },
    {
        "claim": "object labels beat no pretraining on emotion (the baseline is not a strawman)",
        "a": "object",
        "b": "random",
        "task": "emotion",
        "source": "ours",
        "expected": ["holds"],
        "kind": "control",
    },
    {
        "claim": "the affect oracle beats engagement on emotion (a ceiling)",
        "a": "oracle",
        "b": "vise",
        "task": "emotion",
        "source": "ours",
        "expected": ["holds"],
        "kind": "control",
    },
    {
        "claim": "engagement beats hand-made colour/texture statistics on emotion",
        "a": "vise",
        "b": "handmade",
        "task": "emotion",
        "source": "ours",
        "expected": None,
        "kind": "question",
    },
    {
        "claim": "engagement beats the pooled-pixel probe on emotion",
        "a": "vise",
        "b": "pixels",
        "task": "emotion",
        "source": "ours",
        "expected": None,
        "kind": "question",
    },
    # "no" worlds and the noise control (04_ablations): same images, only the engagement differs.
    {
        "claim": "content-only world: engagement does not beat object labels on emotion",
        "a": "content_only:vise",
        "b": "object",
        "task": "emotion",
        "source": "ours",
        "expected": NOT_A_WIN,
        "kind": "no-world",
    },
    {
        "claim": "non-visual world: engagement is no better than shuffled labels on emotion",
        "a": "nonvisual_only:vise",
        "b": "shuffled",
        "task": "emotion",
        "source": "ours",
        "expected": NO_DIFFERENCE,
        "kind": "no-world",
    },
    {
        "claim": "non-visual world: engagement is no better than shuffled labels on stance",
        "a": "nonvisual_only:vise",
        "b": "shuffled",
        "task": "stance",
        "source": "ours",
        "expected": NO_DIFFERENCE,
        "kind": "no-world",
    },
    {
        "claim": "world seed 1: engagement beats object labels on emotion",
        "a": "world_seed_1:vise",
        "b": "world_seed_1:object",
        "task": "emotion",
        "source": "ours",
        "expected": None,
        "kind": "seed check",
    },
    {
        "claim": "k-means seed 1 vs seed 0: the vise backbones differ on emotion",
        "a": "kmeans_seed_1:vise",
        "b": "vise",
        "task": "emotion",
        "source": "ours",
        "expected": None,
        "kind": "seed check",
    },
    {
        "claim": "engagement_noise = 1: engagement is no better than shuffled labels on emotion",
        "a": "noise_1:vise",
        "b": "shuffled",
        "task": "emotion",
        "source": "ours",
        "expected": NO_DIFFERENCE,
        "kind": "null control",
    },
    {
        "claim": "weaker content→affect tie: engagement beats object labels on emotion",
        "a": "weak_tie:vise",
        "b": "weak_tie:object",
        "task": "emotion",
        "source": "ours",
        "expected": None,
        "kind": "second world",
    },
    {
        "claim": "weaker content→affect tie: Δ_eng on emotion",
        "a": "weak_tie:vise",
        "b": "weak_tie:shuffled",
        "task": "emotion",
        "source": "ours",
        "expected": None,
        "kind": "second world",
    },
    {
        "claim": "weaker content→affect tie: engagement beats object labels on stance",
        "a": "weak_tie:vise",
        "b": "weak_tie:object",
        "task": "stance",
        "source": "ours",
        "expected": None,
        "kind": "second world",
    },
)

#: The main-world claims the pretraining-budget ablation repeats (its backbones ``budget_<f>x:<variant>``).
BUDGET_VARIANTS = ("vise", "object", "shuffled")


def budget_claims(points: Sequence[str], claims=CLAIMS) -> list[dict]:
    """For each budget point (``budget_2x`` ...), the main-world claims between its variants, with
    both backbones taken from that point; ``main_claim`` names the claim it repeats."""
    out = []
    for p in points:
        for c in claims:
            if ":" in c["a"] or ":" in c["b"] or {c["a"], c["b"]} - set(BUDGET_VARIANTS):
                continue
            out.append(
                {
                    **c,
                    "claim": f"{p}: {c['claim']}",
                    "a": f"{p}:{c['a']}",
                    "b": f"{p}:{c['b']}",
                    "kind": "budget",
                    "main_claim": c["claim"],
                }
            )
    return out


def available(correct: Mapping, backbone: str, task: str) -> bool:
    return any(b == backbone and t == task for b, t, _, _ in correct)


def study_claims(correct: Mapping, claims=CLAIMS) -> list[dict]:
    """:data:`CLAIMS` plus the :func:`budget_claims` of every budget point in ``correct``."""
    points = sorted({b.split(":", 1)[0] for b, _, _, _ in correct if b.startswith("budget_") and ":" in b})
    return list(claims) + budget_claims(points, claims)


def evaluate_claims(
    correct: Mapping,
    min_effect: float,
    epsilon: float,
    claims=None,
    n_boot: int = 2000,
    min_seeds: int = MIN_SEEDS,
) -> list[dict]:
    """One row per claim whose backbones have results (others are listed by :func:`missing_claims`);
    ``claims`` defaults to :func:`study_claims`. The verdict rule: δ = ``min_effect``, ε = ``epsilon``,
    and a trained backbone needs ``min_seeds`` pretraining seeds (else ``exploratory``; the
    reference features :data:`~vise_lib.study.reference_features.REFERENCES` are fixed).
    Each row adds ``as_expected`` (None for open questions and exploratory rows)."""
    claims = study_claims(correct) if claims is None else claims
    out, rule = [], Rule(min_effect, epsilon, n_boot, min_seeds=min_seeds, fixed=tuple(REFERENCES))
    for c in claims:
        if not (available(correct, c["a"], c["task"]) and available(correct, c["b"], c["task"])):
            continue
        extra = {k: c[k] for k in ("source", "expected", "kind", "quote", "main_claim") if k in c}
        row = compare(correct, c["a"], c["b"], c["task"], c["claim"], rule, **extra)
        judged = c["expected"] is not None and row["verdict"] != "exploratory"
        row["as_expected"] = row["verdict"] in c["expected"] if judged else None
        out.append(row)
    return out


def missing_claims(correct: Mapping, claims=CLAIMS) -> list[str]:
    """Claims that could not be judged because a backbone has no results in this run."""
    return [
        c["claim"]
        for c in claims
        if not (available(correct, c["a"], c["task"]) and available(correct, c["b"], c["task"]))
    ]


VERDICT_WORDS = {
    "holds": "holds",
    "reversed": "is **reversed**",
    "equivalent": "is **equivalent** (|Δ| ≤ ε)",
    "unresolved": "is **unresolved**",
    "exploratory": "is **exploratory** (fewer pretraining seeds than the rule needs: no verdict)",
}


def sentence(row: Mapping) -> str:
    """One plain sentence for a claim row: its verdict, the difference with its interval, the
    pretraining seeds behind it and the smallest effect the design could detect; for a Δ_eng
    (``headline``) claim, what that difference measures."""
    s = (
        f"*{row['claim']}* ({row['task']}) {VERDICT_WORDS[row['verdict']]}: {row['a']} − {row['b']} = "
        f"{row['diff']:+.1f} points, 95 % CI [{row['ci_low']:+.1f}, {row['ci_high']:+.1f}], "
        f"{row.get('n_seeds_a', '?')} vs {row.get('n_seeds_b', '?')} pretraining seeds"
    )
    if "mde" in row:
        s += f", smallest detectable effect {row['mde']:.1f} points"
    if row["kind"] == "headline":
        s += " (the part of vise's result credited to the engagement signal rather than to any K-way labels)"
    if row.get("expected") is not None and row.get("as_expected") is not None:
        s += f"; expected beforehand: {' or '.join(row['expected'])} — " + (
            "**as expected**" if row["as_expected"] else "**not as expected**"
        )
        if not row["as_expected"] and row["expected"] == ["equivalent"] and "equivalence_power" in row:
            s += f" (the design reaches *equivalent* for a true null with probability {row['equivalence_power']:.2f})"
    return s + "."


def in_words(rows: Sequence[Mapping]) -> list[str]:
    """The claim rows in plain sentences, one per claim (:func:`sentence`)."""
    return [sentence(c) for c in rows]


def _find(rows: Sequence[Mapping], a: str, b: str, task: str) -> Mapping | None:
    return next((r for r in rows if r["a"] == a and r["b"] == b and r["task"] == task), None)


def _short(r: Mapping | None) -> str:
    if r is None:
        return "not run"
    return f"**{r['verdict']}**, {r['diff']:+.1f} points [{r['ci_low']:+.1f}, {r['ci_high']:+.1f}]"


def _missed(r: Mapping) -> str:
    """A claim that did not come out as expected, with its verdict and, for a null left
    unresolved, its power to come out equivalent (an underpowered null is not a failed one)."""
    why = f"{r['verdict']}, {r['diff']:+.1f} [{r['ci_low']:+.1f}, {r['ci_high']:+.1f}]"
    if r["verdict"] == "unresolved" and "equivalent" in (r.get("expected") or []) and "equivalence_power" in r:
        why += f"; power to come out equivalent {r['equivalence_power']:.2f}"
    return f"{r['claim']} ({why})"


def answer_lines(rows: Sequence[Mapping], gains: Mapping[str, Mapping[str, float]] | None = None) -> list[str]:
    """The study's answer in five lines, from the claim rows (``summary/claims.json``): vise vs
    object labels, Δ_eng, vise vs the reference features, the controls and "no" worlds, and
    whether twice the pretraining budget changes the verdicts; ``gains`` (budget point ->
    variant -> held-out gain in points, :func:`vise_lib.stages.ablations.budget_gains`) adds what
    the extra epochs taught the backbones about their own labels."""
    tasks = list(dict.fromkeys(r["task"] for r in rows if r["a"] == "vise" and ":" not in r["b"])) or ["emotion"]
    line = []
    line.append(
        "**Engagement vs object labels**: "
        + "; ".join(f"{t}: {_short(_find(rows, 'vise', 'object', t))}" for t in tasks if t != "object")
        + "."
    )
    line.append(
        "**Δ_eng (engagement vs its shuffled-label control)**: "
        + "; ".join(f"{r['task']}: {_short(r)}" for r in rows if r["kind"] == "headline")
        + "."
    )
    refs = [r for r in rows if r["a"] == "vise" and r["b"] in REFERENCES]
    line.append(
        "**Against features with no learning** "
        + ("; ".join(f"vise − {r['b']} on {r['task']}: {_short(r)}" for r in refs) if refs else "not run")
        + "."
    )
    checked = [r for r in rows if r.get("as_expected") is not None]
    failed = [_missed(r) for r in checked if not r["as_expected"]]
    line.append(
        f'**Controls and "no" worlds**: {len(checked) - len(failed)} of {len(checked)} came out as written down '
        "beforehand" + (f"; not as expected: {'; '.join(failed)}" if failed else "") + "."
    )
    budget = [r for r in rows if r["kind"] == "budget"]
    judged = [r for r in budget if r["verdict"] != "exploratory"]
    main = {r["claim"]: r["verdict"] for r in rows}
    same = [r for r in judged if main.get(r.get("main_claim")) == r["verdict"]]
    if judged:
        budget_line = f"{len(same)} of {len(judged)} repeated verdicts unchanged."
    elif budget:
        budget_line = "exploratory only (fewer pretraining seeds than a verdict needs)."
    else:
        budget_line = "not run in this preset."
    for point, by_variant in (gains or {}).items():
        taught = ", ".join(f"{v} {g:+.1f}" for v, g in by_variant.items())
        budget_line += f" {point}: held-out accuracy on the backbones' own labels changed by {taught} points."
    line.append(f"**More pretraining budget**: {budget_line}")
    return line


def answer_box(
    rows: Sequence[Mapping], preset: str = "", gains: Mapping[str, Mapping[str, float]] | None = None
) -> str:
    """The five-line answer (:func:`answer_lines`) as a Markdown block quote, from ``summary/claims.json``
    (and the budget points' held-out ``gains``, when given)."""
    where = f" of the `{preset}` run" if preset else ""
    head = f"> **The answer{where}** (generated from `summary/claims.json`; verdicts by the rule fixed beforehand)"
    return "\n".join([head, ">", *[f"> - {line}" for line in answer_lines(rows, gains)]]) + "\n"
