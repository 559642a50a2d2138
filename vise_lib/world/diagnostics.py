"""Diagnostics for the synthetic world: calibration probes, tables and figures.

Every function takes a world directory written by :func:`vise_lib.world.generate.generate_world` and
returns plain numbers, a pandas DataFrame or a matplotlib Figure (nothing is shown or saved).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np

from vise_lib.world.generate import (
    AFFECTS,
    OBJECTS,
    REACTIONS,
    SPLITS,
    STANCES,
    load_downstream,
    load_latents,
    load_posts,
)

_EMOJI = re.compile("[\U0001f000-\U0001ffff\u2600-\u27bf\ufe0f]")


def _fit_accuracy(xtr, ytr, evals, c):
    """Fit a logistic regression on (xtr, ytr); return its accuracy on each (x, y) in ``evals``."""
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=c, max_iter=3000).fit(xtr, ytr)
    return [float((model.predict(x) == y).mean()) for x, y in evals]


def engagement_features(posts, fit_on=None):
    """Engagement-only features of manifest posts, as a sparse matrix.

    Reaction proportions, log1p of total reactions / shares / comment count, and a binary bag of
    comment words (emoji kept as tokens). The vocabulary is fitted on ``posts[:fit_on]``.
    """
    from scipy.sparse import csr_matrix, hstack
    from sklearn.feature_extraction.text import CountVectorizer

    r = np.array([[p["reactions"][k] for k in REACTIONS] for p in posts], float)
    dense = np.column_stack(
        [
            r / np.maximum(r.sum(1, keepdims=True), 1),
            np.log1p(r.sum(1)),
            np.log1p([p["shares"] for p in posts]),
            np.log1p([len(p["comments"]) for p in posts]),
        ]
    )
    text = [" ".join(p["comments"]) for p in posts]
    vec = CountVectorizer(binary=True, token_pattern=r"[^\s!?.,]+", min_df=2)
    vec.fit(text[:fit_on] if fit_on else text)
    return hstack([csr_matrix(dense), vec.transform(text)]).tocsr()


def engagement_probe(world_dir, latent="affect") -> dict:
    """Accuracy of predicting a post latent from engagement alone (needs scikit-learn).

    Logistic regression (C=1) on :func:`engagement_features`, trained on the first 2/3 of the posts
    and tested on the rest. Returns ``{"accuracy": acc, "chance": majority-class rate on test}``.
    """
    posts, lab = load_posts(world_dir), load_latents(world_dir)[latent]
    k = (2 * len(posts)) // 3
    feats = engagement_features(posts, fit_on=k)
    acc = _fit_accuracy(feats[:k], lab[:k], [(feats[k:], lab[k:])], 1.0)[0]
    return {"accuracy": acc, "chance": float(np.bincount(lab[k:]).max() / len(lab[k:]))}


def calibrate(world_dir) -> dict:
    """The world's engagement calibration: how well engagement alone predicts each latent.

    ``engagement_probe[latent]`` for affect, stance, object (the content class) and poster
    (:func:`engagement_probe`), ``chance`` for each (majority-class rate, keys
    ``engagement/<latent>``) and ``counts`` (posts, comments, posts without comments, split
    sizes). How well *pixels* predict each task is a reference row of the downstream stage.
    """
    eng = {k: engagement_probe(world_dir, k) for k in ("affect", "stance", "object", "poster")}
    posts = load_posts(world_dir)
    counts = {
        "posts": len(posts),
        "comments": int(sum(len(p["comments"]) for p in posts)),
        "posts_without_comments": int(sum(not p["comments"] for p in posts)),
    }
    counts.update({f"downstream_{s}": len(load_downstream(world_dir, s)["emotion"]) for s in SPLITS})
    return {
        "engagement_probe": {k: v["accuracy"] for k, v in eng.items()},
        "chance": {f"engagement/{k}": v["chance"] for k, v in eng.items()},
        "counts": counts,
    }


def calibration_table(calibration: dict, order=("affect", "stance", "object", "poster")):
    """The engagement probe's accuracy per latent next to chance and the margin above it
    (DataFrame, rounded to 3 places), from :func:`calibrate`'s result; latents in ``order``
    first (a results file read back has its keys sorted), then any others sorted."""
    import pandas as pd

    probe = calibration["engagement_probe"]
    targets = [t for t in order if t in probe] + sorted(set(probe) - set(order))
    rows = [
        {"probe": "engagement", "target": t, "accuracy": probe[t], "chance": calibration["chance"][f"engagement/{t}"]}
        for t in targets
    ]
    table = pd.DataFrame(rows).round(3)
    table["above chance"] = (table["accuracy"] - table["chance"]).round(3)
    return table


def read_model(world_dir) -> dict:
    """The world's generative model with the values used (``world.json``)."""
    return json.loads((Path(world_dir) / "world.json").read_text(encoding="utf-8"))


