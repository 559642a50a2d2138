"""Launch buttons follow the one repository setting; the download menu links the real PDF."""

from types import SimpleNamespace

from vise_lib.run.book_buttons import PDF_NAME, launch_links, page_context

REPO_URL = "https://github.com/someone/vise-companion"


def test_launch_links_open_the_notebook_source_of_a_stage_page():
    links = {b["text"]: b["url"] for b in launch_links(REPO_URL, "main", "book/_generated/02_pretrain")}
    assert links == {
        "Binder": "https://mybinder.org/v2/gh/someone/vise-companion/main?labpath=notebooks/02_pretrain.ipynb",
        "Colab": "https://colab.research.google.com/github/someone/vise-companion/blob/main/notebooks/02_pretrain.ipynb",
    }
    assert launch_links(REPO_URL + ".git", "dev/x", "book/_generated/05_summary")[1]["url"].endswith(
        "/blob/dev%2Fx/notebooks/05_summary.ipynb"
    )


def test_no_launch_link_without_a_github_repository_or_a_notebook_page():
    assert launch_links("", "main", "book/_generated/02_pretrain") == []  # unset: no button at all
    assert launch_links("https://gitlab.com/a/b", "main", "book/_generated/02_pretrain") == []
    assert launch_links(REPO_URL, "main", "book/method") == []  # a prose page has no notebook
    assert launch_links(REPO_URL, "main", "book/_generated/performance") == []  # generated markdown


def _context(tmp_path, pdf: bool, repository_url: str = ""):
    if pdf:
        (tmp_path / PDF_NAME).write_bytes(b"%PDF-1.4")
    app = SimpleNamespace(
        srcdir=str(tmp_path), config=SimpleNamespace(html_theme_options={"repository_url": repository_url})
    )
    menu = {
        "type": "group",
        "label": "download-buttons",
        "buttons": [{"label": "download-pdf-button", "type": "javascript"}],
    }
    context = {"header_buttons": [menu], "pathto": lambda name, resource: f"../../{name}"}
    page_context(app, "book/_generated/02_pretrain", "page.html", context, None)
    return context["header_buttons"]


def test_the_pdf_entry_links_the_book_pdf_when_the_build_has_it(tmp_path):
    menu, *rest = _context(tmp_path, pdf=True)
    assert menu["buttons"][0]["type"] == "link" and menu["buttons"][0]["url"] == f"../../{PDF_NAME}"
    assert rest == []  # repository unset: no launch group


def test_without_the_pdf_the_print_entry_stays_and_launch_follows_the_setting(tmp_path):
    menu, launch = _context(tmp_path, pdf=False, repository_url=REPO_URL)
    assert menu["buttons"][0]["type"] == "javascript"  # no link to a file that is not there
    assert [b["text"] for b in launch["buttons"]] == ["Binder", "Colab"]
