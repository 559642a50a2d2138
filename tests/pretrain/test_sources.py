"""One data-source interface for arrays and shards: both give the batches they gave before it existed.

The expected digests were computed at commit 18a4f0f, before :mod:`vise_lib.pretrain.sources`
(the array path inlined in the loop, ``ShardSource.batches`` as it was). Classification batches
are digested pixel for pixel (crop, flip and normalization are exact arithmetic); SimCLR batches
by their labels only (their colour jitter is float arithmetic whose last bits may depend on the
CPU), which still pins which samples each batch holds. The shards are PNG, decoded losslessly.
"""

import hashlib

import numpy as np
import pytest
import torch

from vise_lib.engagement.shards import ShardWriter
from vise_lib.pretrain.config import TrainConfig
from vise_lib.pretrain.objectives import OBJECTIVES
from vise_lib.pretrain.sources import ArraySource, DataSource, batch_stream, open_source
from vise_lib.pretrain.streaming import ShardSource

N = 40
# (epoch, start, steps, batch, seed, augment, objective, rank, world) -> digest at 18a4f0f
ARRAY = {
    (0, 0, 5, 8, 0, True, "classify", 0, 1): "733b3435fd097acdea09d378725e90fc2f20aeb5",
    (1, 2, 5, 8, 0, True, "classify", 0, 1): "af1f8de37924e259875585569ac193ee56d6be93",
    (3, 0, 2, 8, 7, True, "classify", 1, 2): "593e50089cea44be2ee66328ab103cc99232ce3c",
    (0, 1, 4, 4, 3, False, "classify", 0, 2): "4c2ef5529e3fc35844dff80d336b68791f104fdb",
    (2, 0, 5, 8, 5, True, "simclr", 0, 1): "a0fbb295fc1381f3eefde580a779b4411359d8a9",
}
SHARDS = {  # per loader worker count
    0: {
        (0, 0, 8, 8, 0, True, "classify", 0, 1): "4ff8466e85cb53c2b854e5cd2dcec5c8da8d19c9",
        (1, 3, 8, 8, 4, True, "classify", 0, 1): "c153d0dae5c3c236dcdcaf96d9dbaeb4b0e4b298",
        (2, 0, 4, 8, 1, True, "classify", 1, 2): "cd3cbc352218d59d77f66516b0504827e23d45a4",
        (0, 1, 4, 8, 2, True, "simclr", 0, 2): "fc7e83e621092bee5db6e71c625bbe91c14c6585",
    },
    2: {
        (0, 0, 8, 8, 0, True, "classify", 0, 1): "28d3aa527870fd4baab04391631104bc3c90a9dc",
        (1, 3, 8, 8, 4, True, "classify", 0, 1): "36286d4eb03bea9c999b09914ac03ce41d6747f4",
        (2, 0, 4, 8, 1, True, "classify", 1, 2): "575d819a039b7d1f2c902c64afb53a4acf35ff6a",
        (0, 1, 4, 8, 2, True, "simclr", 0, 2): "93cdfdc2e69e5e1c9f493db17503e22bc902d032",
    },
}


def _images():
    return np.random.default_rng(0).integers(0, 256, (N, 16, 16, 3), dtype=np.uint8)


def _digest(source: DataSource, case) -> str:
    """SHA-1 of the batches (pixels for classify, labels always) of ``case`` from ``source``."""
    epoch, start, steps, batch, seed, augment, objective, rank, world = case
    cfg = TrainConfig(seed=seed, augment=augment)
    h = hashlib.sha1()
    for x, ys in source.batches(epoch, start, steps, batch, cfg, objective, rank, world):
        if objective == "classify":
            # the source sends uint8 (channels_last bytes); the loop normalizes it on the device
            # with the objective's finish: that normalized batch is what the digests pin
            assert x.dtype == torch.uint8 and x.is_contiguous(memory_format=torch.channels_last)
            h.update(OBJECTIVES[objective].finish(x, cfg).numpy().tobytes())
        for y in ys:
            h.update(y.numpy().tobytes())
    return h.hexdigest()


@pytest.fixture(scope="module")
def png_shards(tmp_path_factory):
    folder = tmp_path_factory.mktemp("shards") / "s"
    rng = np.random.default_rng(1)
    with ShardWriter(folder, 8, image_format="png") as w:
        for i in range(64):
            w.add(rng.integers(0, 256, (16, 16, 3), dtype=np.uint8), {"post_id": f"p{i:03d}"})
        w.close()
    return folder


