"""A Sphinx extension for the book (``_config.yml``: ``sphinx.extra_extensions``): the download
menu links the book's real PDF, and launch buttons follow one repository setting.

sphinx-book-theme's download menu offers each page's source (the executed ``.ipynb`` of a
notebook page, the ``.md`` of a prose page) and a ``.pdf`` entry that only opens the browser's
print dialog; here that entry links ``vise-companion.pdf``, the whole book printed by
:mod:`vise_lib.run.book_pdf`, from every page that has the menu. The PDF is linked only when the
book source holds it (it is then copied next to ``index.html``): a build without it keeps the
print entry, never a dead link.

Launch buttons (Binder, Colab) open a stage's notebook *source* in the repository
(``notebooks/<stage>.ipynb``; the executed copies under ``book/_generated/`` are not committed,
so the theme's own launch buttons, which point there, would be dead links). They appear when
``_config.yml`` sets ``repository: url:`` to a GitHub repository and are absent otherwise.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import quote

PDF_NAME = "vise-companion.pdf"  # at the root of the built HTML
NOTEBOOK_PAGE = re.compile(r"^book/_generated/(\d\d_[\w.-]+)$")
GITHUB = re.compile(r"^https://github\.com/([\w.-]+)/([\w.-]+?)(?:\.git)?/?$")


def launch_links(repository_url: str, branch: str, pagename: str) -> list[dict[str, str]]:
    """Binder and Colab links for a notebook page (``book/_generated/NN_stage``) of a GitHub
    repository; none for other pages or repositories (no link that cannot work)."""
    page, repo = NOTEBOOK_PAGE.match(pagename), GITHUB.match(repository_url.strip())
    if not page or not repo:
        return []
    org, name = repo.groups()
    notebook = str(PurePosixPath("notebooks") / f"{page.group(1)}.ipynb")
    ref = quote(branch or "main", safe="")
    return [
        {
            "type": "link",
            "text": "Binder",
            "tooltip": "Launch this notebook on Binder",
            "icon": "fas fa-rocket",
            "label": "launch-binder-button",
            "url": f"https://mybinder.org/v2/gh/{org}/{name}/{ref}?labpath={quote(notebook)}",
        },
        {
            "type": "link",
            "text": "Colab",
            "tooltip": "Launch this notebook on Colab",
            "icon": "fas fa-rocket",
            "label": "launch-colab-button",
            "url": f"https://colab.research.google.com/github/{org}/{name}/blob/{ref}/{notebook}",
        },
    ]


def page_context(app: Any, pagename: str, templatename: str, context: dict[str, Any], doctree: Any) -> None:
    """``html-page-context``: the PDF entry of the download menu, then the launch group."""
    buttons = context.get("header_buttons")
    if buttons is None:  # not a page of the book theme
        return
    if not _has_pdf(app):
        buttons_for_launch(app, pagename, buttons)
        return
    pathto = context["pathto"]
    for group in buttons:
        if group.get("label") != "download-buttons":
            continue
        for b in group["buttons"]:
            if b.get("label") == "download-pdf-button":
                b.clear()
                b.update(
                    type="link",
                    url=pathto(PDF_NAME, 1),
                    text=".pdf",
                    tooltip="Download the whole book as PDF",
                    icon="fas fa-file-pdf",
                    label="download-pdf-button",
                )
    buttons_for_launch(app, pagename, buttons)


def buttons_for_launch(app: Any, pagename: str, buttons: list[dict[str, Any]]) -> None:
    """Append the launch group to a page's header buttons when the repository setting allows."""
    opts = app.config.html_theme_options or {}
    links = launch_links(opts.get("repository_url", "") or "", opts.get("repository_branch", "") or "", pagename)
    if links:
        buttons.append(
            {"type": "group", "tooltip": "Launch", "icon": "fas fa-rocket", "buttons": links, "label": "launch-buttons"}
        )


def _has_pdf(app: Any) -> bool:
    return (Path(app.srcdir) / PDF_NAME).is_file()


def _outdated(app: Any, env: Any, added: set[str], changed: set[str], removed: set[str]) -> list[str]:
    """Every page is rewritten when the PDF appeared or went since the last build (its link)."""
    has = _has_pdf(app)
    if getattr(env, "vise_has_pdf", None) is not None and env.vise_has_pdf != has:
        env.vise_has_pdf = has
        return sorted(env.found_docs)
    env.vise_has_pdf = has
    return []


def _copy_pdf(app: Any, exc: Exception | None) -> None:
    if exc is None and app.builder.format == "html" and _has_pdf(app):
        shutil.copy2(Path(app.srcdir) / PDF_NAME, Path(app.outdir) / PDF_NAME)


def setup(app: Any) -> dict[str, Any]:
    # after sphinx-book-theme's own handlers (priority 500), before the page is written
    app.connect("html-page-context", page_context, priority=900)
    app.connect("env-get-outdated", _outdated)
    app.connect("build-finished", _copy_pdf)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
