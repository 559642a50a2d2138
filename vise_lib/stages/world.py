"""The world stage (``00_world``): the synthetic social world and its calibration.

:func:`run_world` generates the world of the preset's ``world`` section into ``<run_dir>/world``
(:func:`~vise_lib.world.generate.generate_world`: the posts in the project's engagement format,
their hidden latents, the downstream splits and ``world.json``, the full generative model),
measures how much of each latent the engagement carries
(:func:`~vise_lib.world.diagnostics.calibrate`) and writes ``world/results.json``
(:class:`WorldResult`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from vise_lib.io import PathArg, write_check, write_json
from vise_lib.stages.result_files import read_result, typed_config
from vise_lib.world.config import WorldConfig
from vise_lib.world.diagnostics import calibrate
from vise_lib.world.generate import generate_world

STAGE = "00_world"


@dataclass(frozen=True)
class WorldResult:
    """``world/results.json``: the world's ``config`` (:class:`~vise_lib.world.config.WorldConfig`
    fields), its ``calibration`` (:func:`~vise_lib.world.diagnostics.calibrate`: the engagement
    probe's accuracy per latent, ``chance`` per latent, ``counts``) and ``counts`` (posts,
    comments, posts without comments, downstream split sizes; the same as the calibration's)."""

    FILE: ClassVar[str] = "world/results.json"
    KEYS: ClassVar[tuple[str, ...]] = ("stage", "config", "calibration", "counts")

    config: dict
    calibration: dict
    counts: dict

    def world_config(self) -> WorldConfig:
        """The config, typed."""
        return WorldConfig.from_params(self.config, where=self.FILE)

    @property
    def engagement_probe(self) -> dict[str, float]:
        """Accuracy of predicting each latent (affect, stance, object, poster) from engagement alone."""
        return self.calibration["engagement_probe"]

    @property
    def chance(self) -> dict[str, float]:
        """Majority-class rate of each probe's test labels, keyed ``engagement/<latent>``."""
        return self.calibration["chance"]

    def summary(self) -> str:
        """One line: posts, comments, posts without comments."""
        c = self.counts
        return f"{c['posts']} posts, {c['comments']} comments, {c['posts_without_comments']} posts without comments"

    def to_json(self) -> dict:
        return {"stage": "world", "config": self.config, "calibration": self.calibration, "counts": self.counts}

    @classmethod
    def from_json(cls, data: dict) -> WorldResult:
        if data.get("stage") != "world":
            raise ValueError(
                f"{cls.FILE}: 'stage' is {data.get('stage')!r}, expected 'world': run the stage {STAGE} again"
            )
        config = data["config"]  # in WorldConfig's field order (the file has its keys sorted)
        order = [k for k in WorldConfig.field_names() if k in config] + sorted(
            set(config) - set(WorldConfig.field_names())
        )
        return cls(config={k: config[k] for k in order}, calibration=data["calibration"], counts=data["counts"])

    @classmethod
    def read(cls, run_dir: PathArg) -> WorldResult:
        return cls.from_json(read_result(run_dir, cls.FILE, STAGE, cls.KEYS, optional=()))


def run_world(config: WorldConfig | dict | None, run_dir: PathArg, echo: Callable = print) -> WorldResult:
    """Generate the world in ``run_dir/world``, calibrate it and write ``world/results.json``;
    ``echo`` gets one line of counts."""
    cfg = typed_config(WorldConfig, config)
    world_dir = generate_world(cfg, Path(run_dir) / "world")
    write_check(world_dir / "world.json", STAGE)  # the ablations read the world's config from it
    cal = calibrate(world_dir)
    write_json(
        Path(run_dir) / WorldResult.FILE,
        WorldResult(config=cfg.to_params(), calibration=cal, counts=cal["counts"]).to_json(),
        stage=STAGE,
    )
    result = WorldResult.read(run_dir)
    echo(result.summary())
    return result
