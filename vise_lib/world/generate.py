"""The embedded synthetic social world: posts with hidden latents, images and engagement.

Each post has hidden latents — an object (shape), an affect, a stance and a popularity factor.
The image is rendered from object, affect and stance (:mod:`vise_lib.world.render`); the engagement
(reaction counts, shares, comments) is sampled from the latents only, never from pixels.
``engagement_noise`` blends all engagement toward latent-independent noise: at 0 it carries the
designed (recoverable, not perfect) signal, at 1 none. Downstream tasks (``emotion``, ``stance``,
``object``) are fresh images from the same renderer on separate random streams.

Latent model (ours): object, affect and stance are independent and uniform; popularity is
lognormal with mean 1, independent of the rest. Everything is deterministic given the seed.
"""
from __future__ import annotations

import dataclasses
import io
import json
import os
import pathlib
import shutil
import tempfile
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from vise_lib.world import render
from vise_lib.world.render import AFFECTS, OBJECTS, STANCES

__all__ = ["AFFECTS", "OBJECTS", "STANCES", "REACTIONS", "WorldConfig", "generate_world",
           "load_latents", "load_downstream", "load_posts", "world_model"]

REACTIONS = ("like", "love", "haha", "wow", "sad", "angry")
#: Mean reaction mix per affect (rows follow AFFECTS, columns REACTIONS).
REACTION_MIX = {
    "amusement":   [0.35, 0.15, 0.35, 0.07, 0.03, 0.05],
    "awe":         [0.35, 0.20, 0.04, 0.34, 0.04, 0.03],
    "contentment": [0.45, 0.34, 0.07, 0.08, 0.03, 0.03],
    "anger":       [0.30, 0.03, 0.07, 0.08, 0.12, 0.40],
    "fear":        [0.32, 0.04, 0.05, 0.24, 0.20, 0.15],
    "sadness":     [0.32, 0.12, 0.03, 0.05, 0.43, 0.05],
}
#: Log-multiplicative tilt of the reaction mix per stance (a little stance signal).
STANCE_TILT = {"left": [0.0, 0.15, 0.0, 0.0, 0.0, -0.10], "right": [0.0, -0.10, 0.0, 0.0, 0.0, 0.15]}
#: Share-rate multiplier per affect.
SHARE_MULT = {"amusement": 1.5, "awe": 1.4, "contentment": 0.8, "anger": 1.3, "fear": 0.9,
              "sadness": 0.6}
TIMESTAMP_START = 1_600_000_000
CHUNK = 1024  # images rendered per random stream; fixed so output never depends on threading
_STREAM = {"latents": 1, "images": 2, "engagement": 3, "comments": 4, "time": 5,
           "train": 11, "val": 12, "test": 13}
SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class WorldConfig:
    """Parameters of the synthetic world (flat, so papermill can inject each one).

    seed: master seed; n_posts: pretraining posts; image_px: image side (>= 16);
    engagement_noise: 0 = designed signal, 1 = engagement independent of every latent;
    mean_comments: mean comments per post (Poisson, scaled by popularity);
    n_train / n_val / n_test: downstream split sizes (shared by all three tasks);
    mean_reactions / mean_shares: mean counts per post at popularity 1;
    popularity_sigma: log-std of the lognormal popularity (mean 1);
    reaction_concentration: Dirichlet concentration of a post's reaction mix around its affect's
    mean mix (lower = noisier); comment_confusion: share of class-bearing comment phrases drawn
    from a random class even at noise 0; typo_rate: probability a comment has a typo;
    style_spread: multiplier on the within-affect spread of image style (higher = more overlap);
    pixel_noise: std of Gaussian pixel noise (pixels in [0, 1]); clutter: mean number of clutter
    discs per image (0..4).
    """

    seed: int = 0
    n_posts: int = 2000
    image_px: int = 32
    engagement_noise: float = 0.0
    mean_comments: float = 4.0
    n_train: int = 600
    n_val: int = 300
    n_test: int = 600
    mean_reactions: float = 25.0
    mean_shares: float = 2.0
    popularity_sigma: float = 0.8
    reaction_concentration: float = 6.0
    comment_confusion: float = 0.3
    typo_rate: float = 0.15
    style_spread: float = 1.0
    pixel_noise: float = 0.04
    clutter: float = 2.0

    def __post_init__(self):
        bad = []
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            want_int = f.type in ("int", int)
            ok = (int, np.integer) if want_int else (int, float, np.integer, np.floating)
            if isinstance(v, bool) or not isinstance(v, ok):
                bad.append(f"{f.name}={v!r} (expected {'an integer' if want_int else 'a number'})")
            elif not np.isfinite(v):
                bad.append(f"{f.name}={v!r} (must be finite)")
            else:  # plain Python numbers, so the config is JSON-serializable and compares equal
                object.__setattr__(self, f.name, int(v) if want_int else float(v))
        if bad:
            raise ValueError("WorldConfig: bad values: " + "; ".join(bad))
        rules = [("seed", self.seed >= 0, ">= 0"), ("n_posts", self.n_posts >= 1, ">= 1"),
                 ("image_px", self.image_px >= 16, ">= 16")]
        rules += [(k, getattr(self, k) >= 1, ">= 1") for k in ("n_train", "n_val", "n_test")]
        rules += [(k, 0.0 <= getattr(self, k) <= 1.0, "in [0, 1]")
                  for k in ("engagement_noise", "comment_confusion", "typo_rate")]
        rules += [(k, getattr(self, k) >= 0, ">= 0") for k in
                  ("mean_comments", "mean_reactions", "mean_shares", "popularity_sigma", "pixel_noise")]
        rules.append(("clutter", 0.0 <= self.clutter <= 4.0, "in [0, 4]"))
        rules += [(k, getattr(self, k) > 0, "> 0") for k in ("reaction_concentration", "style_spread")]
        bad = [f"{k}={getattr(self, k)!r} (must be {why})" for k, ok, why in rules if not ok]
        if bad:
            raise ValueError("WorldConfig: bad values: " + "; ".join(bad))

    @classmethod
    def from_params(cls, params: dict) -> "WorldConfig":
        """Build from a flat dict (e.g. papermill parameters).

        Unknown keys, wrong types (a string or bool where a number belongs, a float where an
        integer belongs) and out-of-range values raise ``ValueError`` naming every offender.
        Integers are accepted for float fields.
        """
        names = [f.name for f in dataclasses.fields(cls)]
        unknown = sorted(set(params) - set(names))
        if unknown:
            raise ValueError(f"WorldConfig: unknown parameter(s) {unknown}; valid: {names}")
        return cls(**params)


