"""The README's and book/own_data.md's real-data examples run as written, on generated data.

The commands are read from the pages themselves (not copied here), so a page that drifts from the
code fails this test. Two substitutions only: ``.venv/bin/vise`` is this interpreter's ``vise``
(``python -m vise_lib.run.cli``), and the pages' absolute ``/data/...`` and ``/tmp/...`` paths
live under the test's folder. The GPU commands (torchrun) and the ``vise run --preset`` copies are covered by
``tests/pretrain`` and ``tests/run/test_paper_preset.py``.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO, write_real_datasets
from PIL import Image

WORDS = [
    "cute",
    "sad",
    "wow",
    "lol",
    "angry",
    "beautiful",
    "sunset",
    "puppy",
    "vote",
    "rally",
    "storm",
    "beach",
    "cat",
    "dog",
    "rain",
    "happy",
]


def blocks(page: Path, lang: str) -> list[str]:
    """The fenced ``lang`` code blocks of a Markdown page."""
    return re.findall(rf"```{lang}\n(.*?)```", page.read_text(), flags=re.S)


def commands(page: Path, prefix: str) -> list[str]:
    """Every shell command of ``page``'s bash blocks that starts with ``prefix`` (continuation
    lines joined, trailing ``# comments`` dropped), in page order."""
    out = []
    for block in blocks(page, "bash"):
        for cmd in re.sub(r"\\\n\s*", " ", block).splitlines():
            cmd = re.sub(r"\s+#.*$", "", cmd).strip()
            if cmd.startswith(prefix):
                out.append(cmd)
    return out


def here(cmd: str, cwd: Path) -> str:
    """``cmd`` with its absolute ``/data/`` and ``/tmp/`` paths moved under ``cwd``."""
    return re.sub(r"(?<=[\s=])/(data|tmp)/", lambda m: f"{cwd}/{m[1]}/", cmd)


