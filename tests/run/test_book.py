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

from vise_lib.run.book_buttons import PDF_NAME
from vise_lib.run.browser import load
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


def book_pages() -> list[Path]:
    """Every HTML page of the built book (not the theme's templates under _static, nor _sources)."""
    return sorted(p for p in HTML.rglob("*.html") if not {"_static", "_sources"} & set(p.relative_to(HTML).parts))


def test_every_page_requests_only_file_urls_in_the_browser(smoke_run, tmp_path):
    """Chromium loads each page (scripts run) and its net log records every request the page makes,
    including those a script starts later (MathJax fonts, fetch); none may leave file://."""
    pages = book_pages()
    assert len(pages) >= len(STAGES) + 5
    loaded = {p.relative_to(HTML).as_posix(): load(p.as_uri(), tmp_path / str(i)) for i, p in enumerate(pages)}
    external = {page: got.external for page, got in loaded.items() if got.external}
    assert not external, f"pages that reach beyond file://: {external}"
    # a page with math loads MathJax from the book's own _static (sphinx-mathjax-offline), not a CDN
    for page in pages:
        html = page.read_text()
        if 'class="math' in html:
            assert re.search(r'<script[^>]+src="[./]*_static/mathjax/tex-chtml\.js', html), page


def test_the_vendored_mathjax_typesets_from_file_urls(smoke_run, tmp_path):
    """The MathJax copied into the book renders TeX with no request beyond file:// (fonts included)."""
    script = HTML / "_static" / "mathjax" / "tex-chtml.js"
    assert script.is_file()
    page = tmp_path / "math.html"
    page.write_text(
        f'<html><head><script src="{script.as_uri()}"></script></head><body><p>\\(\\varphi(e) = x^2\\)</p></body></html>'
    )
    got = load(page.as_uri(), tmp_path / "chromium")
    assert got.external == [] and "<mjx-container" in got.dom and "mjx-c" in got.dom


def _screenshot(page: Path, out: Path) -> np.ndarray:
    load(page.as_uri(), out.parent / "chromium", screenshot=out)
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


def _poppler(tool: str, *args: str) -> str:
    exe = shutil.which(tool)
    assert exe, f"{tool} is not installed (Debian package poppler-utils)"
    return subprocess.run([exe, *args], check=True, capture_output=True, text=True, timeout=300).stdout


def test_the_pdf_is_linked_from_every_page(smoke_run):
    assert (HTML / PDF_NAME).read_bytes().startswith(b"%PDF")
    for page in book_pages():
        if page.relative_to(HTML).as_posix() in ("index.html", "genindex.html", "search.html", "py-modindex.html"):
            continue  # the redirect to the first page, and Sphinx's own pages (no download menu)
        links = re.findall(r'href="([^"]*' + re.escape(PDF_NAME) + ')"', page.read_text())
        assert links, f"{page.relative_to(HTML)} does not link the PDF"
        assert all((page.parent / href).resolve() == (HTML / PDF_NAME).resolve() for href in links)


def test_the_pdf_shows_the_headline_table_and_the_figures(smoke_run, tmp_path):
    from vise_lib.study import tables as report
    from vise_lib.verdicts.results import read_scores

    pdf = HTML / PDF_NAME
    text = _poppler("pdftotext", "-layout", str(pdf), "-")
    expected = report.scores_table(read_scores(REPO / "runs/smoke/downstream/scores.csv"))
    for backbone in expected.index:  # the summary's headline table, row by row
        rows = [line for line in text.splitlines() if line.strip().startswith(backbone)]
        assert any(all(cell in row for cell in expected.loc[backbone]) for row in rows), (backbone, rows[:3])
    # every figure of the stage pages is an image in the PDF
    figures = sum(
        len(re.findall(r'<img[^>]+src="[^"]+\.png"', (HTML / "book/_generated" / f"{s.name}.html").read_text()))
        for s in STAGES
    )
    images = [line for line in _poppler("pdfimages", "-list", str(pdf)).splitlines()[2:] if line.strip()]
    assert figures > 0 and len(images) >= figures, (figures, len(images))
    # and the pages render: pdftoppm draws each one, none blank
    _poppler("pdftoppm", "-r", "20", "-png", str(pdf), str(tmp_path / "page"))
    pages = sorted(tmp_path.glob("page-*.png"))
    assert len(pages) >= len(STAGES)
    for p in pages[:3]:
        img = np.asarray(Image.open(p).convert("L"))
        assert (img < 200).mean() > 0.005, p.name


def test_the_method_page_cites_the_paper_through_the_bibliography(smoke_run):
    method = (HTML / "book/method.html").read_text()
    assert re.search(
        r'class="bibtex-citation"[^>]*>\[<a class="reference internal" href="#[^"]+" title="Menglin Jia', method
    )
    refs = (HTML / "book/references.html").read_text()
    for title in ("Exploring visual engagement signals", "Deep clustering", "Intentonomy", "Billion-scale similarity"):
        assert title in refs, title
