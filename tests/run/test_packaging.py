"""environment.yml (conda users) and pyproject.toml describe the same environment."""

import re

import tomllib
import yaml
from conftest import REPO


def _norm(req: str) -> str:
    return re.sub(r"\s+", "", req).lower()


def test_environment_yml_matches_pyproject():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    wanted = set(project["dependencies"])
    for extra in ("scale", "dev"):
        wanted |= set(project["optional-dependencies"][extra])
    env = yaml.safe_load((REPO / "environment.yml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)
    listed = {_norm(r) for r in pip if not r.startswith("-e")}
    assert listed == {_norm(r) for r in wanted}
    assert any(str(d).startswith("python=3.11") for d in env["dependencies"])


def test_pins_that_matter():
    deps = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    for pin in ("torch==2.14.1", "torchvision==0.29.1", "jupyter-book==1.0.4.post1"):
        assert pin in deps


def test_notebook_sources_are_clean_and_parameterized():
    import json

    for p in sorted((REPO / "notebooks").glob("*.ipynb")):
        nb = json.loads(p.read_text())
        code = [c for c in nb["cells"] if c["cell_type"] == "code"]
        assert not any(c.get("outputs") or c.get("execution_count") for c in code), p.name
        assert any("parameters" in c.get("metadata", {}).get("tags", []) for c in code), p.name
