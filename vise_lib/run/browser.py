"""Headless Chromium (Debian's ``chromium``): load a page of the built book and record every
request it makes, take a screenshot, or print it to PDF.

Requests are read from Chromium's network log (``--log-net-log``): every request that goes
through the network stack is there, including those a script starts after the page loaded
(MathJax fetching its fonts, a ``fetch()``), whatever the HTML looks like. ``file://`` loads do
not go through the network stack, so on an offline book the log holds no request of the page's
at all; the browser's own background traffic (update checks, sign-in), which carries no
origin, is told apart and left out.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

# No first-run, sync, update or background traffic; no GPU, no sandbox (root in a container).
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--hide-scrollbars",
)
BROWSER_ORIGIN = "not an origin"  # the initiator of the browser's own requests in the net log


def chromium() -> str:
    """The Chromium executable; a clear error when it is missing."""
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if not exe:
        raise RuntimeError("chromium is not installed: run `make browser` (Debian package chromium)")
    return exe


def _run(args: list[str], workdir: Path, timeout: float = 120) -> str:
    """Run Chromium with ``args`` (the URL last); returns what it printed (``--dump-dom``: the DOM)."""
    workdir.mkdir(parents=True, exist_ok=True)
    cmd = [chromium(), *FLAGS, f"--user-data-dir={workdir / 'profile'}", *args]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(f"chromium failed ({done.returncode}) on {args[-1]}:\n{done.stderr[-2000:]}")
    return done.stdout


def page_requests(netlog: Path) -> list[str]:
    """URLs of the requests a page made, from a Chromium net log (the browser's own left out)."""
    try:
        log = json.loads(netlog.read_text())
    except (OSError, json.JSONDecodeError) as e:  # Chromium killed before it closed the log
        raise RuntimeError(f"{netlog}: not a complete Chromium net log ({e})") from e
    start = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
    urls = []
    for event in log["events"]:
        params = event.get("params") or {}
        if event["type"] == start and "url" in params and params.get("initiator") != BROWSER_ORIGIN:
            urls.append(params["url"])
    return list(dict.fromkeys(urls))


@dataclass(frozen=True)
class Loaded:
    """What loading a page showed: its requests that are not ``file://``, and its DOM after the
    scripts ran (empty when a screenshot was taken instead)."""

    external: list[str]
    dom: str


def load(url: str, workdir: Path, screenshot: Path | None = None, budget_ms: int = 5000) -> Loaded:
    """Load ``url`` (scripts run for ``budget_ms`` of virtual time, so late requests are seen) and
    record every request the page made; a screenshot when asked, else the DOM."""
    netlog = workdir / "netlog.json"
    args = [f"--log-net-log={netlog}", f"--virtual-time-budget={budget_ms}", "--window-size=1280,1600"]
    args.append(f"--screenshot={screenshot}" if screenshot else "--dump-dom")
    out = _run([*args, url], workdir)
    external = [u for u in page_requests(netlog) if not u.startswith("file://")]
    return Loaded(external=external, dom="" if screenshot else out)


def print_pdf(url: str, pdf: Path, workdir: Path, budget_ms: int = 10000) -> Path:
    """Print ``url`` to ``pdf`` (A4-like paper, no header or footer); returns ``pdf``."""
    pdf.parent.mkdir(parents=True, exist_ok=True)
    tmp = pdf.with_suffix(".tmp.pdf")
    _run(
        [f"--virtual-time-budget={budget_ms}", "--no-pdf-header-footer", f"--print-to-pdf={tmp}", url],
        workdir,
        timeout=300,
    )
    if not tmp.exists() or tmp.stat().st_size == 0:
        raise RuntimeError(f"chromium printed no PDF for {url}")
    tmp.replace(pdf)
    return pdf