def world_model(cfg: WorldConfig) -> dict:
    """Everything that defines the world: config, class names and all generative tables."""
    return {"format": "vise-world/1", "config": dataclasses.asdict(cfg),
            "classes": {"affects": AFFECTS, "objects": OBJECTS, "stances": STANCES,
                        "reactions": REACTIONS},
            "latents": {"object": "uniform", "affect": "uniform", "stance": "uniform, independent",
                        "popularity": f"lognormal(-sigma^2/2, sigma={cfg.popularity_sigma}), mean 1"},
            "image": {"style_mean": render.STYLE_MEAN,
                      "style_std": {k: v * cfg.style_spread for k, v in render.STYLE_STD.items()},
                      "emblem": render.EMBLEM, "geometry": render.GEOMETRY,
                      "pixel_noise": cfg.pixel_noise, "clutter_mean": cfg.clutter},
            "engagement": {"reaction_mix": REACTION_MIX, "stance_tilt": STANCE_TILT,
                           "share_mult": SHARE_MULT, "noise": cfg.engagement_noise,
                           "p_true_class_phrase": (1 - cfg.engagement_noise) * (1 - cfg.comment_confusion),
                           "phrase_kinds": render.PHRASE_KINDS, "comment_shape": render.COMMENT_SHAPE},
            "vocabulary": {"affect": render.AFFECT_PHRASES, "stance": render.STANCE_PHRASES,
                           "object_words": render.OBJECT_WORDS, "object_templates": render.OBJECT_TEMPLATES,
                           "chatter": render.CHATTER, "emoji": render.EMOJI}}


def _rng(cfg, stream, *more):
    return np.random.default_rng(np.random.SeedSequence([cfg.seed, _STREAM[stream], *more]))


def _sample_latents(rng, n, sigma):
    obj = rng.integers(0, len(OBJECTS), n)
    affect = rng.integers(0, len(AFFECTS), n)
    stance = rng.integers(0, len(STANCES), n)
    pop = np.exp(sigma * rng.standard_normal(n) - sigma ** 2 / 2)
    return {"object": obj.astype(np.int64), "affect": affect.astype(np.int64),
            "stance": stance.astype(np.int64), "popularity": pop}


