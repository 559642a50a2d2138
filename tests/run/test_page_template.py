"""The renderer of the generated pages' templates, and the templates shipped with the package."""

import dataclasses
import fnmatch

import jinja2
import pytest
import tomllib
from conftest import REPO

from vise_lib.run.page_template import duration, fmt, render

TEMPLATES = REPO / "vise_lib" / "run" / "templates"


def test_number_filters():
    assert [duration(s) for s in (20.0, 2730.0, 11880.0, 2.5e6)] == ["20.0 s", "45.5 min", "3.3 h", "28.9 days"]
    assert fmt(59939, ",.1f") == "59,939.0" and fmt(None, ".1f") == "-" and fmt(None, missing="n/a") == "n/a"


def test_a_name_the_context_lacks_is_an_error_and_the_context_must_be_a_dataclass():
    @dataclasses.dataclass
    class Empty:
        pass

    with pytest.raises(jinja2.UndefinedError):
        render("scaling.md", Empty())
    with pytest.raises(TypeError, match="must be a dataclass instance"):
        render("scaling.md", {"ingest": None})


def test_every_template_ships_as_package_data():
    setuptools = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    patterns = setuptools["package-data"]["vise_lib.run"]
    files = [p.relative_to(TEMPLATES.parent).as_posix() for p in TEMPLATES.rglob("*") if p.is_file()]
    assert files and all(any(fnmatch.fnmatch(f, pat) for pat in patterns) for f in files), files
