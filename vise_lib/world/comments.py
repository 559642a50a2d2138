"""Comment text of the synthetic world: phrase grammar, vocabularies, emoji and typos.

A comment is one or two phrases. Each phrase's *kind* is drawn per post from weights
(:func:`phrase_weights`): ``chatter`` (always weight ``CHATTER_WEIGHT``), ``content`` (talk about
the shape or texture, weight ∝ ``eng_content``), ``affect`` (weight ∝ ``eng_affect``),
``stance`` (∝ ``eng_stance``) and ``poster`` (the account's community talk, ∝ ``eng_nonvisual``).
A class-bearing phrase names the post's true class with probability ``p_true`` and a uniformly
random class otherwise, so at ``p_true = 0`` the words carry nothing about any latent.
Randomness comes only from the generator passed in.
"""

from __future__ import annotations

import numpy as np

from vise_lib.world.latents import AFFECTS, CONTENTS, SHAPES, STANCES, TEXTURES, content_parts

#: Phrase vocabularies (one line per class, phrases separated by " | "). Words are shared across
#: classes on purpose ("wow", "omg", "so", ...).
AFFECT_PHRASES = {
    affect: phrases.split(" | ")
    for affect, phrases in {
        "amusement": "lol this is hilarious | haha so funny | i can't stop laughing | this made my day | omg lol | haha wow",
        "awe": "wow just wow | breathtaking | incredible | mind blown | this is amazing | omg stunning",
        "contentment": "so peaceful | love this | makes me happy | cozy vibes | so relaxing | this is nice",
        "anger": "this is outrageous | so angry right now | unacceptable | disgusting | omg this is wrong | makes me furious",
        "fear": "this is terrifying | so creepy | scary af | nope nope nope | omg scary | chills",
        "sadness": "so sad | heartbreaking | this makes me cry | rip | tears | this is sad",
    }.items()
}
STANCE_PHRASES = {
    "left": ["community first", "support the union", "more public parks", "share the wealth"],
    "right": ["lower taxes", "back the farmers", "tradition matters", "less red tape"],
}
SHAPE_WORDS = {
    "circle": ["ball", "circle", "dot"],
    "square": ["box", "square", "block"],
    "triangle": ["triangle", "pyramid", "wedge"],
    "cross": ["cross", "plus sign", "x"],
}
TEXTURE_WORDS = {
    "stripes": ["stripes", "lines"],
    "checks": ["checks", "grid"],
    "dots": ["dots", "polka dots"],
    "blobs": ["blobs", "clouds"],
}
CONTENT_TEMPLATES = ["nice {}", "look at that {}", "is that a {}?", "the {} though", "love the {}"]
CHATTER = [
    "first!",
    "lol",
    "who else is here",
    "nice",
    "cool pic",
    "following",
    "same",
    "this",
    "bump",
    "ok",
    "wow",
    "seen this before",
    "where is this",
    "tag a friend",
    "so true",
    "i agree",
    "omg",
]
POSTER_TEMPLATES = ["{} fan here", "classic {}", "{} never misses", "go {}"]
EMOJI = {
    "amusement": ["😂", "🤣"],
    "awe": ["😮", "✨"],
    "contentment": ["😊", "🌿"],
    "anger": ["😡", "🤬"],
    "fear": ["😱", "😨"],
    "sadness": ["😢", "💔"],
}
CHATTER_WEIGHT = 1.5
#: Weight of each class-bearing phrase kind per unit of its engagement knob.
KIND_WEIGHT = {"content": 1.2, "affect": 0.5, "stance": 0.3, "poster": 0.5}
KINDS = ("chatter", "content", "affect", "stance", "poster")
COMMENT_SHAPE = {"p_two_phrases": 0.35, "p_emoji": 0.3}


def poster_names(n_posters: int) -> list[str]:
    """Account handles, one per poster (tokens of their own in the comments)."""
    return [f"acct{p:03d}" for p in range(n_posters)]


def content_phrases() -> list[list[str]]:
    """Per content class: template phrases naming its shape or its texture."""
    shape, texture, _ = content_parts(np.arange(len(CONTENTS)))
    return [
        [t.format(w) for t in CONTENT_TEMPLATES for w in SHAPE_WORDS[SHAPES[s]] + TEXTURE_WORDS[TEXTURES[x]]]
        for s, x in zip(shape, texture, strict=False)
    ]


