"""The packaged nuclei demo data: lossless copy of the real image, tiles, both layouts readable."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from transferkit.data.datasets.segmentation import load_semantic_data
from transferkit.data.demo.nuclei import (
    MIN_INSTANCE_AREA,
    load_nuclei,
    materialize_instances,
    materialize_semantic,
    nuclei_folder,
    tiles,
)
from transferkit.data.masks import polygons_to_mask

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data" / "nuclei"


def test_packaged_files_are_the_real_image_and_labels_with_a_notice():
    image, labels = load_nuclei()
    assert image.shape == labels.shape == (512, 512)
    assert labels.max() == 125 and len(np.unique(labels)) == 126
    notice = (nuclei_folder() / "NOTICE.txt").read_text()
    assert "BBBC038" in notice and "CC0" in notice and "BSD-3" in notice
    if not SHARED.is_dir():
        pytest.skip("the shared nuclei TIFFs are not on this machine")
    tifffile = pytest.importorskip("tifffile")
    np.testing.assert_array_equal(image, tifffile.imread(SHARED / "img2d.tif"))
    original = tifffile.imread(SHARED / "mask2d.tif")
    # Renumbering keeps the partition: each original id maps to exactly one new id and back.
    pairs = set(zip(original.ravel().tolist(), labels.ravel().tolist(), strict=True))
    assert len(pairs) == 126 and len({a for a, _ in pairs}) == len({b for _, b in pairs}) == 126


def test_tiles_split_the_image_into_disjoint_train_and_val():
    t = tiles(128, val_tiles=4, seed=0)
    assert len(t["train"]) == 12 and len(t["val"]) == 4
    names = [n for n, _, _ in t["train"] + t["val"]]
    assert len(set(names)) == 16
    assert [n for n, _, _ in tiles(128, 4, 0)["val"]] == [n for n, _, _ in t["val"]]
    image, _ = load_nuclei()
    name, crop, _ = t["val"][0]
    y, x = int(name.split("_y")[1][:3]), int(name.split("_x")[1][:3])
    np.testing.assert_array_equal(crop, image[y : y + 128, x : x + 128])


def test_semantic_layout_reads_back_with_the_same_nucleus_pixels(tmp_path):
    materialize_semantic(tmp_path / "sem")
    d = load_semantic_data(tmp_path / "sem")
    assert d.class_names == ["background", "nucleus"] and (len(d.train), len(d.val)) == (12, 4)
    _, labels = load_nuclei()
    assert d.summary["pixels_per_class"]["nucleus"] == int((labels > 0).sum())


def test_instance_layout_outlines_every_nucleus_piece_exactly(tmp_path):
    materialize_instances(tmp_path / "inst")
    crops = dict((n, lab) for n, _, lab in tiles()["val"])
    coco = json.loads((tmp_path / "inst" / "val" / "_annotations.coco.json").read_text())
    assert len(coco["images"]) == 4
    for img in coco["images"]:
        lab = crops[Path(img["file_name"]).stem]
        pieces = [lab == i for i in np.unique(lab) if i and (lab == i).sum() >= MIN_INSTANCE_AREA]
        anns = [a for a in coco["annotations"] if a["image_id"] == img["id"]]
        assert len(anns) == len(pieces)
        drawn = sorted(polygons_to_mask(a["segmentation"], 128, 128).sum() for a in anns)
        assert drawn == sorted(int(p.sum()) for p in pieces)


def test_scene_masks_paint_each_item_with_its_class(tmp_path):
    from transferkit.data.demo.scenes import SCENE_CLASSES, render_scenes
    from transferkit.tasks.segment.demo import write_scene_masks

    write_scene_masks(tmp_path / "scenes", {"train": 3, "val": 2})
    d = load_semantic_data(tmp_path / "scenes")
    assert d.class_names == ["background", *SCENE_CLASSES] and (len(d.train), len(d.val)) == (3, 2)
    scene = render_scenes(2, "val", 0)[1]
    mask = d.val[1][1].numpy()
    for m, label in zip(scene.masks, scene.labels, strict=True):
        assert (mask[m] == label).all()
    assert (mask[~scene.masks.any(axis=0)] == 0).all()
