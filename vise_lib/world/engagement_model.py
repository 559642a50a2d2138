"""How the synthetic world's audience engages: reaction counts, shares and comments from latents.

Engagement is sampled from the latents and the engagement knobs only, never from the pixels.

**Reactions.** "like" takes ``like_share`` of a post's expected mix whatever the post (likes
dominate and say little); the other five share the rest as softmax(base logits (4:2:2:1:1) +
``eng_content`` · C[content] + ``eng_affect`` · A[affect] + ``eng_stance`` · S[stance] +
``eng_nonvisual`` · P[poster]), where A is a weak, noisy affect map (:data:`AFFECT_TILT`: a nudge
toward one or two reactions per affect, never one-to-one) and C and P are random tables (C
fixed, P drawn per world). The post's own mix is Dirichlet around it
(concentration ``reaction_concentration``) and the counts are multinomial with a Poisson total
of mean ``mean_reactions`` · popularity^``eng_nonvisual``. ``engagement_noise`` λ blends the
mix with a latent-free one, weight λ.

**Shares**: Poisson(``mean_shares`` · popularity^``eng_nonvisual`` · m[affect]^``eng_affect``).
**Comments**: Poisson(``mean_comments`` · popularity^``eng_nonvisual``) comments per post, text
from :mod:`vise_lib.world.comments`. Under noise λ the popularity exponent and every class
phrase's probability of being true shrink by (1 - λ).
"""

from __future__ import annotations

import numpy as np

from vise_lib.world.comments import phrase_weights, sample_comments
from vise_lib.world.latents import AFFECTS, CONTENTS, STANCES

REACTIONS = ("like", "love", "haha", "wow", "sad", "angry")
#: Weak per-affect nudges of the reaction logits (rows AFFECTS, columns REACTIONS).
AFFECT_TILT = {
    "amusement": [0.0, 0.3, 1.0, 0.2, 0.0, 0.0],
    "awe": [0.0, 0.4, 0.0, 1.0, 0.0, 0.0],
    "contentment": [0.0, 0.9, 0.2, 0.0, 0.0, 0.0],
    "anger": [0.0, 0.0, 0.2, 0.0, 0.3, 1.1],
    "fear": [0.0, 0.0, 0.0, 0.6, 0.6, 0.3],
    "sadness": [0.0, 0.3, 0.0, 0.0, 1.1, 0.2],
}
STANCE_TILT = {"left": [0.0, 0.25, 0.0, 0.0, 0.0, -0.2], "right": [0.0, -0.2, 0.0, 0.0, 0.0, 0.25]}
#: Share-rate multiplier per affect (raised to ``eng_affect``).
SHARE_MULT = {"amusement": 1.5, "awe": 1.4, "contentment": 0.8, "anger": 1.3, "fear": 0.9, "sadness": 0.6}
#: Std of the random content and poster reaction tables (logits).
TABLE_STD = {"content": 0.6, "poster": 0.6}


REST_WEIGHTS = (4.0, 2.0, 2.0, 1.0, 1.0)  # love, haha, wow, sad, angry in the latent-free mix


def base_logits(like_share: float) -> np.ndarray:
    """Logits of the latent-free mix: ``like_share`` of "like", the rest split 4:2:2:1:1."""
    rest = np.array(REST_WEIGHTS)
    return np.log(np.concatenate([[like_share], (1 - like_share) * rest / rest.sum()]))


def content_table() -> np.ndarray:
    """Reaction-logit offsets per content class (fixed: the same in every world)."""
    return TABLE_STD["content"] * np.random.default_rng(777).standard_normal((len(CONTENTS), len(REACTIONS)))


def poster_table(rng, n_posters: int) -> np.ndarray:
    """Reaction-logit offsets per poster (drawn per world)."""
    return TABLE_STD["poster"] * rng.standard_normal((n_posters, len(REACTIONS)))


def expected_mix(cfg, lat, posters: np.ndarray) -> np.ndarray:
    """The expected reaction mix (n, 6) of each post before noise ("like" fixed at ``like_share``)."""
    logits = (
        np.log(np.array(REST_WEIGHTS))[None]
        + cfg.eng_content * content_table()[lat["object"], 1:]
        + cfg.eng_affect * np.array([AFFECT_TILT[a] for a in AFFECTS])[lat["affect"], 1:]
        + cfg.eng_stance * np.array([STANCE_TILT[s] for s in STANCES])[lat["stance"], 1:]
        + cfg.eng_nonvisual * posters[lat["poster"], 1:]
    )
    p = np.exp(logits - logits.max(1, keepdims=True))
    rest = (1 - cfg.like_share) * p / p.sum(1, keepdims=True)
    return np.column_stack([np.full(len(rest), cfg.like_share), rest])


def sample_engagement(cfg, lat, posters, rng, comment_rng):
    """Reaction counts (n, 6) int64, shares (n,) int64 and comment lists, from the latents only."""
    lam = cfg.engagement_noise
    mix = expected_mix(cfg, lat, posters)
    null = np.exp(base_logits(cfg.like_share))
    g_sig, g_null = (
        rng.gamma(cfg.reaction_concentration * mix),
        rng.gamma(cfg.reaction_concentration * null[None].repeat(len(mix), 0)),
    )
    p = (1 - lam) * g_sig / g_sig.sum(1, keepdims=True) + lam * g_null / g_null.sum(1, keepdims=True)
    p = np.clip(p, 0, None)
    p /= p.sum(1, keepdims=True) * (1 + 1e-9)
    pop = lat["popularity"] ** (cfg.eng_nonvisual * (1 - lam))
    share_mult = np.array([SHARE_MULT[a] for a in AFFECTS])[lat["affect"]] ** (cfg.eng_affect * (1 - lam))
    reactions = rng.multinomial(rng.poisson(cfg.mean_reactions * pop), p)
    shares = rng.poisson(cfg.mean_shares * pop * share_mult)
    n_comments = rng.poisson(cfg.mean_comments * pop)
    comments = sample_comments(
        comment_rng,
        n_comments,
        lat,
        phrase_weights(cfg),
        (1 - lam) * (1 - cfg.comment_confusion),
        cfg.typo_rate,
        cfg.n_posters,
    )
    return reactions.astype(np.int64), shares.astype(np.int64), comments
