"""load_image_rgb / inspect_image: every PIL mode to 8-bit RGB, upright, and bad files by path."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from transferkit.core.errors import DatasetError
from transferkit.data.images import inspect_image, is_image_file, load_image_rgb, to_rgb


def rgb(path) -> np.ndarray:
    im = load_image_rgb(path)
    assert im.mode == "RGB"
    return np.asarray(im)


def test_grayscale_and_bilevel(tmp_path):
    Image.fromarray(np.array([[0, 77], [200, 255]], np.uint8)).save(tmp_path / "g.png")
    assert rgb(tmp_path / "g.png")[:, :, 0].tolist() == [[0, 77], [200, 255]]
    assert (rgb(tmp_path / "g.png")[..., 0] == rgb(tmp_path / "g.png")[..., 2]).all()
    Image.fromarray(np.array([[0, 255]], np.uint8)).convert("1").save(tmp_path / "b.png")
    assert rgb(tmp_path / "b.png")[0].tolist() == [[0, 0, 0], [255, 255, 255]]


def test_palette_with_and_without_transparency(tmp_path):
    im = Image.new("P", (2, 1))
    im.putpalette([10, 20, 30, 200, 100, 50] + [0] * 762)
    im.putdata([0, 1])
    im.save(tmp_path / "p.png")
    assert rgb(tmp_path / "p.png")[0].tolist() == [[10, 20, 30], [200, 100, 50]]
    im.save(tmp_path / "pt.png", transparency=0)  # colour 0 transparent: composited on white
    assert rgb(tmp_path / "pt.png")[0].tolist() == [[255, 255, 255], [200, 100, 50]]
    im.save(tmp_path / "pt.gif", transparency=0)
    assert rgb(tmp_path / "pt.gif")[0].tolist() == [[255, 255, 255], [200, 100, 50]]


def test_rgba_and_la_composite_on_white(tmp_path):
    a = np.array([[[255, 0, 0, 0], [0, 0, 255, 255], [0, 0, 0, 128]]], np.uint8)
    Image.fromarray(a, "RGBA").save(tmp_path / "a.png")
    # black at alpha 128/255 over white: 255 * (1 - 128/255) = 127
    assert rgb(tmp_path / "a.png")[0].tolist() == [[255, 255, 255], [0, 0, 255], [127, 127, 127]]
    la = np.array([[[0, 0], [50, 255]]], np.uint8)
    Image.fromarray(la, "LA").save(tmp_path / "la.png")
    assert rgb(tmp_path / "la.png")[0].tolist() == [[255, 255, 255], [50, 50, 50]]


def test_cmyk(tmp_path):
    a = np.array([[[0, 255, 255, 0], [0, 0, 0, 255], [0, 0, 0, 0]]], np.uint8)
    Image.fromarray(a, "CMYK").save(tmp_path / "c.tif")
    assert rgb(tmp_path / "c.tif")[0].tolist() == [[255, 0, 0], [0, 0, 0], [255, 255, 255]]


def test_sixteen_bit_is_scaled_not_clipped(tmp_path):
    values = np.array([[0, 1000, 257 * 100, 65535]], np.uint16)
    Image.fromarray(values).save(tmp_path / "d.png")
    with Image.open(tmp_path / "d.png") as im:
        assert im.mode.startswith("I")
        assert np.asarray(im.convert("L"))[0, 1] == 255  # what a plain convert does: clipping
    # 0..65535 onto 0..255: 1000 / 257 = 3.9 -> 4
    assert rgb(tmp_path / "d.png")[0, :, 1].tolist() == [0, 4, 100, 255]
    Image.fromarray(values).save(tmp_path / "d.tif")
    assert rgb(tmp_path / "d.tif")[0, :, 0].tolist() == [0, 4, 100, 255]


def test_wide_int_and_float_modes():
    small = Image.fromarray(np.array([[0, 7, 255]], np.int32))
    assert small.mode == "I"
    assert np.asarray(to_rgb(small))[0, :, 0].tolist() == [0, 7, 255]
    wide = Image.fromarray(np.array([[-100, 0, 300]], np.int32))
    # stretched from its own min to max: (v + 100) * 255 / 400; 63.75 -> 64
    assert np.asarray(to_rgb(wide))[0, :, 0].tolist() == [0, 64, 255]
    unit = Image.fromarray(np.array([[0.0, 0.25, 1.0]], np.float32))
    assert np.asarray(to_rgb(unit))[0, :, 0].tolist() == [0, 64, 255]


def test_exif_rotation_is_applied(tmp_path):
    a = np.zeros((20, 40, 3), np.uint8)
    a[:, :20] = (255, 0, 0)  # left half red
    a[:, 20:] = (0, 0, 255)  # right half blue
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display"
    Image.fromarray(a).save(tmp_path / "r.jpg", exif=exif, quality=95)
    out = rgb(tmp_path / "r.jpg")
    assert out.shape == (40, 20, 3)  # portrait now
    top, bottom = out[5, 10], out[35, 10]
    assert top[0] > 200 and top[2] < 60  # the left half went to the top: red
    assert bottom[2] > 200 and bottom[0] < 60
    assert inspect_image(tmp_path / "r.jpg") == (20, 40)


def test_orientation_from_png_exif_and_tiff_tags(tmp_path):
    a = np.zeros((2, 3), np.uint8)
    a[0, 0] = 255  # a white top-left pixel
    exif = Image.Exif()
    exif[0x0112] = 8  # "rotate 90 degrees counter-clockwise to display": top-left -> bottom-left
    Image.fromarray(a).save(tmp_path / "o.png", exif=exif)
    Image.fromarray(a).save(tmp_path / "o.tif", tiffinfo={0x0112: 8})
    for name in ("o.png", "o.tif"):
        out = rgb(tmp_path / name)[..., 0]
        assert out.shape == (3, 2), name
        assert out[2, 0] == 255 and out.sum() == 255, name
        assert inspect_image(tmp_path / name) == (2, 3)


def test_broken_exif_leaves_pixels_as_stored(tmp_path):
    # a little-endian TIFF block whose one entry, Orientation, holds the string "abc"
    block = b"Exif\0\0II*\0\x08\0\0\0\x01\0\x12\x01\x02\0\x04\0\0\0abc\0\0\0\0\0"
    Image.new("RGB", (8, 4), (0, 200, 0)).save(tmp_path / "e.jpg", exif=block)
    out = rgb(tmp_path / "e.jpg")
    assert out.shape == (4, 8, 3) and out[0, 0, 1] > 180
    assert inspect_image(tmp_path / "e.jpg") == (8, 4)


def test_bad_files_raise_dataset_error_naming_the_path(tmp_path):
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64, 3), np.uint8)).save(
        tmp_path / "ok.jpg"
    )
    data = (tmp_path / "ok.jpg").read_bytes()
    (tmp_path / "truncated.jpg").write_bytes(data[: len(data) // 2])
    (tmp_path / "empty.png").write_bytes(b"")
    (tmp_path / "noise.jpg").write_bytes(b"not an image at all")
    for name in ("truncated.jpg", "empty.png", "noise.jpg", "missing.png"):
        for reader in (load_image_rgb, inspect_image):
            with pytest.raises(DatasetError) as err:
                reader(tmp_path / name)
            assert str(tmp_path / name) in err.value.message
            assert isinstance(err.value, ValueError)
    with pytest.raises(DatasetError, match="empty"):
        inspect_image(tmp_path / "empty.png")
    assert inspect_image(tmp_path / "ok.jpg") == (64, 64)


def test_image_extensions():
    assert is_image_file("a/B.JPG") and is_image_file("x.tiff") and is_image_file("x.webp")
    assert not is_image_file("notes.txt") and not is_image_file("labels.csv")
