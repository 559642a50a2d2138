"""Optional comment encoder: a local sentence-transformers model (nothing is downloaded).

Used by the ``comments`` block only when ``encoder="sentence-transformers"`` and a local
``encoder_model`` directory are given; the package is not a dependency of the project.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vise_lib.engagement.table import Engagement
from vise_lib.labels.text import MAX_CHARS, clean_comment, l2_rows


@dataclass
class SentenceEncoder:
    """Mean of a local sentence-transformers model's comment embeddings -> L2 (optional).

    ``model_path`` must be a local directory; the model is loaded with the Hugging Face hub
    offline, so nothing is downloaded. Needs the ``sentence-transformers`` package.
    """

    model_path: str
    batch_size: int = 64
    max_chars: int = MAX_CHARS

    @classmethod
    def from_options(cls, dim: int, seed: int, model: str | None = None) -> SentenceEncoder:
        """The registry's constructor: ``model`` is the local model directory (dim is the model's)."""
        return cls(model or "")

    def fit(self, eng: Engagement) -> SentenceEncoder:
        """Load the model (there is nothing to fit)."""
        path = Path(self.model_path) if self.model_path else None
        if path is None or not path.is_dir():
            raise FileNotFoundError(
                f"encoder_model {self.model_path!r} is not a local directory "
                "(the sentence-transformers encoder never downloads a model)"
            )
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as e:
            raise ImportError(
                "encoder='sentence-transformers' needs the sentence-transformers "
                "package; install it or use encoder='tfidf'"
            ) from e
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        self.model_ = SentenceTransformer(str(path), device="cpu")
        return self

    def fit_transform(self, eng: Engagement) -> np.ndarray:
        """Load the model and embed ``eng``'s posts."""
        return self.fit(eng).transform(eng)

    def transform(self, eng: Engagement) -> np.ndarray:
        """(N, d) float32: each post's mean comment embedding, L2-normalized; no comments -> 0."""
        per_post = eng.texts()  # the caption (if any), then the comments
        texts = sorted({clean_comment(c, self.max_chars) for cs in per_post for c in cs})
        emb = np.asarray(
            self.model_.encode(texts, batch_size=self.batch_size, show_progress_bar=False), dtype=np.float32
        )
        row = {t: i for i, t in enumerate(texts)}
        z = np.zeros((len(eng), emb.shape[1] if len(texts) else 1), np.float32)
        for i, cs in enumerate(per_post):
            if cs:
                z[i] = emb[[row[clean_comment(c, self.max_chars)] for c in cs]].mean(0)
        return l2_rows(z)