def run_as_written(cmd: str, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run one page command in ``cwd`` with the two substitutions of the module docstring."""
    args = shlex.split(here(cmd, cwd))
    assert args[0] == ".venv/bin/vise", cmd
    argv = [sys.executable, "-m", "vise_lib.run.cli", *args[1:]]
    full_env = {**os.environ, "PYTHONPATH": str(REPO), **(env or {})}
    proc = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, env=full_env, timeout=1800)
    assert proc.returncode == 0, f"{cmd}\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}"
    return proc


def write_posts(root: Path, n: int = 1100) -> None:
    """What sections 1-4 of own_data.md name: ``images/pics/<id>.jpg``, a posts table
    ``posts.csv`` with a separate ``comments.csv``, and a Pushshift dump pair
    ``RS_2023-01.zst`` / ``RC_2023-01.zst`` for the same posts."""
    import zstandard

    rng = np.random.default_rng(0)
    (root / "images" / "pics").mkdir(parents=True)
    posts, comments, subs, coms = (
        ["post_id,image,reaction_like,reaction_haha,shares,timestamp"],
        ["post_id,text"],
        [],
        [],
    )
    for i in range(n):
        pid = f"a{i:05d}"
        Image.fromarray(rng.integers(0, 256, (12, 12, 3), dtype=np.uint8)).save(root / "images" / "pics" / f"{pid}.jpg")
        posts.append(f"{pid},pics/{pid}.jpg,{i % 7},{i % 3},{i % 5},{1600000000 + i}")
        texts = [" ".join(rng.choice(WORDS, 3)) for _ in range(1 + i % 3)]
        comments += [f"{pid},{t}" for t in texts]
        subs.append(
            {
                "id": pid,
                "subreddit": "pics",
                "url": f"https://i.redd.it/{pid}.jpg",
                "score": int(i % 17),
                "num_comments": len(texts),
                "num_crossposts": i % 2,
                "created_utc": 1700000000 + i,
            }
        )
        coms += [{"link_id": f"t3_{pid}", "body": t} for t in texts]
    (root / "posts.csv").write_text("\n".join(posts) + "\n")
    (root / "comments.csv").write_text("\n".join(comments) + "\n")
    cz = zstandard.ZstdCompressor()
    for name, rows in (("RS_2023-01.zst", subs), ("RC_2023-01.zst", coms)):
        (root / name).write_bytes(cz.compress("".join(json.dumps(r) + "\n" for r in rows).encode()))


@pytest.mark.slow
def test_own_data_sections_1_to_4_run_as_written(tmp_path, monkeypatch):
    page = REPO / "book" / "own_data.md"
    write_posts(tmp_path)
    monkeypatch.chdir(tmp_path)
    # section 1: the Python example
    (python,) = [b for b in blocks(page, "python") if "read_manifest(" in b]
    namespace: dict = {}
    exec(compile(python, f"{page}:read_manifest example", "exec"), namespace)  # the page's own code
    assert len(namespace["eng"]) == 1100 and namespace["report"].n_kept == 1100
    # sections 2-4: ingest the table, convert the dumps, ingest them, the out-of-core labels
    ingest, pushshift, ingest_dumps, labels = (
        *commands(page, ".venv/bin/vise ingest")[:1],
        *commands(page, ".venv/bin/vise pushshift"),
        *commands(page, ".venv/bin/vise ingest")[1:],
        *commands(page, ".venv/bin/vise labels"),
    )
    run_as_written(ingest, tmp_path)
    report = json.loads((tmp_path / "ingested" / "report.json").read_text())
    assert report["kept"] == 1100 and (tmp_path / "ingested" / "shards" / "shards.json").exists()
    run_as_written(pushshift, tmp_path)
    assert sum(1 for _ in open(tmp_path / "posts" / "manifest.jsonl")) == 1100
    run_as_written(ingest_dumps, tmp_path)
    out = run_as_written(labels, tmp_path)
    assert "comment text: comments" in out.stdout
    pseudo = np.load(tmp_path / "labels" / "pseudo.npy")
    assert len(pseudo) == 1100 and pseudo.max() < 1000


def _fake_cache(root: Path) -> Path:
    """A torch hub cache holding a (random) file where torchvision's resnet50 IMAGENET1K_V2 lives."""
    import torch
    import torchvision

    torch.manual_seed(0)
    url = torchvision.models.get_model_weights("resnet50")["IMAGENET1K_V2"].url
    cache = root / "torch_home" / "hub" / "checkpoints"
    cache.mkdir(parents=True)
    torch.save(torchvision.models.resnet50(weights=None).state_dict(), cache / url.rsplit("/", 1)[1])
    return root / "torch_home"


def _official_trunk(path: Path) -> None:
    import torch
    import torchvision
    from torch import nn

    path.parent.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(1)
    trunk = nn.Sequential(*list(torchvision.models.resnet50(weights=None).children())[:-2])
    torch.save(dict(trunk.state_dict()), path)  # like the released files: official keys, no metadata


@pytest.mark.slow
def test_the_vise_evaluate_examples_run_as_written(tmp_path):
    """README's and own_data.md's ``vise evaluate`` commands (ResNet-50s at 224 px on CPU, books built)."""
    data = write_real_datasets(tmp_path / "gen", px=24)
    d = tmp_path / "data"
    d.mkdir()
    (data["emotion6"]).rename(d / "Emotion6")
    (data["objects"]).rename(d / "objects")
    shutil.copytree(d / "objects", d / "cifar10_imagefolder")
    data["sentiment"].parent.rename(d / "sentiment")
    _official_trunk(tmp_path / "data" / "checkpoints" / "resnet50_vise_250m.pth")
    _official_trunk(tmp_path / "path" / "to" / "vise_r50.pth")
    env = {"TORCH_HOME": str(_fake_cache(tmp_path))}
    for page in (REPO / "book" / "own_data.md", REPO / "README.md"):
        (cmd,) = [c for c in commands(page, ".venv/bin/vise evaluate") if "--preset" not in c]
        proc = run_as_written(cmd, tmp_path, env)
        out = tmp_path / re.search(r"--out (\S+)", here(cmd, tmp_path))[1]
        assert "majority class" in proc.stdout and "chance" in proc.stdout
        assert (out / "downstream" / "scores.csv").exists() and (out / "summary" / "claims.json").exists()
        assert (out / "_build" / "transfer" / "_build" / "html" / "book" / "_generated" / "20_transfer.html").exists()
