"""The reactions block: the reaction distribution plus log(1 + total), standardized."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vise_lib.engagement.table import Engagement


@dataclass
class ReactionEncoder:
    """Reaction distribution + log(1 + total), standardized on the training posts."""

    def _raw(self, eng: Engagement) -> np.ndarray:
        counts = eng.reactions.astype(np.float64)
        total = counts.sum(axis=1, keepdims=True)
        dist = np.divide(counts, total, out=np.zeros_like(counts), where=total > 0)
        return np.hstack([dist, np.log1p(total)])

    def fit(self, eng: Engagement) -> ReactionEncoder:
        """Learn the per-column mean and standard deviation."""
        if eng.reactions.shape[1] == 0:
            raise ValueError("the engagement table has no reaction columns")
        raw = self._raw(eng)
        self.mean_, self.std_ = raw.mean(0), raw.std(0) + 1e-8
        return self

    def fit_transform(self, eng: Engagement) -> np.ndarray:
        """Fit on ``eng`` and return its vectors."""
        return self.fit(eng).transform(eng)

    def transform(self, eng: Engagement) -> np.ndarray:
        """(N, R + 1) float32 standardized vectors."""
        if eng.reactions.shape[1] != len(self.mean_) - 1:
            raise ValueError(f"expected {len(self.mean_) - 1} reaction columns, got {eng.reactions.shape[1]}")
        return ((self._raw(eng) - self.mean_) / self.std_).astype(np.float32)
