"""The browser check itself: Chromium's net log sees every request a page makes, late ones too."""

import pytest

from vise_lib.run.browser import load, page_requests, print_pdf

PAGE = """<html><head><script src="https://cdn.example.invalid/x.js"></script>
<link rel="stylesheet" href="local.css"></head><body><p id="p">static</p>
<img src="http://img.example.invalid/a.png">
<script>
fetch("https://api.example.invalid/q").catch(() => {});
setTimeout(() => { const s = document.createElement("script"); s.src = "https://late.example.invalid/l.js";
  document.head.appendChild(s); document.getElementById("p").textContent = "ran"; }, 1000);
</script></body></html>"""


def test_every_request_that_is_not_file_is_recorded(tmp_path):
    (tmp_path / "local.css").write_text("p { color: red }")
    (tmp_path / "page.html").write_text(PAGE)
    got = load((tmp_path / "page.html").as_uri(), tmp_path / "w")
    assert set(got.external) == {
        "https://cdn.example.invalid/x.js",  # a script tag
        "http://img.example.invalid/a.png",  # an image
        "https://api.example.invalid/q",  # fetch()
        "https://late.example.invalid/l.js",  # a script added a second after load: not in the HTML
    }
    assert '<p id="p">ran</p>' in got.dom  # the DOM after the scripts ran


def test_a_local_page_makes_no_request(tmp_path):
    (tmp_path / "local.css").write_text("p { color: red }")
    (tmp_path / "page.html").write_text(
        '<html><head><link rel="stylesheet" href="local.css"></head><body>x</body></html>'
    )
    assert load((tmp_path / "page.html").as_uri(), tmp_path / "w").external == []


def test_a_truncated_net_log_is_a_clear_error(tmp_path):
    (tmp_path / "netlog.json").write_text('{"constants": {')
    with pytest.raises(RuntimeError, match="not a complete Chromium net log"):
        page_requests(tmp_path / "netlog.json")


def test_print_pdf_writes_a_pdf(tmp_path):
    (tmp_path / "page.html").write_text("<html><body><h1>Title</h1><p>text</p></body></html>")
    pdf = print_pdf((tmp_path / "page.html").as_uri(), tmp_path / "out" / "page.pdf", tmp_path / "w")
    assert pdf.read_bytes().startswith(b"%PDF") and not (tmp_path / "out" / "page.tmp.pdf").exists()
