"""The prose pages carry no hand-typed result numbers: every measured figure comes from a run.

Results (differences in points, accuracies, rates, durations) live in the results files and reach
the book through the executed notebooks and the generated pages; a number typed into prose goes
stale at the next run. Parameters (K = 32, δ = 2 points, 24 px) are not results and may be typed.
"""

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: shapes a measured result takes in prose: a signed decimal (+4.2, −8.3), a rate, a duration, a
#: decimal percentage, an accuracy "of 74.2"
RESULT = re.compile(
    r"(?<![\w.])[+−-]\d+\.\d+(?![\w.])"
    r"|\d[\d,.]*\s?(?:img/s|images/s|posts/s)"
    r"|\b\d+ min \d+ s\b"
    r"|\b\d+\.\d+\s?%"
    r"|\b(?:top-1|accuracy) of \d"
)


def _prose():
    for page in sorted((ROOT / "book").glob("*.md")):
        yield page.name, page.read_text(encoding="utf-8")
    for nb in sorted((ROOT / "notebooks").glob("*.ipynb")):
        cells = json.loads(nb.read_text(encoding="utf-8"))["cells"]
        yield nb.name, "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")


def _without_code(text: str) -> str:
    text = re.sub(r"```.*?```", "", text, flags=re.S)
    return re.sub(r"`[^`\n]*`", "", text)


@pytest.mark.parametrize(("name", "text"), list(_prose()), ids=[n for n, _ in _prose()])
def test_prose_has_no_hand_typed_results(name, text):
    found = [m.group(0) for m in RESULT.finditer(_without_code(text))]
    assert not found, f"{name}: hand-typed result numbers {found}: let a notebook or a generated page show them"


def test_the_rule_catches_what_it_should():
    caught = "vise loses by −4.2 points; 930 img/s; 6 min 40 s; 78.3 %; an accuracy of 74"
    assert len(RESULT.findall(caught)) == 5
    assert not RESULT.findall("K = 32, δ = 2 points, 24 px, VisE-1.2M, 95 % interval, arXiv 2104.07767")
