"""Packaging: the pins that matter, clean notebook sources. (environment.yml and requirements.lock
against pyproject.toml: tests/run/test_lock.py.)"""

import tomllib
from conftest import REPO


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
