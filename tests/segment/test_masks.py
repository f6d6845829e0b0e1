"""COCO polygons / RLE <-> masks, and mask images read as class indices."""

from __future__ import annotations

import numpy as np
import pycocotools.mask as mask_utils
import pytest
from PIL import Image

from transferkit.core.errors import DatasetError
from transferkit.data.masks import (
    instances_to_class_mask,
    mask_to_box,
    mask_to_polygons,
    mask_to_rle,
    polygons_to_mask,
    read_mask_image,
    rle_to_mask,
    segmentation_to_mask,
    voc_colormap,
    write_index_png,
)


def test_polygon_covers_the_pixels_between_its_edges():
    # x from 1 to 5 and y from 1 to 4 in pixel-edge coordinates: columns 1..4, rows 1..3.
    mask = polygons_to_mask([[1, 1, 5, 1, 5, 4, 1, 4]], 6, 8)
    expected = np.zeros((6, 8), np.uint8)
    expected[1:4, 1:5] = 1
    np.testing.assert_array_equal(mask, expected)


def test_several_polygons_are_one_union():
    mask = polygons_to_mask([[0, 0, 2, 0, 2, 2, 0, 2], [4, 4, 6, 4, 6, 6, 4, 6]], 8, 8)
    assert mask.sum() == 8 and mask[0, 0] == 1 and mask[5, 5] == 1 and mask[3, 3] == 0


@pytest.mark.parametrize("poly", [[1, 1, 5, 1], [1, 1, 5, 1, 5]])
def test_polygon_with_fewer_than_three_points_is_refused(poly):
    with pytest.raises(DatasetError, match=r"ann 7: polygon with [0-9.]+ points"):
        polygons_to_mask([poly], 6, 8, where="ann 7")


def test_compressed_and_uncompressed_rle_decode_like_pycocotools():
    rng = np.random.default_rng(0)
    mask = (rng.random((9, 11)) > 0.6).astype(np.uint8)
    rle = mask_to_rle(mask)
    assert isinstance(rle["counts"], str) and rle["size"] == [9, 11]
    np.testing.assert_array_equal(rle_to_mask(rle, 9, 11), mask)
    # Uncompressed counts run down the columns (Fortran order), starting with zeros.
    flat = mask.flatten(order="F")
    changes = np.flatnonzero(np.diff(flat)) + 1
    runs = np.diff(np.concatenate([[0], changes, [flat.size]])).tolist()
    counts = runs if flat[0] == 0 else [0, *runs]
    np.testing.assert_array_equal(
        segmentation_to_mask({"size": [9, 11], "counts": counts}, 9, 11), mask
    )
    ref = mask_utils.decode(mask_utils.frPyObjects({"size": [9, 11], "counts": counts}, 9, 11))
    np.testing.assert_array_equal(ref, mask)


def test_rle_of_another_size_is_refused_with_both_sizes():
    rle = mask_to_rle(np.ones((4, 5), np.uint8))
    with pytest.raises(DatasetError, match=r"RLE size \[4, 5\].*\[6, 5\]"):
        rle_to_mask(rle, 6, 5, where="a.json: annotation 3")


def test_uncompressed_rle_whose_counts_do_not_fill_the_image_is_refused():
    with pytest.raises(DatasetError, match="sum to 7, expected height\\*width = 20"):
        rle_to_mask({"size": [4, 5], "counts": [3, 4]}, 4, 5)


def test_mask_to_polygons_round_trips_through_pycocotools():
    yy, xx = np.mgrid[:40, :40]
    disc = (((yy - 20) ** 2 + (xx - 18) ** 2) <= 100).astype(np.uint8)
    rect = np.zeros((10, 12), np.uint8)
    rect[2:5, 3:7] = 1
    single = np.zeros((6, 6), np.uint8)
    single[3, 2] = 1
    for m in (disc, rect, single):
        polys = mask_to_polygons(m)
        assert all(len(p) >= 6 for p in polys)
        np.testing.assert_array_equal(polygons_to_mask(polys, *m.shape), m)


def test_box_and_class_mask_painting():
    a = np.zeros((5, 6), np.uint8)
    a[1:3, 2:5] = 1
    b = np.zeros((5, 6), np.uint8)
    b[2:4, 0:3] = 1
    assert mask_to_box(a) == [2.0, 1.0, 3.0, 2.0]
    assert mask_to_box(np.zeros((3, 3))) is None
    painted = instances_to_class_mask([a, b], [1, 2], 5, 6)
    assert painted[1, 2] == 1 and painted[2, 2] == 2 and painted[0, 0] == 0  # later wins overlaps


def test_palette_png_reads_as_indices_not_colours(tmp_path):
    values = np.array([[0, 1, 2], [2, 1, 255]], np.uint8)
    im = Image.fromarray(values, mode="P")
    im.putpalette([9, 9, 9, 200, 10, 10, 10, 200, 10] + [0] * (252 * 3) + [224, 224, 192])
    im.save(tmp_path / "m.png")
    np.testing.assert_array_equal(read_mask_image(tmp_path / "m.png"), values)


def test_rgb_masks_need_colours_unless_grey(tmp_path):
    rgb = np.zeros((2, 2, 3), np.uint8)
    rgb[0, 0] = (128, 0, 0)
    rgb[1, 1] = (0, 128, 0)
    Image.fromarray(rgb).save(tmp_path / "c.png")
    with pytest.raises(DatasetError, match="RGB mask .* no palette and no class colours"):
        read_mask_image(tmp_path / "c.png")
    got = read_mask_image(tmp_path / "c.png", colors=[(0, 0, 0), (128, 0, 0), (0, 128, 0)])
    np.testing.assert_array_equal(got, [[1, 0], [0, 2]])
    with pytest.raises(
        DatasetError, match=r"colour \(0, 128, 0\) in 1 pixels is not in the classes"
    ):
        read_mask_image(tmp_path / "c.png", colors=[(0, 0, 0), (128, 0, 0)])
    grey = np.repeat(np.array([[0, 3], [1, 2]], np.uint8)[..., None], 3, axis=2)
    Image.fromarray(grey).save(tmp_path / "g.png")
    np.testing.assert_array_equal(read_mask_image(tmp_path / "g.png"), [[0, 3], [1, 2]])


def test_index_png_round_trip_with_voc_palette(tmp_path):
    mask = np.array([[0, 1], [15, 255]])
    path = write_index_png(tmp_path / "out" / "p.png", mask)
    with Image.open(path) as im:
        assert im.mode == "P"
        assert tuple(im.getpalette()[3:6]) == tuple(voc_colormap()[1]) == (128, 0, 0)
    np.testing.assert_array_equal(read_mask_image(path), mask)
