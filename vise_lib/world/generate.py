"""Generate the synthetic social world into a folder, and read it back.

A world is posts (images, hidden latents, engagement in the project's manifest format) and three
downstream splits. The latents are :mod:`vise_lib.world.latents`, the pixels
:mod:`vise_lib.world.render`, the engagement :mod:`vise_lib.world.engagement_model` (sampled from
the latents only, never from the pixels). Every part has its own random stream, so the images
and the downstream sets do not depend on any engagement knob: worlds that differ only in
``eng_*``, ``engagement_noise`` or the comment and reaction parameters have identical images,
latents and downstream sets (``n_posts`` and the latent or image knobs redraw them).

The downstream sets are shifted from the posts: their palettes are rotated by
``downstream_hue_shift`` and they include the ``n_heldout_content`` content classes the posts
never show. Tasks: ``emotion`` (affect), ``stance``, ``object`` (the content class).
"""

from __future__ import annotations

import io
import json
import os
import pathlib
import shutil
import tempfile
import zipfile
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from vise_lib.io import PathArg
from vise_lib.world import comments, engagement_model, latents, render
from vise_lib.world.config import WorldConfig
from vise_lib.world.engagement_model import REACTIONS
from vise_lib.world.latents import AFFECTS, CONTENTS, STANCES

OBJECTS = CONTENTS  # the object task's classes are the content classes
TASK_CLASSES = {"emotion": AFFECTS, "stance": STANCES, "object": CONTENTS}
LATENT_KEYS = ("object", "affect", "stance", "poster", "popularity")
TIMESTAMP_START = 1_600_000_000
CHUNK = 1024  # images rendered per random stream; fixed so output never depends on threading
_STREAM = {
    "latents": 1,
    "images": 2,
    "engagement": 3,
    "comments": 4,
    "time": 5,
    "posters": 6,
    "train": 11,
    "val": 12,
    "test": 13,
}
SPLITS = ("train", "val", "test")


def world_model(cfg: WorldConfig) -> dict:
    """Everything that defines the world: config, class names and all generative tables."""
    return {
        "format": "vise-world/2",
        "config": cfg.to_params(),
        "classes": {
            "affects": AFFECTS,
            "objects": CONTENTS,
            "stances": STANCES,
            "reactions": REACTIONS,
            "shapes": latents.SHAPES,
            "textures": latents.TEXTURES,
            "layouts": latents.LAYOUTS,
        },
        "latents": {
            "object": "content class, uniform over the allowed classes",
            "heldout_content": [CONTENTS[c] for c in latents.heldout_contents(cfg.n_heldout_content)],
            "affect_of_content": {CONTENTS[c]: AFFECTS[a] for c, a in enumerate(latents.AFFECT_OF_CONTENT)},
            "affect_from_content": cfg.affect_from_content,
            "stance": "uniform, independent",
            "poster": f"uniform over {cfg.n_posters} accounts",
            "popularity": f"lognormal, mean 1, log-std {cfg.popularity_sigma} (poster x post)",
        },
        "image": {
            "palette": {CONTENTS[c]: list(p) for c, p in enumerate(latents.PALETTE)},
            "style": render.STYLE,
            "style_std": {k: v * cfg.style_spread for k, v in render.STYLE_STD.items()},
            "stance_badge": {**render.STANCE_BADGE, "hue_std": render.STANCE_BADGE["hue_std"] * cfg.stance_spread},
            "geometry": render.GEOMETRY,
            "pixel_noise": cfg.pixel_noise,
            "downstream_hue_shift": cfg.downstream_hue_shift,
        },
        "engagement": {
            "base_mix": dict(
                zip(REACTIONS, np.exp(engagement_model.base_logits(cfg.like_share)).round(3).tolist(), strict=False)
            ),
            "affect_tilt": engagement_model.AFFECT_TILT,
            "stance_tilt": engagement_model.STANCE_TILT,
            "share_mult": engagement_model.SHARE_MULT,
            "table_std": engagement_model.TABLE_STD,
            "knobs": {k: getattr(cfg, k) for k in ("eng_content", "eng_affect", "eng_stance", "eng_nonvisual")},
            "noise": cfg.engagement_noise,
            "p_true_class_phrase": (1 - cfg.engagement_noise) * (1 - cfg.comment_confusion),
            "phrase_weights": comments.phrase_weights(cfg),
            "comment_shape": comments.COMMENT_SHAPE,
        },
        "vocabulary": {
            "affect": comments.AFFECT_PHRASES,
            "stance": comments.STANCE_PHRASES,
            "shape_words": comments.SHAPE_WORDS,
            "texture_words": comments.TEXTURE_WORDS,
            "content_templates": comments.CONTENT_TEMPLATES,
            "chatter": comments.CHATTER,
            "poster_templates": comments.POSTER_TEMPLATES,
            "emoji": comments.EMOJI,
        },
    }


