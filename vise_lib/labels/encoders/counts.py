"""The counts block: binned shares and comment counts, one-hot.

The comment count of a post is its number of comment texts, or the manifest's ``n_comments``
when the post has no comment texts (count-only exports; :meth:`Engagement.comment_counts`).

Bins (our choice, a parameter): ``bins="quantile"`` (the default) fits, per count, the edges
of ``n_bins`` equal-mass bins of ``log(1 + count)`` on the training posts (ties merge bins, so
a count that is mostly 0 gets fewer, wider bins); real counts are heavy-tailed (0 to hundreds of
thousands), and bins that follow the data spread the posts over the bins where fixed bins put
nearly all of them in the last one. ``bins="log2"`` is the fixed rule
``min(floor(log2(1 + count)), n_bins - 1)`` (nothing to fit; it saturates at ``2 ** n_bins - 1``).
Either way a zero count is bin 0 and the block is ``(N, 2 * n_bins)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vise_lib.engagement.table import Engagement

BINNINGS = ("quantile", "log2")


@dataclass
class CountEncoder:
    """Binned shares and comment counts, one-hot: (N, 2 * n_bins)."""

    n_bins: int = 8
    bins: str = "quantile"

    def __post_init__(self) -> None:
        if self.bins not in BINNINGS:
            raise ValueError(f"unknown count binning {self.bins!r}; choose one of {BINNINGS}")
        if self.n_bins < 2:
            raise ValueError(f"n_bins must be >= 2, got {self.n_bins}")

    @staticmethod
    def _columns(eng: Engagement) -> tuple[np.ndarray, np.ndarray]:
        """``1 + count`` of shares and of comments, as floats."""
        return 1.0 + np.asarray(eng.shares, np.float64), 1.0 + eng.comment_counts().astype(np.float64)

    def fit(self, eng: Engagement) -> CountEncoder:
        """Fit the quantile bin edges on ``eng`` (nothing to learn for ``log2``)."""
        if self.bins == "quantile":
            if len(eng) == 0:
                raise ValueError("cannot fit count bins on zero posts")
            q = np.linspace(0, 1, self.n_bins + 1)[1:-1]
            # inner edges; bin b holds edges[b-1] < x <= edges[b], so a zero count is bin 0
            self.edges_ = [np.unique(np.quantile(np.log(x), q)) for x in self._columns(eng)]
        return self

    def fit_transform(self, eng: Engagement) -> np.ndarray:
        """Fit on ``eng`` and return its vectors."""
        return self.fit(eng).transform(eng)

    def bin_index(self, eng: Engagement) -> np.ndarray:
        """(N, 2) bin of each post's shares and comment count."""
        out = np.zeros((len(eng), 2), np.int64)
        for j, x in enumerate(self._columns(eng)):
            if self.bins == "log2":
                out[:, j] = np.minimum(np.floor(np.log2(x)), self.n_bins - 1)
            else:
                if not hasattr(self, "edges_"):
                    raise RuntimeError("CountEncoder(bins='quantile') must be fitted before transform")
                out[:, j] = np.searchsorted(self.edges_[j], np.log(x), side="left")
        return out

    def transform(self, eng: Engagement) -> np.ndarray:
        """One-hot bins of shares (first ``n_bins`` columns) and comments (the next ``n_bins``)."""
        z = np.zeros((len(eng), 2 * self.n_bins), np.float32)
        b = self.bin_index(eng)
        rows = np.arange(len(eng))
        z[rows, b[:, 0]] = 1.0
        z[rows, self.n_bins + b[:, 1]] = 1.0
        return z
