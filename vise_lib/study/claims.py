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

from vise_lib.verdicts.results import compare
from vise_lib.verdicts.statistics import Rule

PAPER_QUOTE = (
    'the representation "transfers well to subjective downstream computer vision tasks like emotion '
    'recognition or political bias classification"'
)
NOT_A_WIN = ["equivalent", "unresolved", "reversed"]  # "a does not beat b"
NO_DIFFERENCE = ["equivalent", "unresolved"]  # "a and b do not differ (or the data cannot tell)"

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
)


def available(correct: Mapping, backbone: str, task: str) -> bool:
    return any(b == backbone and t == task for b, t, _, _ in correct)


def evaluate_claims(
    correct: Mapping, min_effect: float, epsilon: float, claims=CLAIMS, n_boot: int = 2000
) -> list[dict]:
    """One row per claim whose backbones have results (others are skipped and listed in ``missing``
    of :func:`missing_claims`); each row adds ``as_expected`` (None for open questions)."""
    out, rule = [], Rule(min_effect, epsilon, n_boot)
    for c in claims:
        if not (available(correct, c["a"], c["task"]) and available(correct, c["b"], c["task"])):
            continue
        extra = {k: c[k] for k in ("source", "expected", "kind") if k in c}
        if "quote" in c:
            extra["quote"] = c["quote"]
        row = compare(correct, c["a"], c["b"], c["task"], c["claim"], rule, **extra)
        row["as_expected"] = None if c["expected"] is None else row["verdict"] in c["expected"]
        out.append(row)
    return out


def missing_claims(correct: Mapping, claims=CLAIMS) -> list[str]:
    """Claims that could not be judged because a backbone has no results in this run."""
    return [
        c["claim"]
        for c in claims
        if not (available(correct, c["a"], c["task"]) and available(correct, c["b"], c["task"]))
    ]


def sentence(row: Mapping) -> str:
    """One plain sentence for a claim row."""
    word = {
        "holds": "holds",
        "reversed": "is **reversed**",
        "equivalent": "is **equivalent** (|Δ| ≤ ε)",
        "unresolved": "is **unresolved**",
    }[row["verdict"]]
    s = (
        f"*{row['claim']}* ({row['task']}): {word}: {row['a']} − {row['b']} = {row['diff']:+.1f} points, "
        f"95 % CI [{row['ci_low']:+.1f}, {row['ci_high']:+.1f}]"
    )
    if row.get("expected") is not None:
        s += f"; expected beforehand: {' or '.join(row['expected'])} — " + (
            "**as expected**" if row["as_expected"] else "**not as expected**"
        )
    return s + "."


#: The sentence of a Δ_eng claim (``kind`` ``headline``: vise against its shuffled-label control),
#: filled from the claim's row.
DELTA_ENG_SENTENCE = (
    "**Δ_eng = vise − shuffled** on {task}: {diff:+.1f} points (95 % CI [{ci_low:+.1f}, {ci_high:+.1f}]), "
    "the part of vise's result this run can credit to the engagement signal rather than to training on any "
    "K-way labels."
)


def in_words(rows: Sequence[Mapping]) -> list[str]:
    """The claim rows in plain sentences: one per Δ_eng (headline) claim, then :func:`sentence` of each."""
    return [DELTA_ENG_SENTENCE.format(**c) for c in rows if c["kind"] == "headline"] + [sentence(c) for c in rows]
