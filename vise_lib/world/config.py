"""The world's typed config (:class:`WorldConfig`, the preset's ``world`` section).

Every knob of the synthetic world, flat, so a preset or an ablation point changes one at a time.
Range rules live in :meth:`WorldConfig.__post_init__`; types are checked by
:class:`vise_lib.config.StageConfig`.
"""

from __future__ import annotations

from dataclasses import dataclass

from vise_lib.config import StageConfig


@dataclass(frozen=True)
class WorldConfig(StageConfig):
    """Parameters of the synthetic world.

    Sizes: ``seed`` (master seed), ``n_posts`` (pretraining posts), ``image_px`` (side, >= 16),
    ``n_train`` / ``n_val`` / ``n_test`` (downstream split sizes, shared by the three tasks).

    Latents and image: ``affect_from_content`` (0: affect independent of the content class,
    1: affect a function of it; in between p(affect | content) mixes the two),
    ``style_spread`` (within-affect spread of the colour-grading style, higher = more overlap),
    ``stance_spread`` (hue spread of the stance badge, higher = more overlap), ``pixel_noise``,
    ``n_heldout_content`` (content classes absent from the posts, present downstream),
    ``downstream_hue_shift`` (palette rotation of the downstream images, turns of the colour
    wheel), ``n_posters`` (accounts that post; a non-visual factor).

    Engagement: ``eng_content``, ``eng_affect`` (affect beyond content), ``eng_stance`` and
    ``eng_nonvisual`` (popularity and the poster) weight how much each factor shapes the
    reaction mix and the comments; ``engagement_noise`` blends every engagement channel toward a
    latent-free one (1: engagement independent of every latent); ``like_share`` is the
    share of "like" in the base reaction mix; ``reaction_concentration`` is the Dirichlet
    concentration of a post's mix around its expected mix (lower = noisier);
    ``comment_confusion`` is the share of class-bearing phrases drawn from a random class even
    at noise 0; ``mean_comments`` / ``mean_reactions`` / ``mean_shares`` are means at popularity
    1; ``popularity_sigma`` is the log-std of the per-post popularity; ``typo_rate`` the
    per-comment typo probability.
    """

    section = "world"

    seed: int = 0
    n_posts: int = 2000
    image_px: int = 32
    n_train: int = 600
    n_val: int = 300
    n_test: int = 600
    affect_from_content: float = 0.7
    style_spread: float = 1.0
    stance_spread: float = 1.0
    pixel_noise: float = 0.03
    n_heldout_content: int = 4
    downstream_hue_shift: float = 0.06
    n_posters: int = 40
    eng_content: float = 1.0
    eng_affect: float = 2.0
    eng_stance: float = 1.0
    eng_nonvisual: float = 1.0
    engagement_noise: float = 0.0
    like_share: float = 0.7
    reaction_concentration: float = 8.0
    comment_confusion: float = 0.3
    mean_comments: float = 4.0
    mean_reactions: float = 25.0
    mean_shares: float = 2.0
    popularity_sigma: float = 0.8
    typo_rate: float = 0.15

    def __post_init__(self) -> None:
        super().__post_init__()
        rules = [
            ("seed", self.seed >= 0, ">= 0"),
            ("n_posts", self.n_posts >= 1, ">= 1"),
            ("image_px", self.image_px >= 16, ">= 16"),
            ("n_posters", self.n_posters >= 1, ">= 1"),
            ("n_heldout_content", 0 <= self.n_heldout_content <= 16, "in [0, 16]"),
        ]
        rules += [(k, getattr(self, k) >= 1, ">= 1") for k in ("n_train", "n_val", "n_test")]
        rules += [
            (k, 0.0 <= getattr(self, k) <= 1.0, "in [0, 1]")
            for k in ("engagement_noise", "comment_confusion", "typo_rate", "affect_from_content")
        ]
        rules.append(("like_share", 0.0 < self.like_share < 1.0, "in (0, 1)"))
        rules += [
            (k, getattr(self, k) >= 0, ">= 0")
            for k in (
                "mean_comments",
                "mean_reactions",
                "mean_shares",
                "popularity_sigma",
                "pixel_noise",
                "eng_content",
                "eng_affect",
                "eng_stance",
                "eng_nonvisual",
                "downstream_hue_shift",
            )
        ]
        rules += [(k, getattr(self, k) > 0, "> 0") for k in ("reaction_concentration", "style_spread", "stance_spread")]
        bad = [f"{k}={getattr(self, k)!r} (must be {why})" for k, ok, why in rules if not ok]
        if bad:
            raise ValueError("WorldConfig: bad values: " + "; ".join(bad))
