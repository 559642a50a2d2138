import numpy as np
import pytest
import torch

from vise_lib.backbones.tensors import (
    MEAN,
    STD,
    as_nchw,
    augment,
    check_labels,
    iterate_batches,
    normalized,
    num_batches,
    to_tensor,
)


def _images(n=6, h=8, w=10, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (n, h, w, 3), dtype=np.uint8)


def test_to_tensor_normalizes():
    imgs = _images()
    x = to_tensor(imgs)
    assert x.shape == (6, 3, 8, 10) and x.dtype == torch.float32
    expect = (imgs[2, 3, 4, 1] / 255.0 - MEAN[1]) / STD[1]
    assert x[2, 1, 3, 4].item() == pytest.approx(expect, abs=1e-6)


def test_to_tensor_rejects_bad_input():
    with pytest.raises(ValueError, match="uint8"):
        to_tensor(_images().astype(np.float32))
    with pytest.raises(ValueError, match="shape"):
        to_tensor(_images()[..., :2])
    with pytest.raises(ValueError, match="numpy"):
        to_tensor(torch.zeros(1, 4, 4, 3))


@pytest.mark.parametrize("mode", ["reflect", "zeros"])
def test_augment_deterministic_and_shape_preserving(mode):
    x = to_tensor(_images(n=16))
    a = augment(x, torch.Generator().manual_seed(3), padding_mode=mode)
    b = augment(x, torch.Generator().manual_seed(3), padding_mode=mode)
    c = augment(x, torch.Generator().manual_seed(4), padding_mode=mode)
    assert a.shape == x.shape and torch.equal(a, b) and not torch.equal(a, c)


def test_augment_crops_are_shifted_windows():
    # pad=0: only flips; every output is the image or its mirror, and both happen.
    x = to_tensor(_images(n=64))
    out = augment(x, torch.Generator().manual_seed(0), pad=0)
    same = [torch.equal(o, i) for o, i in zip(out, x, strict=True)]
    flipped = [torch.equal(o, i.flip(2)) for o, i in zip(out, x, strict=True)]
    assert all(s or f for s, f in zip(same, flipped, strict=True))
    assert 10 < sum(flipped) < 54
    # crop without flip: each output equals a window of the zero-padded input
    out = augment(x, torch.Generator().manual_seed(1), pad=2, flip=False, padding_mode="zeros")
    padded = torch.nn.functional.pad(x, (2, 2, 2, 2))
    shifts = set()
    for o, p in zip(out, padded, strict=True):
        hits = [(dy, dx) for dy in range(5) for dx in range(5) if torch.equal(o, p[:, dy : dy + 8, dx : dx + 10])]
        assert hits
        shifts.add(hits[0])
    assert len(shifts) > 5


@pytest.mark.parametrize("mode", ["reflect", "zeros"])
def test_augment_is_the_crop_then_the_flip_with_draws_in_that_order(mode):
    """Crop offsets are drawn first, flips second; a flipped image is its crop mirrored (the
    flip is fused into the crop's gather, which must not change any value)."""
    x = torch.randn(9, 3, 8, 8)
    out = augment(x, torch.Generator().manual_seed(5), pad=3, padding_mode=mode)
    g = torch.Generator().manual_seed(5)
    cropped = augment(x, g, pad=3, flip=False, padding_mode=mode)
    mask = torch.rand(9, generator=g) < 0.5
    assert 0 < int(mask.sum()) < 9
    assert torch.equal(out, torch.where(mask[:, None, None, None], cropped.flip(3), cropped))