def _rng(cfg, stream, *more):
    return np.random.default_rng(np.random.SeedSequence([cfg.seed, _STREAM[stream], *more]))


def _render(cfg, stream, lat, hue_shift):
    """Render uint8 images in fixed-size chunks, each on its own stream (two threads)."""
    n, px = len(lat["affect"]), cfg.image_px
    out = np.empty((n, px, px, 3), np.uint8)

    def job(c):
        s = slice(c * CHUNK, min(n, (c + 1) * CHUNK))
        img = render.render_images(
            _rng(cfg, stream, 1000 + c),
            {k: v[s] for k, v in lat.items()},
            px,
            cfg.style_spread,
            cfg.stance_spread,
            cfg.pixel_noise,
            hue_shift,
        )
        out[s] = (img * 255 + 0.5).astype(np.uint8)

    with ThreadPoolExecutor(max_workers=min(2, os.cpu_count() or 1)) as ex:
        list(ex.map(job, range((n + CHUNK - 1) // CHUNK)))
    return out


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
    (tmp / "world.json").write_text(json.dumps(world_model(cfg), indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    prng = _rng(cfg, "posters")
    poster_pop = latents.poster_popularity(prng, cfg.n_posters, cfg.popularity_sigma)
    posters = engagement_model.poster_table(prng, cfg.n_posters)
    lat = latents.sample_latents(_rng(cfg, "latents"), cfg.n_posts, cfg, True, poster_pop)
    np.save(tmp / "posts" / "images.npy", _render(cfg, "images", lat, 0.0))
    _save_npz(tmp / "posts" / "latents.npz", lat)
    reactions, shares, comm = engagement_model.sample_engagement(
        cfg, lat, posters, _rng(cfg, "engagement"), _rng(cfg, "comments")
    )
    ts = TIMESTAMP_START + 90 * np.arange(cfg.n_posts) + _rng(cfg, "time").integers(0, 90, cfg.n_posts)
    with open(tmp / "posts" / "manifest.jsonl", "w", encoding="utf-8", newline="\n") as f:
        for i, (r, s, t) in enumerate(zip(reactions.tolist(), shares.tolist(), ts.tolist(), strict=False)):
            f.write(
                json.dumps(
                    {
                        "post_id": f"p{i:07d}",
                        "image_index": i,
                        "comments": comm[i],
                        "reactions": dict(zip(REACTIONS, r, strict=False)),
                        "shares": s,
                        "timestamp": t,
                    },
                    ensure_ascii=False,
                )
                + "\n"
            )
    for split in SPLITS:
        n = getattr(cfg, f"n_{split}")
        dl = latents.sample_latents(_rng(cfg, split), n, cfg, False, poster_pop)
        _save_npz(
            tmp / "downstream" / f"{split}.npz",
            {
                "images": _render(cfg, split, dl, cfg.downstream_hue_shift),
                "emotion": dl["affect"],
                "stance": dl["stance"],
                "object": dl["object"],
            },
        )


def generate_world(cfg: WorldConfig, out_dir: PathArg) -> pathlib.Path:
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
    """Hidden latents of the posts: object (content class), affect, stance, poster (int64), popularity."""
    path = pathlib.Path(world_dir) / "posts" / "latents.npz"
    with np.load(path) as z:
        missing = [k for k in LATENT_KEYS if k not in z.files]
        if missing:
            raise ValueError(f"{path}: lacks {missing}; regenerate the world (00_world stage)")
        return {k: z[k] for k in LATENT_KEYS}


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
