"""The book as one PDF, printed by headless Chromium from a single-page build, offline.

:func:`build_pdf` builds the staged book source once more with Sphinx's ``singlehtml`` builder
(every page, in table-of-contents order, on one HTML page that loads only local files), prints
it with Chromium (:func:`vise_lib.run.browser.print_pdf`) and leaves the PDF in the book source
as ``vise-companion.pdf``; the HTML build that follows copies it next to ``index.html`` and links
it from every page's download menu (:mod:`vise_lib.run.book_buttons`). jupyter-book's own PDF
paths need a TeX installation or download a browser at build time; this one needs neither.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Sequence
from pathlib import Path

from vise_lib.io import atomic_write_text
from vise_lib.run.book_buttons import PDF_NAME
from vise_lib.run.browser import print_pdf


def build_pdf(src: Path, out: Path, jupyter_book: Sequence[str], strict: bool = False) -> Path:
    """Print the book staged in ``src`` to ``src/vise-companion.pdf``, building the single page
    under ``out/_build/singlehtml``; returns the PDF's path. A failed build is an error that
    shows the end of jupyter-book's output."""
    (src / PDF_NAME).unlink(missing_ok=True)  # never print (or link) last run's PDF
    cmd = [*jupyter_book, "build", str(src), "--builder", "singlehtml", "--path-output", str(out)]
    if strict:
        cmd += ["-W", "--keep-going"]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    site = out / "_build" / "singlehtml"
    if proc.returncode != 0 or not (site / "index.html").exists():
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-40:])
        raise RuntimeError(f"the single-page build of {src} for the PDF failed:\n{tail}")
    return print_pdf(printable_page(site).as_uri(), src / PDF_NAME, out / "chromium")


REDIRECT = re.compile(r'<meta http-equiv="Refresh" content="0; url=([^"]+)"', re.IGNORECASE)


def printable_page(site: Path) -> Path:
    """The single page, at the root of the ``singlehtml`` output. The book's root page is
    ``book/intro`` and ``index.html`` only redirects to it; Sphinx writes that page's links to
    ``_static/`` and ``_images/`` as if it sat at the root, so it is copied there to print."""
    index = site / "index.html"
    target = REDIRECT.search(index.read_text(encoding="utf-8"))
    if target is None:
        return index
    page = site / target.group(1)
    if not page.is_file():
        raise RuntimeError(f"{index} redirects to {target.group(1)}, which the single-page build did not write")
    printable = site / "print.html"
    atomic_write_text(printable, page.read_text(encoding="utf-8").replace("</head>", PRINT_CSS + "</head>", 1))
    return printable


# A4 with narrow margins and a smaller type: the theme's screen sizes make long tables break
# across many pages.
PRINT_CSS = "<style>@page { size: A4; margin: 12mm; } @media print { html { font-size: 10px; } }</style>"
