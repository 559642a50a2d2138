"""How linearly each hidden factor can be read from a backbone's features (a probe per factor).

Besides the three tasks (emotion, stance, object = content class), the content class splits
into three factors of its own — shape, texture and layout — which the downstream sets label
implicitly. Each becomes a :class:`~vise_lib.transfer.runner.Task` on the same images, so a
backbone's cached features serve every factor.
"""

from __future__ import annotations

from vise_lib.transfer.runner import SPLITS, Task
from vise_lib.world.generate import load_downstream
from vise_lib.world.latents import LAYOUTS, SHAPES, TEXTURES, content_parts

FACTORS = {"shape": SHAPES, "texture": TEXTURES, "layout": LAYOUTS}


def factor_tasks(world_dir) -> list[Task]:
    """The content's factors (shape, texture, layout) as tasks on the downstream images."""
    splits = {s: load_downstream(world_dir, s) for s in SPLITS}
    parts = {s: dict(zip(FACTORS, content_parts(d["object"]), strict=False)) for s, d in splits.items()}
    return [
        Task(f, {s: (splits[s]["images"], parts[s][f]) for s in SPLITS}, list(names)) for f, names in FACTORS.items()
    ]
