"""The counts block: log-binned shares and comment counts, one-hot.

The comment count of a post is its number of comment texts, or the manifest's ``n_comments``
when the post has no comment texts (count-only exports; :meth:`Engagement.comment_counts`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vise_lib.engagement.table import Engagement


@dataclass
class CountEncoder:
    """Log-binned shares and comment counts, one-hot: (N, 2 * n_bins)."""

    n_bins: int = 8

    def fit(self, eng: Engagement) -> "CountEncoder":
        """Nothing to learn (fixed log2 bins)."""
        return self

    def fit_transform(self, eng: Engagement) -> np.ndarray:
        """Same as :meth:`transform` (nothing to fit)."""
        return self.transform(eng)

    def transform(self, eng: Engagement) -> np.ndarray:
        """One-hot bins ``min(floor(log2(1 + count)), n_bins - 1)`` of shares and comments."""
        z = np.zeros((len(eng), 2 * self.n_bins), np.float32)
        n_comments = eng.comment_counts()
        for j, counts in enumerate((eng.shares, n_comments)):
            b = np.minimum(np.floor(np.log2(1 + np.asarray(counts, np.float64))), self.n_bins - 1)
            z[np.arange(len(eng)), j * self.n_bins + b.astype(np.int64)] = 1.0
        return z
