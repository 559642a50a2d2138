"""The smoke book, built by the real pipeline: pages, figures, offline, and a real browser.

`make test` runs `vise run --preset smoke` first; the fixture below runs it again, which must
execute no notebook (everything cached) and only refresh the book, with warnings as errors.
"""

import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO
from PIL import Image

from vise_lib.run.pipeline import run
from vise_lib.run.presets import STAGES

pytestmark = pytest.mark.pipeline
HTML = REPO / "_build" / "smoke" / "_build" / "html"


@pytest.fixture(scope="module")
def smoke_run():
    return run("smoke", strict=True, echo=lambda *_: None)


def test_second_run_executes_no_notebook(smoke_run):
    run_again = run("smoke", book=False, echo=lambda *_: None)
    assert {r.status for r in run_again} == {"cached"}


def test_book_has_its_prose_and_generated_pages(smoke_run):
    for page in (
        "book/intro",
        "book/method",
        "book/api",
        "book/_generated/performance",
        "book/_generated/reproducibility",
    ):
        assert (HTML / f"{page}.html").exists(), page
    repro = (HTML / "book/_generated/reproducibility.html").read_text()
    assert all(s.name in repro for s in STAGES) and "papermill" in repro
    api = (HTML / "book/api.html").read_text()
    assert "generate_world" in api and "linear_probe" in api  # autodoc rendered the docstrings


def test_internal_links_resolve(smoke_run):
    broken = []
    for page in HTML.rglob("*.html"):
        if "_static" in page.relative_to(HTML).parts:  # theme templates, not pages
            continue
        for href in re.findall(r'(?:href|src)="([^"#?]+)[^"]*"', page.read_text()):
            if re.match(r"^(https?:|mailto:|data:|javascript:)", href):
                continue
            if not (page.parent / href).exists():
                broken.append(f"{page.relative_to(HTML)} -> {href}")
    assert not broken, broken[:10]


def test_summary_table_matches_the_scores_file(smoke_run):
    import nbformat

    from vise_lib.study import tables as report
    from vise_lib.verdicts.results import read_scores

    expected = report.scores_table(read_scores(REPO / "runs/smoke/downstream/scores.csv"))
    nb = nbformat.read(REPO / "book/_generated/smoke/05_summary.ipynb", as_version=4)
    shown = [
        o["data"]["text/plain"]
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.get("outputs", [])
        if "text/plain" in o.get("data", {}) and "emotion" in o["data"]["text/plain"] and "±" in o["data"]["text/plain"]
    ]
    assert shown, "the summary shows no headline table"
    for backbone in expected.index:
        row = next(line for line in shown[0].splitlines() if line.startswith(backbone))
        assert all(cell in row for cell in expected.loc[backbone]), (backbone, row)


def test_book_has_index_and_one_page_per_notebook_with_figures(smoke_run):
    assert (HTML / "index.html").exists()
    for s in STAGES:
        page = HTML / "book" / "_generated" / f"{s.name}.html"
        assert page.exists(), page
        html = page.read_text()
        imgs = re.findall(r'<img[^>]+src="([^"]+\.png)"', html)
        assert imgs, f"{page.name} shows no figure"
        for src in imgs:
            assert (page.parent / src).resolve().exists(), src
        assert "Traceback" not in html, f"{page.name} shows a traceback"


def test_book_loads_nothing_from_the_internet(smoke_run):
    for page in HTML.rglob("*.html"):
        html = page.read_text()
        external = re.findall(r'<(?:script|link|img)[^>]+(?:src|href)="(https?://[^"]+)"', html)
        assert not external, f"{page.relative_to(HTML)} loads {external[:3]}"


def _screenshot(page: Path, out: Path) -> np.ndarray:
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    assert exe, "chromium is not installed: run `make browser` (Debian package chromium)"
    subprocess.run(
        [
            exe,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            f"--user-data-dir={out.parent / 'profile'}",
            "--window-size=1280,1600",
            f"--screenshot={out}",
            page.as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    return np.asarray(Image.open(out).convert("RGB"))


@pytest.mark.parametrize(
    "page", ["book/intro.html", "book/_generated/03_downstream.html", "book/_generated/05_summary.html"]
)
def test_screenshot_is_not_blank(smoke_run, tmp_path, page):
    img = _screenshot(HTML / page, tmp_path / "shot.png")
    assert img.shape[0] >= 800 and img.shape[1] >= 1000
    colours = len(np.unique(img.reshape(-1, 3), axis=0))
    non_white = (img.min(axis=2) < 200).mean()
    assert colours > 50 and non_white > 0.02, (colours, non_white)
