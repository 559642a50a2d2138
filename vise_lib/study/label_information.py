"""How much each hidden latent the pseudo labels carry: NMI, AMI and I(labels; affect | content).

The plug-in conditional mutual information is biased upward for many clusters and few posts
per content class, so it is reported next to the same estimate for labels permuted *within*
each content class (which keeps I(labels; content) and has zero true I(labels; affect |
content)): only the excess over that reference is information about affect beyond content.
"""

from __future__ import annotations

import numpy as np
from sklearn.metrics import adjusted_mutual_info_score, mutual_info_score, normalized_mutual_info_score


def conditional_mi(labels: np.ndarray, target: np.ndarray, given: np.ndarray) -> float:
    """Plug-in I(labels; target | given) in nats."""
    total = 0.0
    for g in np.unique(given):
        m = given == g
        total += m.mean() * mutual_info_score(labels[m], target[m])
    return float(total)


def permuted_within(labels: np.ndarray, given: np.ndarray, seed: int = 0) -> np.ndarray:
    """``labels`` permuted among the posts of each ``given`` class (seeded)."""
    rng, out = np.random.default_rng(seed), labels.copy()
    for g in np.unique(given):
        idx = np.flatnonzero(given == g)
        out[idx] = labels[rng.permutation(idx)]
    return out


def label_information(labels: np.ndarray, latents: dict, seed: int = 0) -> dict:
    """NMI and AMI of the labels with each latent (``object`` = content, ``affect``, ``stance``,
    ``poster``), and I(labels; affect | content) with its within-content permutation reference."""
    out = {}
    for k in ("object", "affect", "stance", "poster"):
        if k in latents:
            out[f"nmi_{k}"] = float(normalized_mutual_info_score(latents[k], labels))
            out[f"ami_{k}"] = float(adjusted_mutual_info_score(latents[k], labels))
    cmi = conditional_mi(labels, latents["affect"], latents["object"])
    ref = conditional_mi(permuted_within(labels, latents["object"], seed), latents["affect"], latents["object"])
    out.update(cmi_affect_given_content=cmi, cmi_reference=ref, cmi_excess=cmi - ref)
    return out
