"""Shared fixtures."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from vise_lib.engagement.reader import read_manifest

REPO = Path(__file__).resolve().parent.parent


def write_manifest(path: Path, rows: list) -> Path:
    """Write rows (dicts, or raw strings for broken lines) as a JSONL manifest."""
    with open(path, "w", encoding="utf-8") as f:
        for r in rows:
            f.write((r if isinstance(r, str) else json.dumps(r, ensure_ascii=False)) + "\n")
    return path


def make_post(i: int, comments=None, reactions=None, shares=0) -> dict:
    return {"post_id": f"p{i:05d}", "image_index": i,
            "comments": ["lol", "so cute"] if comments is None else comments,
            "reactions": {"like": 3, "haha": 1} if reactions is None else reactions,
            "shares": shares, "timestamp": 1600000000 + i}


@pytest.fixture
def manifest_of(tmp_path):
    """Factory: rows -> (Engagement, ReadReport)."""
    def _make(rows, **kw):
        return read_manifest(write_manifest(tmp_path / "manifest.jsonl", rows), **kw)
    return _make