def model_tables(model: dict) -> list:
    """The generative model of :func:`read_model` as tables (DataFrames): the mean affect
    styles, their within-affect spread, the stance badge, the base reaction mix, the affect
    nudge of the reaction logits, and the engagement knobs and phrase weights."""
    import pandas as pd

    img, eng = model["image"], model["engagement"]
    knobs = {
        **eng["knobs"],
        "engagement_noise": eng["noise"],
        "p_true_class_phrase": round(eng["p_true_class_phrase"], 3),
        **{f"phrase weight {k}": round(v, 2) for k, v in eng["phrase_weights"].items()},
    }
    return [
        pd.DataFrame(img["style"]).T.rename_axis("affect style (mean)"),
        pd.Series({k: str(v) for k, v in img["style_std"].items()}, name="within-affect std").to_frame().T,
        pd.Series({k: str(v) for k, v in img["stance_badge"].items()}, name="stance badge").to_frame(),
        pd.Series(eng["base_mix"], name="base reaction mix").to_frame().T,
        pd.DataFrame(eng["affect_tilt"], index=REACTIONS).T.rename_axis("affect nudge (logits)"),
        pd.Series(knobs, name="engagement").to_frame(),
    ]


def _short(text, n=24):
    text = _EMOJI.sub("", text).strip()
    return text if len(text) <= n else text[: n - 1] + "…"


