"""LabelMe JSON as a format: shapes read as labelme2coco reads them, checked, converted to and from
COCO, and a missing image refused with the file named."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.data.polygon_sets import (
    coco_polygons,
    labelme_file,
    labelme_folder,
    labelme_shape,
    object_ious,
)
from tests.detect.helpers import make_image
from transferkit.cli.main import main
from transferkit.core.errors import DatasetError
from transferkit.data.check.dataset import check_dataset
from transferkit.data.convert import convert_dataset
from transferkit.data.masks import segmentation_to_mask
from transferkit.data.records import ALL, detect_format, read_source


def test_shapes_are_read_as_objects_and_shapes_without_area_are_counted(tmp_path):
    root = labelme_folder(tmp_path)
    assert detect_format(root) == "labelme"
    src = read_source(root)
    assert src.class_names == ["bud", "leaf", "stem"]  # the labels found, sorted
    first = src.splits[ALL][0]
    assert [o.label for o in first.objects] == [2, 3, 1, 2]  # leaf, stem, bud, two-part leaf
    leaf, stem, bud, parts = first.objects
    assert leaf.segmentation == [[4.0, 4.0, 30.0, 6.0, 10.0, 30.0]]
    assert stem.box == (40.0, 20.0, 56.0, 40.0)  # corners given in any order
    assert stem.segmentation == [[40.0, 20.0, 56.0, 20.0, 56.0, 40.0, 40.0, 40.0]]
    area = segmentation_to_mask(bud.segmentation, 48, 64).sum()
    assert area == pytest.approx(np.pi * 6**2, rel=0.1)  # circle of radius 6
    assert len(parts.segmentation) == 2 and parts.box == (34.0, 2.0, 60.0, 12.0)
    assert src.issues.counts == {"shape_without_area": 2}


@pytest.mark.parametrize("task", ["detect", "instance", "segment"])
def test_data_check_counts_every_image_and_object(tmp_path, task):
    report = check_dataset(labelme_folder(tmp_path), task, val_fraction=0.5)
    assert not report.errors, [p.message for p in report.errors]
    assert [p.kind for p in report.warnings] == ["shape_without_area"] * (
        1 if task == "segment" else 2
    )
    s = report.summary
    if task == "segment":
        assert s["images"] == {"train": 3, "val": 3, "test": 0}
        assert all(s["pixels_per_class"][n] > 0 for n in ("bud", "leaf", "stem"))
    else:  # 6 images: 6 leaves, 6 stems, 3 buds, 1 two-part leaf
        assert sum(v["images"] for v in s["splits"].values()) == 6
        assert sum(v["objects"] for v in s["splits"].values()) == 16


def test_classes_file_sets_the_order_and_refuses_other_labels(tmp_path):
    root = labelme_folder(tmp_path)
    (root / "labels.txt").write_text("__ignore__\n_background_\nstem\nleaf\nbud\n")
    assert read_source(root).class_names == ["stem", "leaf", "bud"]
    (root / "labels.txt").write_text("stem\nleaf\n")
    with pytest.raises(DatasetError, match=r"img0.json: shape 3: label 'bud' is not one of"):
        read_source(root)


def test_embedded_image_data_is_used_when_the_image_file_is_missing(tmp_path):
    make_image(tmp_path / "a.png", 64, 48, seed=3)
    labelme_file(tmp_path / "a.json", "a.png", [labelme_shape("x", [(1, 1), (9, 1), (5, 9)])], True)
    original = (tmp_path / "a.png").read_bytes()
    (tmp_path / "a.png").unlink()
    rec = read_source(tmp_path).splits[ALL][0]
    assert rec.path.read_bytes() == original and rec.path.parent != tmp_path


def test_missing_image_without_image_data_is_one_line_naming_the_file(tmp_path, capsys):
    labelme_folder(tmp_path, n=3)
    (tmp_path / "img1.jpg").unlink()
    with pytest.raises(DatasetError, match=r"img1.json: image 'img1.jpg' not found .*no imageData"):
        read_source(tmp_path)
    assert read_source(tmp_path, on_bad="skip").issues.counts["missing_image"] == 1
    assert main(["data", "convert", str(tmp_path), str(tmp_path / "out"), "--to", "coco"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and "img1.json" in err[0] and err[1].startswith("hint:")


@pytest.mark.parametrize(
    "shape, message",
    [
        (labelme_shape("leaf", [(1, 1), (5, 5)]), "a polygon needs 3\\+ \\[x, y\\] points"),
        (labelme_shape("leaf", [(1, 1)], "rectangle"), "a rectangle needs 2"),
        ({**labelme_shape("leaf", [(1, 1), (5, 5)]), "shape_type": "cuboid"}, "'cuboid' is not"),
    ],
)
def test_bad_shapes_name_file_and_shape(tmp_path, shape, message):
    make_image(tmp_path / "a.jpg", 64, 48)
    labelme_file(
        tmp_path / "a.json", "a.jpg", [labelme_shape("leaf", [(1, 1), (9, 1), (5, 9)]), shape]
    )
    with pytest.raises(DatasetError, match=r"a.json: shape 2: .*" + message):
        read_source(tmp_path)
    assert len(read_source(tmp_path, on_bad="skip").splits[ALL][0].objects) == 1


def test_coco_to_labelme_and_back_keeps_every_object(tmp_path):
    src = coco_polygons(tmp_path / "coco")
    convert_dataset(src, tmp_path / "labelme", dst_format="labelme")
    d = json.loads((tmp_path / "labelme" / "im1.json").read_text())
    assert set(d) == {
        "version",
        "flags",
        "shapes",
        "imagePath",
        "imageData",
        "imageHeight",
        "imageWidth",
    }
    assert d["imagePath"] == "im1.png" and (d["imageWidth"], d["imageHeight"]) == (64, 48)
    stem = [s for s in d["shapes"] if s["label"] == "stem"]
    assert len(stem) == 2 and stem[0]["group_id"] == stem[1]["group_id"] is not None
    summary = convert_dataset(tmp_path / "labelme", tmp_path / "back", dst_format="coco")
    assert summary["splits"] == {"all": {"images": 4, "objects": 12}}
    assert summary["classes"] == ["leaf", "stem", "bud"]  # the classes.txt written keeps the order
    ious = object_ious(read_source(src), read_source(tmp_path / "back"))
    assert len(ious) == 12 and min(ious) >= 0.95