def _render(cfg, stream, lat):
    """Render uint8 images in fixed-size chunks, each on its own stream (two threads)."""
    n, px = len(lat["affect"]), cfg.image_px
    out = np.empty((n, px, px, 3), np.uint8)

    def job(c):
        s = slice(c * CHUNK, min(n, (c + 1) * CHUNK))
        img = render.render_images(_rng(cfg, stream, 1000 + c), lat["affect"][s], lat["stance"][s],
                                   lat["object"][s], px, cfg.style_spread, cfg.pixel_noise, cfg.clutter)
        out[s] = (img * 255 + 0.5).astype(np.uint8)

    with ThreadPoolExecutor(max_workers=min(2, os.cpu_count() or 1)) as ex:
        list(ex.map(job, range((n + CHUNK - 1) // CHUNK)))
    return out


def _sample_engagement(cfg, lat):
    """Reaction counts (n, 6), shares, and comment lists from the latents only."""
    rng, lam = _rng(cfg, "engagement"), cfg.engagement_noise
    aff, st = lat["affect"], lat["stance"]
    mix = np.array([REACTION_MIX[a] for a in AFFECTS])[aff] * np.exp(
        np.array([STANCE_TILT[s] for s in STANCES])[st])
    mix /= mix.sum(1, keepdims=True)
    null = np.broadcast_to(np.mean([REACTION_MIX[a] for a in AFFECTS], 0), mix.shape)
    g_sig, g_null = rng.gamma(cfg.reaction_concentration * mix), rng.gamma(cfg.reaction_concentration * null)
    p = (1 - lam) * g_sig / g_sig.sum(1, keepdims=True) + lam * g_null / g_null.sum(1, keepdims=True)
    p = np.clip(p, 0, None); p /= p.sum(1, keepdims=True) * (1 + 1e-9)
    pop = lat["popularity"] ** (1 - lam)
    share_mult = np.array([SHARE_MULT[a] for a in AFFECTS])[aff] ** (1 - lam)
    reactions = rng.multinomial(rng.poisson(cfg.mean_reactions * pop), p)
    shares = rng.poisson(cfg.mean_shares * pop * share_mult)
    n_comments = rng.poisson(cfg.mean_comments * pop)
    comments = render.sample_comments(_rng(cfg, "comments"), n_comments, aff, st, lat["object"],
                                      (1 - lam) * (1 - cfg.comment_confusion), cfg.typo_rate)
    return reactions.astype(np.int64), shares.astype(np.int64), comments


def _save_npz(path, arrays):
    """Like ``np.savez`` but byte-reproducible (fixed zip timestamps, sorted order)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
        for k in sorted(arrays):
            buf = io.BytesIO()
            np.lib.format.write_array(buf, np.ascontiguousarray(arrays[k]), allow_pickle=False)
            zf.writestr(zipfile.ZipInfo(k + ".npy", date_time=(1980, 1, 1, 0, 0, 0)), buf.getvalue())


def _write(cfg, tmp):
    (tmp / "posts").mkdir()
    (tmp / "downstream").mkdir()
    (tmp / "world.json").write_text(json.dumps(world_model(cfg), indent=1, ensure_ascii=False) + "\n",
                                    encoding="utf-8")
    lat = _sample_latents(_rng(cfg, "latents"), cfg.n_posts, cfg.popularity_sigma)
    np.save(tmp / "posts" / "images.npy", _render(cfg, "images", lat))
    _save_npz(tmp / "posts" / "latents.npz", lat)
    reactions, shares, comments = _sample_engagement(cfg, lat)
    ts = TIMESTAMP_START + 90 * np.arange(cfg.n_posts) + _rng(cfg, "time").integers(0, 90, cfg.n_posts)
    with open(tmp / "posts" / "manifest.jsonl", "w", encoding="utf-8", newline="\n") as f:
        for i, (r, s, t) in enumerate(zip(reactions.tolist(), shares.tolist(), ts.tolist())):
            f.write(json.dumps({"post_id": f"p{i:07d}", "image_index": i, "comments": comments[i],
                                "reactions": dict(zip(REACTIONS, r)), "shares": s, "timestamp": t},
                               ensure_ascii=False) + "\n")
    for split in SPLITS:
        n = getattr(cfg, f"n_{split}")
        dl = _sample_latents(_rng(cfg, split), n, cfg.popularity_sigma)
        _save_npz(tmp / "downstream" / f"{split}.npz",
                  {"images": _render(cfg, split, dl), "emotion": dl["affect"],
                   "stance": dl["stance"], "object": dl["object"]})


def generate_world(cfg: WorldConfig, out_dir) -> pathlib.Path:
    """Generate the world into ``out_dir`` atomically and return it.

    Writes into a temporary sibling directory, then renames it into place; an existing
    ``out_dir`` is replaced only after the new one is complete.
    """
    out = pathlib.Path(out_dir)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = pathlib.Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    try:
        _write(cfg, tmp)
        if out.exists():
            old = pathlib.Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
            os.replace(out, old / "x")
            os.replace(tmp, out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, out)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return out


def load_latents(world_dir) -> dict[str, np.ndarray]:
    """Hidden latents of the posts: object, affect, stance (int64), popularity (float)."""
    with np.load(pathlib.Path(world_dir) / "posts" / "latents.npz") as z:
        return {k: z[k] for k in ("object", "affect", "stance", "popularity")}


def load_downstream(world_dir, split) -> dict[str, np.ndarray]:
    """A downstream split: images uint8 (N, px, px, 3) and emotion, stance, object labels."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    with np.load(pathlib.Path(world_dir) / "downstream" / f"{split}.npz") as z:
        return {k: z[k] for k in ("images", "emotion", "stance", "object")}


def load_posts(world_dir) -> list[dict]:
    """The manifest lines as dicts (a plain reader for diagnostics and plots)."""
    with open(pathlib.Path(world_dir) / "posts" / "manifest.jsonl", encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]
