"""A data root for CSV datasets: paths relative to it, every path inside it (symlinks inside allowed),
and no silent task group for generic datasets."""

import os

import pytest
from PIL import Image

from vise_lib.transfer.config import TransferConfig
from vise_lib.transfer.datasets import GROUPS, load_dataset
from vise_lib.transfer.evaluate import claim_text


@pytest.fixture
def layout(tmp_path):
    """Images under ``data/images`` (a real folder and a folder of symlinks into it), a CSV under
    ``labels/`` (elsewhere), and one image outside the data root."""
    images = tmp_path / "data" / "images"
    (images / "real").mkdir(parents=True)
    for i in range(4):
        Image.new("RGB", (8, 8), (40 * i, 0, 0)).save(images / "real" / f"{i}.png")
    (images / "links").mkdir()
    for i in range(4):
        os.symlink(images / "real" / f"{i}.png", images / "links" / f"{i}.png")  # inside the root
    outside = tmp_path / "elsewhere.png"
    Image.new("RGB", (8, 8)).save(outside)
    os.symlink(outside, images / "links" / "out.png")  # a symlink out of the root
    (tmp_path / "labels").mkdir()
    rows = ["path,label"] + [f"real/{i}.png,{'a' if i % 2 else 'b'}" for i in range(4)]
    rows += [f"links/{i}.png,a" for i in range(4)]
    rows += ["links/out.png,a", "../../elsewhere.png,a", f"{outside},b", "real/missing.png,a"]
    csv = tmp_path / "labels" / "sentiment.csv"
    csv.write_text("\n".join(rows) + "\n")
    return csv, images


def test_csv_paths_are_relative_to_the_data_root_and_stay_inside_it(layout):
    csv, images = layout
    ds = load_dataset(csv, "csv", data_root=images)
    assert ds.root == images and len(ds) == 8  # the real files and the symlinks that stay inside
    assert ds.paths[:4] == [f"real/{i}.png" for i in range(4)] and ds.paths[4:] == [f"links/{i}.png" for i in range(4)]
    reasons = {where.split(":")[1]: why for where, why in ds.skipped}
    assert reasons["10"].startswith("image path escapes the data root")  # links/out.png points out of the root
    assert reasons["11"].startswith("image path escapes the data root")  # ..
    assert reasons["12"].startswith("image path escapes the data root")  # absolute
    assert reasons["13"].startswith("image file missing")
    # without the data root the CSV's own folder is the root: nothing there
    with pytest.raises(ValueError, match="no usable rows"):
        load_dataset(csv, "csv")


def test_data_root_errors_name_the_problem(layout, tmp_path):
    csv, images = layout
    with pytest.raises(FileNotFoundError, match="data root is not a folder"):
        load_dataset(csv, "csv", data_root=tmp_path / "nope")
    with pytest.raises(ValueError, match="a data root is for CSV datasets"):
        load_dataset(images, "imagefolder", data_root=images)
    with pytest.raises(ValueError, match="data_root is for CSV datasets"):
        TransferConfig(datasets={"x": {"path": str(images), "format": "imagefolder", "data_root": str(images)}})
    spec = TransferConfig(datasets={"s": {"path": str(csv), "data_root": str(images)}}).dataset_specs()["s"]
    assert spec == {"path": str(csv), "format": None, "group": None, "data_root": str(images)}


def test_cli_data_root_forms():
    from vise_lib.run.cli import data_roots

    datasets = {
        "s": {"path": "/x/s.csv", "format": None},
        "t": {"path": "/x/t", "format": "csv"},
        "f": {"path": "/x/f", "format": "imagefolder"},
    }
    assert data_roots(["/data/images"], datasets) == {"s": "/data/images", "t": "/data/images"}
    assert data_roots(["t=/other"], datasets) == {"t": "/other"}
    with pytest.raises(ValueError, match="'u' is not a dataset"):
        data_roots(["u=/other"], datasets)
    with pytest.raises(ValueError, match="no CSV dataset"):
        data_roots(["/data"], {"f": datasets["f"]})


def test_generic_datasets_get_neutral_claim_wording_unless_the_group_is_stated():
    assert GROUPS["csv"] == GROUPS["imagefolder"] == "unstated" and GROUPS["emotion6"] == "subjective"
    assert claim_text("vise", "imagenet", "sent", "subjective") == "vise beats imagenet on sent"
    assert claim_text("vise", "imagenet", "cifar", "object") == "vise is competitive with imagenet on cifar"
    neutral = claim_text("vise", "imagenet", "sent", "unstated")
    assert neutral.startswith("vise compared with imagenet on sent") and "beats" not in neutral
    assert "competitive" not in neutral and "--group" in neutral