@pytest.mark.parametrize("pad", [1, 3, 7])
def test_augment_reflects_like_f_pad_and_uint8_then_normalized_equals_normalized_then_augmented(pad):
    """The reflect crop reads mirrored indices instead of padding a copy: it must equal cropping
    ``F.pad(mode="reflect")``'s output, and augmenting uint8 pixels, then normalizing, must give
    exactly the normalized batch augmented (what the objectives and fine-tuning rely on)."""
    images = _images(n=32, h=8, w=10)
    x = to_tensor(images)
    out = augment(x, torch.Generator().manual_seed(pad), pad=pad, flip=False)
    padded = torch.nn.functional.pad(x, (pad, pad, pad, pad), mode="reflect")
    g = torch.Generator().manual_seed(pad)
    offsets = torch.randint(0, 2 * pad + 1, (2, len(x)), generator=g)
    want = torch.stack([p[:, dy : dy + 8, dx : dx + 10] for p, dy, dx in zip(padded, *offsets.tolist(), strict=True)])
    assert torch.equal(out, want)
    for flip in (False, True):
        a = augment(x, torch.Generator().manual_seed(7), pad=pad, flip=flip)
        b = normalized(augment(as_nchw(images), torch.Generator().manual_seed(7), pad=pad, flip=flip))
        assert torch.equal(a, b) and b.dtype == torch.float32 and b.is_contiguous()
    with pytest.raises(ValueError, match="float"):
        augment(as_nchw(images), torch.Generator(), pad=pad, padding_mode="zeros")


def test_augment_bad_arguments():
    x = torch.zeros(2, 3, 4, 4)
    g = torch.Generator()
    with pytest.raises(ValueError, match="pad"):
        augment(x, g, pad=-1)
    with pytest.raises(ValueError, match="reflect"):
        augment(x, g, pad=4)
    with pytest.raises(ValueError, match="padding_mode"):
        augment(x, g, padding_mode="wrap")
    with pytest.raises(ValueError, match="Generator"):
        augment(x, None)


def test_iterate_batches():
    g = torch.Generator().manual_seed(0)
    batches = list(iterate_batches(10, 4, g))
    assert [len(b) for b in batches] == [4, 4, 2] == [4, 4, 2][: num_batches(10, 4)]
    assert sorted(torch.cat(batches).tolist()) == list(range(10))
    again = list(iterate_batches(10, 4, torch.Generator().manual_seed(0)))
    assert all(torch.equal(a, b) for a, b in zip(batches, again, strict=True))
    assert [len(b) for b in iterate_batches(10, 4, g, drop_last=True)] == [4, 4] and num_batches(10, 4, True) == 2
    assert torch.cat(list(iterate_batches(5, 2, shuffle=False))).tolist() == [0, 1, 2, 3, 4]
    with pytest.raises(ValueError):
        list(iterate_batches(10, 0, g))
    with pytest.raises(ValueError, match="Generator"):
        list(iterate_batches(10, 2, None))


def test_check_labels():
    assert check_labels([np.array([0, 2, 1], dtype=np.int32)], 3)[0].dtype == np.int64
    for bad in ([], [np.array([0, 1])], [np.array([0.0, 1.0, 2.0])], [np.array([0, -1, 1])]):
        with pytest.raises(ValueError):
            check_labels(bad, 3)


def test_to_unit_and_normalize():
    from vise_lib.backbones.tensors import normalize, to_unit

    imgs = _images()
    u = to_unit(imgs)
    assert u.shape == (6, 3, 8, 10) and u.min() >= 0 and u.max() <= 1
    assert torch.equal(normalize(u.clone()), to_tensor(imgs))


def test_prefetch_keeps_order_and_errors():
    import threading

    from vise_lib.backbones.tensors import prefetch

    for depth in (0, 1, 3):
        assert list(prefetch(range(20), lambda i: i * i, depth=depth)) == [i * i for i in range(20)]
    names = set()
    list(prefetch(range(3), lambda i: names.add(threading.current_thread().name), depth=2))
    assert names == {"vise-prefetch"}

    def boom(i):
        if i == 3:
            raise KeyError("row 3")
        return i

    with pytest.raises(KeyError, match="row 3"):
        list(prefetch(range(10), boom, depth=2))
    gen = prefetch(range(1000), lambda i: i, depth=2)
    assert next(gen) == 0
    gen.close()  # stops the producer thread
    assert not [t for t in threading.enumerate() if t.name == "vise-prefetch"]
    with pytest.raises(ValueError, match="depth"):
        list(prefetch(range(3), lambda i: i, depth=-1))