def phrase_weights(cfg) -> dict[str, float]:
    """Unnormalized probabilities of the phrase kinds, from the engagement knobs."""
    knob = {"content": cfg.eng_content, "affect": cfg.eng_affect, "stance": cfg.eng_stance, "poster": cfg.eng_nonvisual}
    return {"chatter": CHATTER_WEIGHT, **{k: KIND_WEIGHT[k] * knob[k] for k in KIND_WEIGHT}}


def _flat_table(groups):
    """Flatten ``[[phrases of class 0], [class 1], ...]`` into (list, offsets, lengths)."""
    ln = np.array([len(g) for g in groups])
    return [p for g in groups for p in g], np.concatenate([[0], np.cumsum(ln)[:-1]]), ln


def _tables(n_posters):
    return {
        "affect": _flat_table([AFFECT_PHRASES[a] for a in AFFECTS]),
        "stance": _flat_table([STANCE_PHRASES[s] for s in STANCES]),
        "content": _flat_table(content_phrases()),
        "chatter": _flat_table([CHATTER]),
        "poster": _flat_table([[t.format(nm) for t in POSTER_TEMPLATES] for nm in poster_names(n_posters)]),
        "emoji": _flat_table([EMOJI[a] for a in AFFECTS]),
    }


def _pick(rng, table, cls):
    """Index into a flat phrase table for class indices ``cls`` (uniform within the class)."""
    _, off, ln = table
    return off[cls] + (rng.random(len(cls)) * ln[cls]).astype(np.int64)


def _noisy_class(rng, true_cls, n_cls, p_true):
    """The true class with probability ``p_true``, otherwise a uniformly random class."""
    keep = rng.random(len(true_cls)) < p_true
    return np.where(keep, true_cls, rng.integers(0, n_cls, len(true_cls)))


def sample_comments(rng, counts, lat, weights: dict, p_true: float, typo_rate: float, n_posters: int):
    """Comment strings for every post: a list (one list of strings per post).

    ``counts[i]`` comments for post ``i``; phrase kinds drawn with ``weights`` (see
    :func:`phrase_weights`); class-bearing phrases and emoji true with probability ``p_true``
    (emoji only when the affect weight is > 0); a comment gets a typo (adjacent swap or a dropped
    character) with probability ``typo_rate``.
    """
    tables = _tables(n_posters)
    counts = np.asarray(counts, dtype=np.int64)
    post = np.repeat(np.arange(len(counts)), counts)
    n_c = len(post)
    n_ph = 1 + (rng.random(n_c) < COMMENT_SHAPE["p_two_phrases"])
    ph_post = post[np.repeat(np.arange(n_c), n_ph)]
    w = np.array([weights[k] for k in KINDS], float)
    kind = rng.choice(len(KINDS), size=len(ph_post), p=w / w.sum())
    phrase = np.empty(len(ph_post), dtype=object)
    truth = {
        "affect": (lat["affect"], len(AFFECTS)),
        "stance": (lat["stance"], len(STANCES)),
        "content": (lat["object"], len(CONTENTS)),
        "poster": (lat["poster"], n_posters),
        "chatter": (np.zeros_like(lat["affect"]), 1),
    }
    for k, name in enumerate(KINDS):
        sel = np.flatnonzero(kind == k)
        true, n_cls = truth[name]
        cls = _noisy_class(rng, true[ph_post[sel]], n_cls, p_true)
        flat = tables[name][0]
        phrase[sel] = [flat[j] for j in _pick(rng, tables[name], cls).tolist()]
    has_emoji = (rng.random(n_c) < COMMENT_SHAPE["p_emoji"]) & (weights["affect"] > 0)
    e_cls = _noisy_class(rng, lat["affect"][post], len(AFFECTS), p_true)
    emoji = [tables["emoji"][0][j] for j in _pick(rng, tables["emoji"], e_cls).tolist()]
    typo, typo_swap, typo_pos = rng.random(n_c) < typo_rate, rng.random(n_c) < 0.5, rng.random(n_c)
    starts, phrase, texts = np.concatenate([[0], np.cumsum(n_ph)]).tolist(), phrase.tolist(), []
    for c in range(n_c):
        s = " ".join(phrase[starts[c] : starts[c + 1]])
        if typo[c] and len(s) > 3:
            i = int(typo_pos[c] * (len(s) - 1))
            s = s[:i] + s[i + 1] + s[i] + s[i + 2 :] if typo_swap[c] else s[:i] + s[i + 1 :]
        texts.append(s + " " + emoji[c] if has_emoji[c] else s)
    out, pos = [], 0
    for n in counts.tolist():
        out.append(texts[pos : pos + n])
        pos += n
    return out