def plot_gallery(world_dir, n=12, cols=4):
    """The first ``n`` posts: image, hidden latents, first two comments and a tiny reaction bar."""
    import matplotlib.pyplot as plt

    posts = load_posts(world_dir)[:n]
    lat = load_latents(world_dir)
    images = np.load(f"{world_dir}/posts/images.npy", mmap_mode="r")
    rows = -(-len(posts) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.0 * cols, 4.0 * rows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, p in zip(axes.flat, posts, strict=False):
        i = p["image_index"]
        ax.imshow(images[i], interpolation="nearest")
        ax.set_title(
            f"{AFFECTS[lat['affect'][i]]} / {OBJECTS[lat['object'][i]]}\n"
            f"{STANCES[lat['stance'][i]]}, pop {lat['popularity'][i]:.2f}",
            fontsize=10,
        )
        counts = [p["reactions"][r] for r in REACTIONS]
        bar = ax.inset_axes([0.0, -0.28, 1.0, 0.22])
        bar.bar(range(len(REACTIONS)), counts, color="tab:blue")
        bar.set_xticks(range(len(REACTIONS)), REACTIONS, fontsize=8, rotation=60)
        bar.tick_params(axis="y", labelsize=8)
        text = "\n".join(_short(c) for c in p["comments"][:2]) or "(no comments)"
        ax.text(0.0, -0.5, text, transform=ax.transAxes, va="top", fontsize=9)
    fig.subplots_adjust(hspace=0.85, wspace=0.3, top=0.93, bottom=0.14)
    return fig


def plot_latent_distributions(world_dir):
    """Counts of affect, content (``object``) and stance, the popularity histogram, and affect x content
    counts (affect depends on content with weight ``affect_from_content``)."""
    import matplotlib.pyplot as plt
    import pandas as pd
    import seaborn as sns

    lat = load_latents(world_dir)
    fig = plt.figure(figsize=(12, 8.5))
    grid = fig.add_gridspec(2, 3, width_ratios=[1.2, 0.5, 1.0])
    ax = [fig.add_subplot(grid[0, 0]), fig.add_subplot(grid[1, :2]), fig.add_subplot(grid[0, 1])]
    ax += [fig.add_subplot(grid[0, 2]), fig.add_subplot(grid[1, 2])]
    for a, key, names in ((ax[0], "affect", AFFECTS), (ax[1], "object", OBJECTS), (ax[2], "stance", STANCES)):
        a.bar(names, np.bincount(lat[key], minlength=len(names)), color="tab:gray")
        a.set_title(f"{key} counts")
        a.tick_params(axis="x", rotation=90, labelsize=9 if key == "object" else 10)
    ax[3].hist(np.log10(lat["popularity"]), bins=40, color="tab:gray")
    ax[3].set(title="popularity", xlabel="log10 popularity")
    tab = pd.crosstab(
        pd.Categorical.from_codes(lat["affect"], AFFECTS),
        pd.Categorical.from_codes(lat["object"], OBJECTS),
        dropna=False,
    )
    sns.heatmap(tab, annot=False, cbar=False, ax=ax[4], cmap="Greys", xticklabels=False)
    ax[4].set(title="affect x content counts", xlabel="content class", ylabel="affect")
    fig.tight_layout()
    return fig


def reaction_mix_table(world_dir):
    """Empirical mean reaction proportions per affect (DataFrame: affects x reactions)."""
    import pandas as pd

    posts, aff = load_posts(world_dir), load_latents(world_dir)["affect"]
    r = np.array([[p["reactions"][k] for k in REACTIONS] for p in posts], float)
    prop = r / np.maximum(r.sum(1, keepdims=True), 1)
    keep = r.sum(1) > 0
    rows = [prop[keep & (aff == a)].mean(0) for a in range(len(AFFECTS))]
    return pd.DataFrame(rows, index=list(AFFECTS), columns=list(REACTIONS))


def top_words(world_dir, latent="affect", k=6):
    """Most over-represented comment words per class of a latent (DataFrame: classes x rank).

    Lift = share of the class's posts whose comments use the word / share of all posts; only
    words used in at least 2% of posts count (so rare typos do not top the list).
    """
    import pandas as pd
    from sklearn.feature_extraction.text import CountVectorizer

    posts, lab = load_posts(world_dir), load_latents(world_dir)[latent]
    names = {"affect": AFFECTS, "object": OBJECTS, "stance": STANCES}[latent]
    vec = CountVectorizer(binary=True, token_pattern=r"[a-z']{2,}", min_df=max(5, len(posts) // 50))
    x = vec.fit_transform([" ".join(p["comments"]) for p in posts]).toarray().astype(float)
    vocab, base = vec.get_feature_names_out(), x.mean(0) + 1e-9
    out = {}
    for c, name in enumerate(names):
        lift = x[lab == c].mean(0) / base
        order = np.lexsort((vocab, -lift))[:k]
        out[name] = [f"{vocab[j]} ({lift[j]:.1f}x)" for j in order]
    return pd.DataFrame(out, index=[f"#{i + 1}" for i in range(k)]).T


def plot_engagement_vs_latents(world_dir):
    """Mean reaction mix per affect, and comments / reactions / shares against the latents."""
    import matplotlib.pyplot as plt
    import seaborn as sns
    from matplotlib.ticker import NullFormatter

    posts, lat = load_posts(world_dir), load_latents(world_dir)
    n_comments = np.array([len(p["comments"]) for p in posts])
    total = np.array([sum(p["reactions"].values()) for p in posts])
    shares = np.array([p["shares"] for p in posts])
    fig, axes = plt.subplots(2, 2, figsize=(12, 8.5))
    ax = list(axes.flat)
    sns.heatmap(reaction_mix_table(world_dir), annot=True, fmt=".2f", cmap="viridis", ax=ax[0], cbar=False)
    ax[0].set(title="mean reaction mix per affect", xlabel="reaction", ylabel="affect")
    edges = np.quantile(lat["popularity"], np.linspace(0, 1, 11))
    b = np.clip(np.searchsorted(edges, lat["popularity"], side="right") - 1, 0, 9)
    mids = [np.median(lat["popularity"][b == i]) for i in range(10)]
    for a, y, name in ((ax[1], n_comments, "comments per post"), (ax[2], total, "reactions per post")):
        a.plot(mids, [y[b == i].mean() for i in range(10)], "o-", color="tab:blue")
        a.set(xscale="log", xlabel="popularity (decile median)", ylabel=name, title=f"{name} vs popularity")
        a.xaxis.set_minor_formatter(NullFormatter())
    ax[3].bar(AFFECTS, [shares[lat["affect"] == a].mean() for a in range(len(AFFECTS))], color="tab:gray")
    ax[3].set(title="mean shares per affect", ylabel="shares")
    ax[3].tick_params(axis="x", rotation=45)
    fig.tight_layout()
    return fig


def plot_downstream_examples(world_dir, task="emotion", split="train", per_class=8):
    """A grid of downstream images, one row per class of ``task`` (emotion, stance or object)."""
    import matplotlib.pyplot as plt

    d = load_downstream(world_dir, split)
    names = {"emotion": AFFECTS, "stance": STANCES, "object": OBJECTS}[task]
    fig, axes = plt.subplots(len(names), per_class, figsize=(1.3 * per_class, 1.4 * len(names)), squeeze=False)
    for c, name in enumerate(names):
        idx = np.flatnonzero(d[task] == c)[:per_class]
        for j, ax in enumerate(axes[c]):
            ax.set_xticks([]), ax.set_yticks([])
            if j < len(idx):
                ax.imshow(d["images"][idx[j]], interpolation="nearest")
        axes[c, 0].set_ylabel(name, fontsize=9)
    fig.suptitle(f"downstream {split}: rows = {task}")
    fig.tight_layout()
    return fig
