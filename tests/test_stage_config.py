"""The typed stage-config base: unknown keys name the closest valid key, types are checked."""

from dataclasses import dataclass, field

import pytest

from vise_lib.config import StageConfig


@dataclass(frozen=True)
class Demo(StageConfig):
    section = "demo"
    epochs: int = 2
    lr: float = 0.1
    tasks: list[str] = field(default_factory=lambda: ["emotion"])
    model: str | None = None
    flag: bool = False


def test_defaults_and_round_trip():
    c = Demo.from_params({"epochs": 3, "lr": 1})
    assert c.lr == 1.0 and isinstance(c.lr, float)
    assert Demo.from_params(c.to_params()) == c


@pytest.mark.parametrize("typo, suggestion", [("epoch", "epochs"), ("learning_rate", None), ("task", "tasks")])
def test_unknown_key_names_section_and_closest_key(typo, suggestion):
    with pytest.raises(ValueError) as e:
        Demo.from_params({typo: 1}, where="configs/x.yml: section 'demo'")
    msg = str(e.value)
    assert msg.startswith("configs/x.yml: section 'demo': unknown key") and repr(typo) in msg
    assert (f"did you mean {suggestion!r}" in msg) if suggestion else "did you mean" not in msg


@pytest.mark.parametrize(
    "params, what",
    [
        ({"epochs": "3"}, "epochs must be an integer"),
        ({"lr": float("nan")}, "lr must be a finite number"),
        ({"tasks": "emotion"}, "tasks must be a list"),
        ({"tasks": [1]}, r"tasks\[0\] must be a string"),
        ({"flag": 1}, "flag must be true or false"),
    ],
)
def test_wrong_types_name_the_field(params, what):
    with pytest.raises(ValueError, match=what):
        Demo.from_params(params)
