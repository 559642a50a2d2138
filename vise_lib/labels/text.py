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
    """Counts of comments that were truncated or had invalid Unicode (U+FFFD / surrogates)."""
    out = {"comments": 0, "posts_without_comments": 0, "comments_truncated": 0, "comments_with_invalid_unicode": 0}
    for cs in eng.comments:
        out["comments"] += len(cs)
        out["posts_without_comments"] += not cs
        for c in cs:
            out["comments_truncated"] += len(c) > max_chars
            out["comments_with_invalid_unicode"] += "\ufffd" in clean_comment(c, len(c))
    return out


def post_documents(eng: Engagement, max_chars: int = MAX_CHARS) -> list[str]:
    """One text per post: its caption (if any) and cleaned comments joined by newlines ('' when it has none)."""
    return ["\n".join(clean_comment(c, max_chars) for c in cs) for cs in eng.texts()]


def has_comments(eng: Engagement) -> np.ndarray:
    """Posts with any text to encode (a comment or a caption)."""
    return np.array([len(c) > 0 for c in eng.texts()], dtype=bool)


def l2_rows(z: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(z, axis=1, keepdims=True)
    return np.divide(z, norms, out=np.zeros_like(z), where=norms > 0)
