"""Reddit Pushshift dumps -> engagement manifest, streamed.

Input: one or more submission dumps (``RS_*.zst``) and comment dumps (``RC_*.zst``),
zstandard-compressed NDJSON, plus a folder of images you downloaded (the *data root*).

Pass 1 streams the submissions and keeps an image post when, in this order (each step is
counted in the report): the line is valid JSON with a valid ``id`` and ``subreddit``; it is not
a self post and links an image (``post_hint == "image"``, an ``i.redd.it`` / ``i.imgur.com``
URL, or a URL path ending in .jpg/.jpeg/.png/.gif/.webp); its image exists locally; its id
was not kept before. Pass 2 streams the comments and appends each comment's ``body`` to the kept
post named by its ``link_id`` (``t3_<id>``); comments for other posts are counted and passed over
without parsing, so memory is bounded by the kept posts and their comments, never by the dumps.

Local image naming (``layout``): ``"subreddit"`` (default) looks for
``<data_root>/<subreddit>/<id>.<ext>``, ``"flat"`` for ``<data_root>/<id>.<ext>``, with ext one
of jpg, jpeg, png, gif, webp (first found). Paths are checked with
:mod:`vise_lib.engagement.data_root`: a symlink out of the root is rejected and counted.

Engagement mapping (ours): reactions ``score`` (Reddit's ups − downs; a negative score is
clipped to 0 and counted), ``num_comments`` (Reddit's count, which includes comments absent from
the dump), and ``upvote_pct`` = round(100 × ``upvote_ratio``) where the dump has it (older dumps
do not: then the post gets 0, so leave it out with ``reactions=("score", "num_comments")`` when
mixing years). ``shares`` = ``num_crossposts``; ``timestamp`` = ``created_utc``. Comment bodies
``[deleted]``, ``[removed]`` and empty ones are dropped and counted. A count above the
manifest's accepted range (``score: 1e30``; see :mod:`vise_lib.engagement.reader`) skips the
submission, counted as "count out of range". A lone UTF-16 surrogate from a JSON escape
(``"\\ud83d"``, half an emoji) becomes U+FFFD and is counted ("lone surrogates replaced").
The manifest is written atomically; on any error no partial file or temp file is left behind.

A truncated dump raises an error naming the file and how many lines were read; with
``allow_truncated`` its complete lines are used and the stop is listed in the report.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from vise_lib.engagement.data_root import DataRoot, ImagePathError
from vise_lib.engagement.formats import DROPPED_COMMENTS, loads_json
from vise_lib.engagement.reader import MAX_COUNT, MAX_TIMESTAMP
from vise_lib.engagement.zst import LineStream
from vise_lib.io import PathArg, atomic_write, write_json

IMAGE_EXTS = ("jpg", "jpeg", "png", "gif", "webp")
IMAGE_HOSTS = ("i.redd.it", "i.imgur.com")
REACTIONS = ("score", "num_comments", "upvote_pct")
LAYOUTS = ("subreddit", "flat")
_ID = re.compile(r"^[0-9a-z]{1,16}$")
_SUB = re.compile(r"^[A-Za-z0-9_]{1,64}$")
_LINK = re.compile(rb'"link_id"\s*:\s*"t3_([0-9a-z]+)"')
NOTE_SURROGATES = "lone surrogates replaced"


@dataclass
class PushshiftReport:
    """Counts at each filter step of both passes, and the first problems with ``file:line``."""

    submissions: Counter = field(default_factory=Counter)
    comments: Counter = field(default_factory=Counter)
    examples: list[str] = field(default_factory=list)
    truncated: list[str] = field(default_factory=list)

    def note(self, where: str, reason: str) -> None:
        if len(self.examples) < 20:
            self.examples.append(f"{where}: {reason}")

    def to_dict(self) -> dict:
        """JSON-ready form (written beside the manifest as ``<name>.report.json``)."""
        return {
            "submissions": dict(self.submissions),
            "comments": dict(self.comments),
            "examples": self.examples,
            "truncated": self.truncated,
        }

    def summary(self) -> str:
        """A few readable lines, one per pass."""
        s, c = self.submissions, self.comments
        return "\n".join(
            [
                "submissions: " + ", ".join(f"{k} {v}" for k, v in s.items()),
                "comments:    " + ", ".join(f"{k} {v}" for k, v in c.items()),
            ]
            + [f"truncated:   {t}" for t in self.truncated]
        )


def is_image_post(sub: dict) -> bool:
    """True when a submission links an image (see the module docstring for the rule)."""
    if sub.get("is_self"):
        return False
    if sub.get("post_hint") == "image":
        return True
    url = sub.get("url_overridden_by_dest") or sub.get("url") or ""
    if not isinstance(url, str):
        return False
    parts = urlsplit(url)
    return parts.netloc.lower() in IMAGE_HOSTS or parts.path.lower().rsplit(".", 1)[-1] in IMAGE_EXTS


class _LocalImages:
    """Finds ``<id>.<ext>`` in the expected folder, listing each folder once."""

    def __init__(self, root: DataRoot, layout: str):
        if layout not in LAYOUTS:
            raise ValueError(f"layout must be one of {LAYOUTS}, got {layout!r}")
        self.root, self.layout = root, layout
        self.listing: dict[str, set[str]] = {}

    def find(self, sub_id: str, subreddit: str) -> str | None:
        folder = subreddit if self.layout == "subreddit" else ""
        if folder not in self.listing:
            d = self.root.real / folder
            self.listing[folder] = set(os.listdir(d)) if d.is_dir() else set()
        for ext in IMAGE_EXTS:
            name = f"{sub_id}.{ext}"
            if name in self.listing[folder]:
                rel = f"{folder}/{name}" if folder else name
                self.root.resolve(rel)  # escapes (symlinks out) and non-files raise
                return rel
        return None


def _lines(path, report: PushshiftReport, counts: Counter, allow_truncated: bool):
    stream = LineStream(path, allow_truncated=allow_truncated)
    for lineno, raw in enumerate(stream, start=1):
        if not raw.strip():
            continue
        counts["lines"] += 1
        yield lineno, raw
    if stream.truncated:
        report.truncated.append(f"{path}: truncated, {stream.lines} complete lines used")


def _decode(raw: bytes, counts: Counter):
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        counts["non-UTF-8 bytes replaced"] += 1
        text = raw.decode("utf-8", errors="replace")
    notes: Counter = Counter()
    try:
        obj = loads_json(text, notes)
    except (ValueError, RecursionError):  # also an integer of more than 4300 digits
        return None
    if notes:
        counts[NOTE_SURROGATES] += 1
    return obj if isinstance(obj, dict) else None


def _int(value, default=0):
    try:
        return int(float(value))
    except (TypeError, ValueError, OverflowError):
        return default


class _OutOfRange(ValueError):
    pass


def _post_row(sub: dict, rel: str, reactions, counts: Counter) -> dict:
    for key, top in (
        ("score", MAX_COUNT),
        ("num_comments", MAX_COUNT),
        ("num_crossposts", MAX_COUNT),
        ("created_utc", MAX_TIMESTAMP),
    ):
        try:
            value = float(sub.get(key) or 0)
        except (TypeError, ValueError, OverflowError):
            continue  # not a number: read as 0, as before
        if not abs(value) <= top:  # also catches inf and NaN
            raise _OutOfRange(f"{key} {sub.get(key)!r} is outside the accepted range (|value| <= {top:.0e})")
    score = _int(sub.get("score"))
    if score < 0:
        counts["negative score clipped to 0"] += 1
    values = {"score": max(score, 0), "num_comments": max(_int(sub.get("num_comments")), 0)}
    ratio = sub.get("upvote_ratio")
    if isinstance(ratio, (int, float)) and 0 <= ratio <= 1:
        values["upvote_pct"] = round(100 * ratio)
    return {
        "post_id": sub["id"],
        "image": rel,
        "comments": [],
        "reactions": {k: v for k, v in values.items() if k in reactions},
        "shares": max(_int(sub.get("num_crossposts")), 0),
        "timestamp": max(_int(sub.get("created_utc")), 0),
        "subreddit": sub["subreddit"],
    }


def read_submissions(
    paths,
    data_root,
    layout="subreddit",
    reactions=REACTIONS,
    subreddits=None,
    allow_truncated=False,
    report: PushshiftReport | None = None,
) -> tuple[dict, PushshiftReport]:
    """Pass 1: the kept image posts as ``{id: manifest row}`` (dump order) and the report."""
    report = report or PushshiftReport()
    c, local = report.submissions, _LocalImages(DataRoot(data_root), layout)
    wanted = {s.lower() for s in subreddits} if subreddits else None
    kept: dict[str, dict] = {}
    for path in paths:
        for lineno, raw in _lines(path, report, c, allow_truncated):
            sub = _decode(raw, c)
            if sub is None:
                c["invalid JSON"] += 1
                report.note(f"{path}:{lineno}", "invalid JSON")
                continue
            sid, sr = sub.get("id"), sub.get("subreddit")
            if not (isinstance(sid, str) and _ID.match(sid) and isinstance(sr, str) and _SUB.match(sr)):
                c["invalid id or subreddit"] += 1
                report.note(f"{path}:{lineno}", f"invalid id or subreddit ({sid!r}, {sr!r})")
                continue
            if wanted is not None and sr.lower() not in wanted:
                c["other subreddit"] += 1
                continue
            if not is_image_post(sub):
                c["not an image post"] += 1
                continue
            try:
                rel = local.find(sid, sr)
            except ImagePathError as e:
                c[e.reason] += 1
                report.note(f"{path}:{lineno}", str(e))
                continue
            if rel is None:
                c["image not downloaded"] += 1
                continue
            if sid in kept:
                c["duplicate id"] += 1
                report.note(f"{path}:{lineno}", f"duplicate id {sid!r}")
                continue
            try:
                kept[sid] = _post_row(sub, rel, reactions, c)
            except _OutOfRange as e:
                c["count out of range"] += 1
                report.note(f"{path}:{lineno}", str(e))
    c["kept"] = len(kept)
    return kept, report


def join_comments(paths, kept: dict, allow_truncated=False, report: PushshiftReport | None = None) -> PushshiftReport:
    """Pass 2: append comment bodies to the kept posts (by ``link_id``), in dump order."""
    report = report or PushshiftReport()
    c = report.comments
    for path in paths:
        for lineno, raw in _lines(path, report, c, allow_truncated):
            m = _LINK.search(raw)
            if m is not None and m.group(1).decode() not in kept:
                c["for other posts"] += 1
                continue
            com = _decode(raw, c)
            if com is None:
                c["invalid JSON"] += 1
                report.note(f"{path}:{lineno}", "invalid JSON")
                continue
            link = com.get("link_id")
            post = kept.get(link[3:]) if isinstance(link, str) and link.startswith("t3_") else None
            if post is None:
                c["for other posts"] += 1
                continue
            body = com.get("body")
            if not isinstance(body, str) or not body.strip():
                c["empty body"] += 1
            elif body.strip() in DROPPED_COMMENTS:
                c["deleted or removed body"] += 1
            else:
                post["comments"].append(body)
                c["joined"] += 1
    return report


def pushshift_to_manifest(
    submissions: PathArg | Sequence[PathArg],
    comments: PathArg | Sequence[PathArg] | None,
    data_root: PathArg,
    out: PathArg,
    layout: str = "subreddit",
    reactions: Sequence[str] = REACTIONS,
    subreddits: Sequence[str] | None = None,
    allow_truncated: bool = False,
) -> PushshiftReport:
    """Both passes, then write the JSONL manifest ``out`` (atomically) and its report (:func:`report_path`).

    ``submissions``/``comments``: a path or a list of paths (``.zst`` or plain NDJSON).
    The manifest's ``image`` paths are relative to ``data_root``; read it back with
    ``read_manifest(out, data_root=data_root)``.
    """
    subs = [submissions] if isinstance(submissions, (str, os.PathLike)) else list(submissions)
    coms = [comments] if isinstance(comments, (str, os.PathLike)) else list(comments or [])
    unknown = sorted(set(reactions) - set(REACTIONS))
    if unknown:
        raise ValueError(f"unknown Pushshift reaction(s) {unknown}; choose from {REACTIONS}")
    kept, report = read_submissions(subs, data_root, layout, reactions, subreddits, allow_truncated)
    join_comments(coms, kept, allow_truncated, report)
    atomic_write(
        out, lambda f: f.writelines(json.dumps(row, ensure_ascii=False) + "\n" for row in kept.values()), mode="w"
    )
    write_json(report_path(out), report.to_dict())
    return report


def report_path(out) -> Path:
    """Where :func:`pushshift_to_manifest` writes its report: ``manifest.jsonl`` -> ``manifest.report.json``."""
    return Path(out).with_suffix(".report.json")


def main(argv: list[str] | None = None) -> int:
    """``python -m vise_lib.engagement.pushshift --submissions RS.zst --comments RC.zst --data-root DIR --out m.jsonl``."""
    p = argparse.ArgumentParser(
        prog="vise pushshift", description="Reddit Pushshift dumps + downloaded images -> engagement manifest"
    )
    p.add_argument("--submissions", action="append", required=True, help="RS_*.zst (repeatable)")
    p.add_argument("--comments", action="append", default=[], help="RC_*.zst (repeatable)")
    p.add_argument("--data-root", required=True, help="folder with the downloaded images")
    p.add_argument("--out", required=True, help="manifest to write (.jsonl)")
    p.add_argument(
        "--layout",
        choices=LAYOUTS,
        default="subreddit",
        help="image naming: <root>/<subreddit>/<id>.<ext> (subreddit) or <root>/<id>.<ext> (flat)",
    )
    p.add_argument("--reactions", default=",".join(REACTIONS), help=f"comma list from {','.join(REACTIONS)}")
    p.add_argument(
        "--subreddit", dest="subreddits", action="append", default=None, help="keep only this subreddit (repeatable)"
    )
    p.add_argument("--allow-truncated", action="store_true", help="use the complete lines of a truncated dump")
    a = p.parse_args(argv)
    a.reactions = tuple(x for x in a.reactions.split(",") if x)
    report = pushshift_to_manifest(**vars(a))  # every option's dest is one of pushshift_to_manifest()'s parameters
    print(report.summary())
    print(f"wrote {a.out} ({report.submissions['kept']} posts)")
    return 0


if __name__ == "__main__":
    from vise_lib.tools import tool_main

    sys.exit(tool_main("pushshift"))
