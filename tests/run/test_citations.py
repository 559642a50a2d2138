"""Citations: every key the book cites is in book/references.bib; the bibliography has the paper
and the works the book names; CITATION.cff says how to cite the companion."""

import json
import re

import yaml
from conftest import REPO

BIB = REPO / "book" / "references.bib"
CITE = re.compile(r"\{cite(?::[a-z]+)?\}`([^`]+)`")


def bib_entries() -> dict[str, str]:
    """key -> the entry's text, from book/references.bib."""
    text = BIB.read_text()
    starts = [(m.start(), m.group(1)) for m in re.finditer(r"^@\w+\{([^,\s]+),", text, re.M)]
    return {
        key: text[a : (starts[i + 1][0] if i + 1 < len(starts) else len(text))] for i, (a, key) in enumerate(starts)
    }


def cited_keys() -> dict[str, set[str]]:
    """key -> the pages citing it (book/*.md and the notebooks' markdown)."""
    found: dict[str, set[str]] = {}
    sources = [(p.name, p.read_text()) for p in sorted((REPO / "book").glob("*.md"))]
    for nb in sorted((REPO / "notebooks").glob("*.ipynb")):
        cells = json.loads(nb.read_text())["cells"]
        sources.append((nb.name, "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")))
    prefix = re.compile(r":keyprefix:\s*(\S+)")
    for name, text in sources:
        strip = prefix.search(text)
        for group in CITE.findall(text):
            for key in group.split(","):
                key = key.strip()
                if strip and key.startswith(strip.group(1)):
                    key = key[len(strip.group(1)) :]
                found.setdefault(key, set()).add(name)
    return found


def test_every_cited_key_is_in_the_bibliography():
    entries, cited = bib_entries(), cited_keys()
    missing = {k: sorted(v) for k, v in cited.items() if k not in entries}
    assert not missing, f"cited but not in book/references.bib: {missing}"
    assert "method.md" in cited["jia2021vise"]  # the Method page cites the paper


def test_the_bibliography_has_the_paper_and_the_works_the_book_names():
    entries = bib_entries()
    vise = entries["jia2021vise"]
    for field in ("Jia, Menglin", "Wu, Zuxuan", "Reiter, Austin", "Cardie, Claire", "Belongie, Serge", "Lim, Ser-Nam"):
        assert field in vise
    assert "2104.07767" in vise and "International Conference on Computer Vision" in vise and "2021" in vise
    titles = " ".join(entries.values())
    for work in ("Deep Clustering", "ClusterFit", "Contrastive Learning", "Momentum Contrast", "Deep Residual",
                 "Mixed Bag of Emotions", "Large Scale Dataset for Image Emotion", "Contemplating Visual Emotions",
                 "Intentonomy", "WebDataset", "Billion-Scale Similarity Search", "Pushshift"):  # fmt: skip
        assert work in titles, work
    assert "doi" not in titles.lower()  # no DOI we could not check


def test_citation_cff_describes_the_companion_and_cites_the_paper():
    cff = yaml.safe_load((REPO / "CITATION.cff").read_text())
    assert cff["cff-version"] == "1.2.0" and cff["type"] == "software"
    for field in ("message", "title", "authors", "version", "license"):
        assert cff[field], field
    project = (REPO / "pyproject.toml").read_text()
    assert f'version = "{cff["version"]}"' in project and f'license = "{cff["license"]}"' in project
    paper = cff["references"][0]
    assert paper["title"] == "Exploring Visual Engagement Signals for Representation Learning" and paper["year"] == 2021
    assert [a["family-names"] for a in paper["authors"]] == ["Jia", "Wu", "Reiter", "Cardie", "Belongie", "Lim"]
