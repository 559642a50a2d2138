"""φ(e) block encoders behind one registry.

A φ(e) signal (:mod:`vise_lib.labels.signals`) is a concatenation of *blocks*; each block is
computed by an encoder with ``fit`` / ``fit_transform`` / ``transform`` on an
:class:`~vise_lib.engagement.table.Engagement` table. The ``comments`` block has several text
encoders, chosen with ``encoder``: a new comment encoder is one file in this folder plus one
entry in :data:`TEXT_ENCODERS` (a class with ``from_options(dim, seed, model)``).
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from vise_lib.engagement.table import Engagement
from vise_lib.labels.encoders.counts import CountEncoder
from vise_lib.labels.encoders.reactions import ReactionEncoder
from vise_lib.labels.encoders.sentence import SentenceEncoder
from vise_lib.labels.encoders.tfidf import TfidfEncoder


class BlockEncoder(Protocol):
    """What every block encoder provides: fit on the training posts, then encode any posts."""

    def fit(self, eng: Engagement) -> BlockEncoder: ...

    def fit_transform(self, eng: Engagement) -> np.ndarray: ...

    def transform(self, eng: Engagement) -> np.ndarray: ...


#: comment text encoders, by the name a preset's ``encoder`` key uses
TEXT_ENCODERS: dict[str, type[TfidfEncoder] | type[SentenceEncoder]] = {
    "tfidf": TfidfEncoder,
    "sentence-transformers": SentenceEncoder,
}
#: every block and the encoder class that computes it (``comments`` picks from TEXT_ENCODERS)
BLOCKS = ("comments", "reactions", "counts")
ENCODERS = tuple(TEXT_ENCODERS)


def make_block(
    name: str, dim: int = 64, seed: int = 0, encoder: str = "tfidf", encoder_model: str | None = None
) -> BlockEncoder:
    """An unfitted encoder for one block (``comments``, ``reactions`` or ``counts``)."""
    if name == "comments":
        if encoder not in TEXT_ENCODERS:
            raise ValueError(f"unknown comment encoder {encoder!r}; choose one of {ENCODERS}")
        return TEXT_ENCODERS[encoder].from_options(dim=dim, seed=seed, model=encoder_model)
    if name == "reactions":
        return ReactionEncoder()
    if name == "counts":
        return CountEncoder()
    raise ValueError(f"unknown block {name!r}; choose one of {BLOCKS}")