@pytest.mark.parametrize("case", list(ARRAY))
def test_array_source_gives_the_batches_of_before(case):
    src = ArraySource(_images(), [np.arange(N)])  # label = sample index: the labels say which samples
    assert isinstance(src, DataSource) and len(src) == N and src.shape == (N, 16, 16, 3)
    assert _digest(src, case) == ARRAY[case]


@pytest.mark.parametrize("workers", [0, 2])
def test_shard_source_gives_the_batches_of_before(png_shards, workers):
    ids = np.array([f"p{i:03d}" for i in range(64)])
    src = ShardSource(png_shards, [np.arange(64)], ids, workers=workers, shuffle_buffer=16)
    assert isinstance(src, DataSource) and len(src) == 64
    try:
        assert {case: _digest(src, case) for case in SHARDS[workers]} == SHARDS[workers]
    finally:
        src.close()


def test_array_source_is_batch_stream_over_the_sampler_order():
    """What the loop trained on before: ``batch_stream`` over the ``DistributedSampler`` order."""
    from vise_lib.pretrain.config import derived_seed
    from vise_lib.pretrain.distributed import epoch_indices

    images, labels = _images(), [np.arange(N) % 3, np.arange(N)]
    cfg = TrainConfig(seed=4, prefetch=2)
    order = epoch_indices(N, 1, derived_seed(4, 0) % 2**62, 1, 2)
    todo = [(1 * 5 + i, order[i * 4 : (i + 1) * 4]) for i in range(1, 5)]
    want = list(batch_stream(images, [torch.from_numpy(y) for y in labels], todo, cfg, "classify", 1))
    got = list(ArraySource(images, labels).batches(1, 1, 5, 4, cfg, "classify", rank=1, world=2))
    assert len(got) == len(want) == 4
    for (x, ys), (wx, wys) in zip(got, want, strict=True):
        assert torch.equal(x, wx) and all(torch.equal(a, b) for a, b in zip(ys, wys, strict=True))
    assert [len(ys) for _, ys in ArraySource(images).batches(0, 0, 2, 4, cfg, "classify")] == [0, 0]  # no labels


def test_both_sources_stop_early_and_close(png_shards):
    ids = np.array([f"p{i:03d}" for i in range(64)])
    for src in (ArraySource(_images(), [np.arange(N)]), ShardSource(png_shards, [np.arange(64)], ids, workers=0)):
        it = src.batches(0, 0, 4, 8, TrainConfig(), "classify")
        x, ys = next(it)
        assert x.shape == (8, 3, 16, 16) and ys[0].dtype == torch.int64
        it.close()  # what the loop does when it stops mid-epoch
        src.close()
        assert len(list(src.batches(0, 2, 4, 8, TrainConfig(), "classify"))) == 2  # still usable


def test_identity_names_the_data_by_content(png_shards):
    ids = np.array([f"p{i:03d}" for i in range(64)])
    assert set(ArraySource(_images()).identity(1)) == {"images_sha256"}
    stream = ShardSource(png_shards, [np.arange(64)], ids, workers=2, shuffle_buffer=16).identity(2)
    assert stream["source"] == "shards" and stream["workers"] == 2 and stream["shuffle_buffer"] == 16


def test_open_source_checks_what_pretrain_is_given(png_shards):
    images = _images()
    src = open_source(images, [np.arange(N) % 4], needs_labels=True)
    assert isinstance(src, ArraySource) and src.label_sets[0].dtype == np.int64
    assert open_source(images, None, needs_labels=False).label_sets is None
    assert open_source(None, None, needs_labels=False, required=False) is None
    with pytest.raises(ValueError, match="images must be a numpy array, got NoneType"):
        open_source(None, None, needs_labels=False)
    with pytest.raises(ValueError, match="uint8"):
        open_source(images.astype(np.float32), [np.arange(N)], needs_labels=True)
    with pytest.raises(ValueError, match="length 40"):
        open_source(images, [np.arange(5)], needs_labels=True)
    ids = np.array([f"p{i:03d}" for i in range(64)])
    shards = ShardSource(png_shards, [np.arange(64)], ids, workers=0)
    assert open_source(shards, shards.label_sets, needs_labels=True) is shards
    assert open_source(shards, None, needs_labels=False) is shards
    with pytest.raises(ValueError, match="own label_sets"):
        open_source(shards, [np.arange(64)], needs_labels=True)  # equal labels, but not the source's own
