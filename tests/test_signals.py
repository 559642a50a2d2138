import numpy as np
import pytest

from conftest import make_post
from vise_lib.signals import SignalEncoder

WORDS = {0: ["haha", "lol", "funny"], 1: ["sad", "cry", "sorry"]}


def rows(n=60):
    out = []
    for i in range(n):
        c = i % 2
        out.append(make_post(i, comments=[f"{WORDS[c][i % 3]} {WORDS[c][(i + 1) % 3]}"] if i % 5 else [],
                             reactions={"haha": 10 * (1 - c) + 1, "sad": 10 * c + 1}))
    return out


@pytest.mark.parametrize("signal", ["comments", "reactions", "both"])
def test_shapes_and_determinism(manifest_of, signal):
    eng, _ = manifest_of(rows())
    a = SignalEncoder(signal, dim=4, seed=0).fit_transform(eng)
    b = SignalEncoder(signal, dim=4, seed=0).fit_transform(eng)
    assert a.shape[0] == len(eng) and a.dtype == np.float32 and np.isfinite(a).all()
    np.testing.assert_array_equal(a, b)


def test_posts_without_comments_get_zero_comment_vector(manifest_of):
    eng, _ = manifest_of(rows())
    z = SignalEncoder("comments", dim=4).fit_transform(eng)
    empty = np.array([len(c) == 0 for c in eng.comments])
    assert empty.any() and np.all(z[empty] == 0)
    norms = np.linalg.norm(z[~empty], axis=1)  # L2-normalized, then the block's global scale
    np.testing.assert_allclose(norms, norms[0], rtol=1e-5)
    assert abs(np.linalg.norm(z, axis=1).mean() - 1) < 1e-5  # unit average norm


def test_all_zero_reactions_are_finite(manifest_of):
    r = rows()
    r[3]["reactions"] = {"haha": 0, "sad": 0}
    eng, _ = manifest_of(r)
    assert np.isfinite(SignalEncoder("reactions").fit_transform(eng)).all()


def test_comment_signal_separates_the_two_groups(manifest_of):
    eng, _ = manifest_of(rows())
    z = SignalEncoder("comments", dim=2).fit_transform(eng)
    has = np.array([len(c) > 0 for c in eng.comments])
    group = np.arange(len(eng)) % 2
    sim = z[has] @ z[has].T
    same = sim[group[has][:, None] == group[has][None, :]].mean()
    diff = sim[group[has][:, None] != group[has][None, :]].mean()
    assert same > diff + 0.3


def test_unknown_signal_rejected():
    with pytest.raises(ValueError, match="unknown signal"):
        SignalEncoder("likes")
