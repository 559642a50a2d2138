"""Comment text as the encoders see it: cleaned, truncated, joined per post.

The manifest reader already decodes invalid UTF-8 bytes as U+FFFD; lone surrogates (possible
through JSON ``\\udcxx`` escapes) are replaced by U+FFFD too, and each comment is truncated to
``max_chars`` characters (default 1000), so one huge comment cannot dominate a post or the run
time. :func:`text_issues` counts both for the stage report.
"""

from __future__ import annotations

import numpy as np

from vise_lib.engagement.table import Engagement

MAX_CHARS = 1000


def clean_comment(text: str, max_chars: int = MAX_CHARS) -> str:
    """One comment as it is encoded: lone surrogates -> U+FFFD, cut to ``max_chars``."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = text.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
    return text[:max_chars]


def text_issues(eng: Engagement, max_chars: int = MAX_CHARS) -> dict[str, int]:
    """What the comment encoders had to read, counted: ``comments`` (comment texts), ``captions``
    (posts with a caption), ``posts_without_comments``, ``posts_without_text`` (neither a caption
    nor a comment: their comment vector is 0), ``posts_with_comment_count_only`` (no comment
    texts but an ``n_comments`` count, which the ``counts`` signal reads), and the comments that
    were truncated or had invalid Unicode (U+FFFD / surrogates). Counts of chunks add up."""
    out = {
        "comments": 0,
        "captions": 0,
        "posts_without_comments": 0,
        "posts_without_text": 0,
        "posts_with_comment_count_only": 0,
        "comments_truncated": 0,
        "comments_with_invalid_unicode": 0,
    }
    for cs, cap, n in zip(eng.comments, eng.captions, eng.n_comments.tolist(), strict=True):
        out["comments"] += len(cs)
        out["captions"] += bool(cap)
        out["posts_without_comments"] += not cs
        out["posts_without_text"] += not cs and not cap
        out["posts_with_comment_count_only"] += not cs and n >= 0
        for c in cs:
            out["comments_truncated"] += len(c) > max_chars
            out["comments_with_invalid_unicode"] += "\ufffd" in clean_comment(c, len(c))
    return out


def add_counts(total: dict[str, int], part: dict[str, int]) -> dict[str, int]:
    """``total`` plus ``part``, key by key (``text_issues`` of chunks -> of all posts)."""
    return {k: total.get(k, 0) + part.get(k, 0) for k in dict.fromkeys([*total, *part])}


def text_summary(counts: dict[str, int]) -> str:
    """The report line of :func:`text_issues` counts: ``comment text: comments 0, captions 189, …``."""
    return "comment text: " + ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in counts.items())


def post_documents(eng: Engagement, max_chars: int = MAX_CHARS) -> list[str]:
    """One text per post: its caption (if any) and cleaned comments joined by newlines ('' when it has none)."""
    return ["\n".join(clean_comment(c, max_chars) for c in cs) for cs in eng.texts()]


def has_comments(eng: Engagement) -> np.ndarray:
    """Posts with any text to encode (a comment or a caption)."""
    return np.array([len(c) > 0 for c in eng.texts()], dtype=bool)


def l2_rows(z: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(z, axis=1, keepdims=True)
    return np.divide(z, norms, out=np.zeros_like(z), where=norms > 0)
