import io

import numpy as np
import pytest
from PIL import Image

from vise_lib.engagement import images as images_module
from vise_lib.engagement.images import ImageError, decode_image, load_images


def _bytes(img: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **kw)
    return buf.getvalue()


def _rgb(h=12, w=20, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


@pytest.mark.parametrize("fmt", ["PNG", "BMP", "WEBP", "TIFF"])
def test_lossless_formats_roundtrip_whatever_the_extension(tmp_path, fmt):
    arr = _rgb()
    path = tmp_path / "photo.jpg"  # deliberately the wrong extension
    kw = {"lossless": True} if fmt == "WEBP" else {}
    path.write_bytes(_bytes(Image.fromarray(arr), fmt, **kw))
    out = decode_image(path)
    assert out.dtype == np.uint8 and out.shape == (12, 20, 3)
    np.testing.assert_array_equal(out, arr)
    np.testing.assert_array_equal(decode_image(path.read_bytes()), arr)


def test_jpeg_decodes_close_to_source():
    arr = np.full((16, 16, 3), (200, 40, 90), np.uint8)
    out = decode_image(_bytes(Image.fromarray(arr), "JPEG", quality=95))
    assert np.abs(out.astype(int) - arr).max() < 8


def test_gif_named_jpg_gives_first_frame(tmp_path):
    frames = [Image.new("RGB", (10, 8), c) for c in ((255, 0, 0), (0, 0, 255))]
    path = tmp_path / "anim.jpg"
    buf = io.BytesIO()
    frames[0].save(buf, format="GIF", save_all=True, append_images=frames[1:])
    path.write_bytes(buf.getvalue())
    out = decode_image(path)
    assert out.shape == (8, 10, 3)
    assert tuple(out[0, 0]) == (255, 0, 0)


def test_palette_and_palette_transparency():
    pal = Image.new("P", (6, 6))
    pal.putpalette([0, 255, 0] + [10, 20, 30] * 255)
    out = decode_image(_bytes(pal, "PNG"))
    assert tuple(out[0, 0]) == (0, 255, 0)
    out = decode_image(_bytes(pal, "PNG", transparency=0))  # index 0 transparent -> white
    assert tuple(out[0, 0]) == (255, 255, 255)


def test_rgba_and_la_composited_on_white():
    rgba = np.zeros((4, 4, 4), np.uint8)
    rgba[..., 0] = 200
    rgba[:2, :, 3] = 255  # top half opaque red-ish, bottom half transparent
    rgba[2:, :, 3] = 0
    out = decode_image(_bytes(Image.fromarray(rgba, "RGBA"), "PNG"))
    assert tuple(out[0, 0]) == (200, 0, 0) and tuple(out[3, 0]) == (255, 255, 255)
    la = Image.fromarray(np.stack([np.full((4, 4), 0, np.uint8), np.full((4, 4), 128, np.uint8)], -1), "LA")
    out = decode_image(_bytes(la, "PNG"))
    assert abs(int(out[0, 0, 0]) - 127) <= 1 and len(set(out[0, 0])) == 1


def test_cmyk_and_grayscale_become_rgb():
    cmyk = Image.new("CMYK", (5, 5), (0, 255, 255, 0))  # pure red in CMYK
    out = decode_image(_bytes(cmyk, "JPEG", quality=95))
    assert out.shape == (5, 5, 3) and out[0, 0, 0] > 200 and out[0, 0, 1] < 60
    grey = Image.fromarray(np.full((3, 7), 77, np.uint8), "L")
    out = decode_image(_bytes(grey, "PNG"))
    assert out.shape == (3, 7, 3) and (out == 77).all()


def test_sixteen_bit_scaled_to_eight_bit():
    vals = np.array([[0, 257 * 100, 65535]], dtype=np.uint16)
    img = Image.fromarray(vals)  # I;16
    out = decode_image(_bytes(img, "PNG"))
    assert out.shape == (1, 3, 3)
    assert list(out[0, :, 0]) == [0, 100, 255]


def test_resize_shorter_side_and_centre_crop():
    arr = np.zeros((40, 80, 3), np.uint8)
    arr[:, 20:60] = 255  # the centre 40x40 is white
    out = decode_image(_bytes(Image.fromarray(arr), "PNG"), size=20)
    assert out.shape == (20, 20, 3)
    assert out[:, 2:-2].min() == 255
    tall = decode_image(_bytes(Image.fromarray(_rgb(30, 9)), "PNG"), size=9)
    assert tall.shape == (9, 9, 3)
    up = decode_image(_bytes(Image.fromarray(_rgb(4, 6)), "PNG"), size=16)
    assert up.shape == (16, 16, 3)
    with pytest.raises(ValueError, match="size"):
        decode_image(_bytes(Image.fromarray(_rgb()), "PNG"), size=0)


def test_bad_files_raise_image_error_naming_the_file(tmp_path):
    good = _bytes(Image.fromarray(_rgb(64, 64)), "PNG")
    cases = {
        "missing.jpg": None,
        "empty.jpg": b"",
        "text.jpg": b"this is not an image at all",
        "truncated.png": good[: len(good) // 2],
    }
    for name, data in cases.items():
        if data is not None:
            (tmp_path / name).write_bytes(data)
        with pytest.raises(ImageError) as err:
            decode_image(tmp_path / name)
        assert name in str(err.value) and err.value.reason
        assert isinstance(err.value, ValueError)
    with pytest.raises(ImageError, match="<bytes>: empty"):
        decode_image(b"")
    with pytest.raises(ImageError, match="directory"):
        decode_image(tmp_path)
    with pytest.raises(ValueError, match="path or bytes"):
        decode_image(12)


def test_load_images_skips_counts_and_lists(tmp_path):
    (tmp_path / "a.png").write_bytes(_bytes(Image.fromarray(_rgb(10, 10, 1)), "PNG"))
    (tmp_path / "b.jpg").write_bytes(b"garbage")
    (tmp_path / "c.gif").write_bytes(_bytes(Image.new("RGB", (12, 12), (1, 2, 3)), "GIF"))
    images, kept, skipped = load_images(["a.png", "b.jpg", "c.gif", "nope.png"], size=8, root=tmp_path)
    assert images.shape == (2, 8, 8, 3) and images.dtype == np.uint8
    assert kept.tolist() == [0, 2] and kept.dtype == np.int64
    assert [p for p, _ in skipped] == ["b.jpg", "nope.png"]
    assert "not a recognised" in skipped[0][1] and skipped[1][1] == "image file missing"
    # absolute paths without root, and the all-good path returns everything in order
    imgs2, kept2, skipped2 = load_images([tmp_path / "c.gif", tmp_path / "a.png"], size=8)
    assert kept2.tolist() == [0, 1] and not skipped2
    np.testing.assert_array_equal(imgs2[1], images[0])
    empty, k, s = load_images([], size=8)
    assert empty.shape == (0, 8, 8, 3) and k.shape == (0,) and s == []


def test_exif_orientation_applied_and_32bit_grey_scaled():
    arr = np.zeros((4, 8, 3), np.uint8)
    arr[:, :4] = 255  # left half white
    img = Image.fromarray(arr)
    exif = img.getexif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise on display
    out = decode_image(_bytes(img, "JPEG", quality=95, exif=exif.tobytes()))
    assert out.shape == (8, 4, 3)  # portrait after applying the tag
    assert out[:3].mean() > 200 and out[-3:].mean() < 50  # the white half is now on top
    grey32 = Image.fromarray(np.array([[0, 65535, 70000]], dtype=np.int32), mode="I")
    out = decode_image(_bytes(grey32, "TIFF"))
    assert list(out[0, :, 0]) == [0, 255, 255]


JPEG_SAVES = [
    {"quality": 90},
    {"quality": 75, "subsampling": 0},
    {"quality": 95, "progressive": True},
    {"keep_rgb": True},
]


@pytest.mark.parametrize("save", [*JPEG_SAVES, {"mode": "L"}, {"mode": "CMYK"}])
def test_jpegs_at_their_own_size_give_pils_pixels_with_or_without_simplejpeg(save, monkeypatch):
    """The fast path (simplejpeg, what the shard loader decodes with) gives PIL's pixels; CMYK
    goes through PIL."""
    arr = np.random.default_rng(1).integers(0, 256, (37, 53, 3), dtype=np.uint8)  # odd sizes: partial MCUs
    save = dict(save)
    mode = save.pop("mode", "RGB")
    data = _bytes(Image.fromarray(arr).convert(mode), "JPEG", **save)
    with Image.open(io.BytesIO(data)) as im:
        want = np.asarray(im.convert("RGB"))
    assert (images_module._fast_jpeg(data) is not None) == (mode != "CMYK")
    got = decode_image(data)
    assert got.dtype == np.uint8 and got.flags.c_contiguous
    np.testing.assert_array_equal(got, want)
    monkeypatch.setattr(images_module, "_simplejpeg", lambda: None)  # as without the "scale" extra
    np.testing.assert_array_equal(decode_image(data), want)


def test_jpegs_that_may_carry_an_orientation_skip_the_fast_path():
    img = Image.fromarray(_rgb(8, 8))
    exif = img.getexif()
    exif[0x0112] = 1
    assert images_module._fast_jpeg(_bytes(img, "JPEG", exif=exif.tobytes())) is None  # an EXIF block: PIL
    assert images_module._fast_jpeg(_bytes(img, "JPEG", xmp=b"<x:xmpmeta/>")) is None  # XMP too
    assert images_module._fast_jpeg(_bytes(img, "JPEG", icc_profile=b"\0" * 100)) is not None  # APP2: fine
    plain = _bytes(img, "JPEG")
    sof = plain.index(b"\xff\xc0")  # an APP1 further down the header (after the tables) is seen too
    late = plain[:sof] + b"\xff\xe1\x00\x08Exif\x00\x00" + plain[sof:]
    assert images_module._fast_jpeg(plain) is not None and images_module._fast_jpeg(late) is None
    np.testing.assert_array_equal(decode_image(late), decode_image(plain))  # PIL: an empty EXIF, same pixels


@pytest.mark.parametrize("fmt, mode", [("JPEG", "RGB"), ("JPEG", "L"), ("PNG", "RGB"), ("PNG", "L")])
def test_bytes_decode_to_rgb_and_errors_name_the_sample(fmt, mode):
    where = "s/shard-000000.tar: sample 7"
    rng = np.random.default_rng(0)
    arr = np.kron(rng.integers(0, 256, (4, 5, 3), dtype=np.uint8), np.ones((8, 8, 1), np.uint8))
    data = _bytes(Image.fromarray(arr).convert(mode), fmt)
    got = decode_image(data, name=where)
    assert got.shape == (32, 40, 3) and got.dtype == np.uint8
    if fmt == "PNG" and mode == "RGB":  # lossless: the pixels come back
        np.testing.assert_array_equal(got, arr)
    with Image.open(io.BytesIO(data)) as im:
        np.testing.assert_array_equal(got, np.asarray(im.convert("RGB")))
    for bad in (b"", b"not an image", data[:40]):
        with pytest.raises(ImageError, match=rf"^{where}: (empty|not a recognised|corrupt or truncated)"):
            decode_image(bad, name=where)


def test_image_error_survives_pickling_and_a_loader_workers_reraise():
    import pickle

    err = ImageError("s/shard-000000.tar: sample 7", "corrupt or truncated image (OSError: x: y)")
    back = pickle.loads(pickle.dumps(err))
    assert (back.path, back.reason, str(back)) == (err.path, err.reason, str(err))
    again = ImageError("Caught ImageError in DataLoader worker process 0.\nOriginal Traceback ...")
    assert isinstance(again, ValueError) and str(again).startswith("Caught ImageError")
