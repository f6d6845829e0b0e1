"""Class masks <-> COCO polygons / RLE: connected regions, exact round trips, the CLI command."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from tests.segment.helpers import write_pair
from transferkit.cli.main import main
from transferkit.data.mask_convert import coco_to_masks, masks_to_coco
from transferkit.data.masks import read_mask_image
from transferkit.data.regions import connected_components


def test_connected_components_use_8_connectivity_in_raster_order():
    m = np.array([[1, 0, 0, 1], [0, 1, 0, 1], [0, 0, 0, 0], [1, 1, 0, 1]])
    labels, n = connected_components(m)
    assert n == 4
    np.testing.assert_array_equal(labels, [[1, 0, 0, 2], [0, 1, 0, 2], [0, 0, 0, 0], [3, 3, 0, 4]])


def test_connected_components_match_scipy_on_random_masks():
    ndimage = pytest.importorskip("scipy.ndimage")
    rng = np.random.default_rng(0)
    for _ in range(10):
        m = rng.random((37, 41)) > 0.5
        ours, n = connected_components(m)
        ref, k = ndimage.label(m, structure=np.ones((3, 3)))
        assert n == k
        np.testing.assert_array_equal(ours, ref)


def class_masks(tmp_path):
    """Two splits; class 1 has two separate squares, class 2 a ring (a region with a hole)."""
    root = tmp_path / "masks"
    for split, n in (("train", 2), ("val", 1)):
        for i in range(n):
            m = np.zeros((30, 40), np.uint8)
            m[2:8, 2 + i : 9 + i] = 1
            m[20:26, 30:36] = 1
            m[10:22, 12:26] = 2
            m[14:18, 17:21] = 0
            m[0, :] = 255  # ignore row: not exported
            write_pair(root / split, f"{split}{i}", m)
    (root / "classes.txt").write_text("background\nbox\nring\n")
    return root


def test_rle_round_trip_is_exact_and_regions_become_instances(tmp_path):
    src = class_masks(tmp_path)
    summary = masks_to_coco(src, tmp_path / "coco", "rle")
    assert summary["classes"] == ["box", "ring"]
    assert summary["splits"] == {
        "train": {"images": 2, "objects": 6},
        "val": {"images": 1, "objects": 3},
    }
    coco = json.loads((tmp_path / "coco" / "val" / "_annotations.coco.json").read_text())
    assert [c["name"] for c in coco["categories"]] == ["box", "ring"]
    assert sorted(a["area"] for a in coco["annotations"]) == [36.0, 42.0, 152.0]
    back = coco_to_masks(tmp_path / "coco", tmp_path / "back")
    assert back["splits"] == {"train": {"images": 2}, "val": {"images": 1}}
    assert (tmp_path / "back" / "classes.txt").read_text().split() == ["background", "box", "ring"]
    for split, stem in (("train", "train1"), ("val", "val0")):
        original = read_mask_image(src / split / "masks" / f"{stem}.png")
        original[original == 255] = 0  # ignored pixels carry no instance
        np.testing.assert_array_equal(
            read_mask_image(tmp_path / "back" / split / "masks" / f"{stem}.png"), original
        )


def test_polygons_fill_holes_but_keep_everything_else(tmp_path):
    src = class_masks(tmp_path)
    masks_to_coco(src, tmp_path / "coco", "polygon")
    coco_to_masks(tmp_path / "coco", tmp_path / "back")
    original = read_mask_image(src / "val" / "masks" / "val0.png")
    original[original == 255] = 0
    original[14:18, 17:21] = 2  # the ring's hole is filled: COCO polygons cannot hold holes
    np.testing.assert_array_equal(
        read_mask_image(tmp_path / "back" / "val" / "masks" / "val0.png"), original
    )


def test_cli_converts_masks_to_coco_that_training_reads(tmp_path, capsys):
    src = class_masks(tmp_path)
    dst = tmp_path / "coco"
    assert (
        main(
            [
                "data",
                "convert",
                "--from",
                "masks",
                "--to",
                "coco",
                "--segmentation",
                "rle",
                str(src),
                str(dst),
            ]
        )
        == 0
    )
    assert "train 2 images" in capsys.readouterr().out
    from transferkit.core.config import RunConfig
    from transferkit.tasks.instance import TASK
    from transferkit.zoo.backbone import DataConfig

    cfg = RunConfig(task="instance").with_values(path=str(dst), img_size=32)
    d = TASK.load_data(cfg, DataConfig(mean=(0.5,) * 3, std=(0.5,) * 3))
    assert d.class_names == ["box", "ring"] and len(d.train) == 2
    assert main(["data", "convert", "--from", "masks", "--to", "coco", str(src), str(dst)]) == 2
    assert "exists and is not empty" in capsys.readouterr().err


def test_bad_masks_are_refused_or_skipped(tmp_path, capsys):
    src = class_masks(tmp_path)
    Image.fromarray(np.zeros((10, 10), np.uint8)).save(src / "val" / "masks" / "val0.png")
    assert (
        main(["data", "convert", "--from", "masks", "--to", "coco", str(src), str(tmp_path / "a")])
        == 2
    )
    assert "differs from image" in capsys.readouterr().err
    argv = [
        "data",
        "convert",
        "--from",
        "masks",
        "--to",
        "coco",
        "--on-bad-image",
        "skip",
        str(src),
        str(tmp_path / "b"),
    ]
    assert main(argv) == 0
    assert "skipped image/mask pairs: 1" in capsys.readouterr().out
