"""YOLO polygon labels (Ultralytics / Roboflow ``-seg``): read as instances and class masks,
checked, converted to and from COCO polygons, and refused with the file and line when broken."""

from __future__ import annotations

import re

import pytest

from tests.data.polygon_sets import coco_polygons, object_ious, ultralytics_seg
from tests.detect.test_readers import _yolo_image
from transferkit.cli.main import main
from transferkit.core.errors import DatasetError
from transferkit.data.check.dataset import check_dataset
from transferkit.data.convert import convert_dataset
from transferkit.data.formats.mask_folder import list_semantic
from transferkit.data.records import read_source


def test_polygon_lines_become_pixel_polygons_with_their_box(tmp_path):
    src = read_source(ultralytics_seg(tmp_path))
    leaf, stem = src.splits["train"][0].objects
    # TRIANGLE on 64 x 48: x * 64, y * 48.
    assert leaf.segmentation == [pytest.approx([6.4, 4.8, 32.0, 7.2, 12.8, 33.6])]
    assert leaf.box == pytest.approx((6.4, 4.8, 32.0, 33.6)) and leaf.label == 1
    assert stem.box == pytest.approx((38.4, 9.6, 57.6, 38.4)) and stem.label == 2


@pytest.mark.parametrize("task", ["detect", "instance", "segment"])
def test_data_check_counts_every_image_and_object(tmp_path, task):
    report = check_dataset(ultralytics_seg(tmp_path), task)
    assert not report.problems, [p.message for p in report.problems]
    s = report.summary
    if task == "segment":
        assert s["images"] == {"train": 4, "val": 2, "test": 0}
        assert s["class_names"] == ["background", "leaf", "stem"]
        assert all(s["pixels_per_class"][n] > 0 for n in ("leaf", "stem"))
    else:
        assert {k: (v["images"], v["objects"]) for k, v in s["splits"].items()} == {
            "train": (4, 8),
            "val": (2, 4),
            "test": (0, 0),
        }


def test_box_lines_mixed_in_are_boxes_for_detection_and_unmasked_objects_elsewhere(tmp_path):
    root = ultralytics_seg(tmp_path, box_line=True)
    objects = read_source(root).splits["train"][0].objects
    assert len(objects) == 3 and objects[2].segmentation is None
    assert objects[2].box == pytest.approx((12.8, 38.4, 25.6, 43.2))
    for task in ("instance", "segment"):
        errors = check_dataset(root, task).errors
        assert [p.kind for p in errors] == ["no_segmentation"], task
        assert "train0.jpg (image id 1), object 3 has no segmentation" in errors[0].message
    with pytest.raises(DatasetError, match="object 3 has no segmentation"):
        list_semantic(root, "auto", "fail").samples[0].mask()
    listing = list_semantic(root, "auto", "skip")
    assert listing.format == "yolo" and listing.notes["annotation_issues"]["counts"] == {
        "no_segmentation": 1
    }


@pytest.mark.parametrize(
    "line, problem",
    [
        ("0 0.1 0.1 0.5 0.2 0.3", "odd number of coordinates (5)"),
        ("0 0.1 0.1 0.5 0.2 0.3 0.4 0.2", "odd number of coordinates (7)"),
        ("1 0.5 0.5", "at least 3 points, got 1"),
    ],
)
def test_bad_polygon_line_names_file_and_line(tmp_path, line, problem, capsys):
    _yolo_image(tmp_path, "", "a", ["0 0.1 0.2 0.3 0.1 0.2 0.5", line])
    (tmp_path / "classes.txt").write_text("a\nb\n")
    with pytest.raises(DatasetError, match=r"a.txt:2: expected .*" + re.escape(problem)):
        read_source(tmp_path)
    skipped = read_source(tmp_path, on_bad="skip")
    assert skipped.issues.counts["malformed_file"] == 1
    assert len(skipped.splits["all"][0].objects) == 1
    assert main(["data", "convert", str(tmp_path), str(tmp_path / "out"), "--to", "coco"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and "a.txt:2:" in err[0] and problem in err[0]
    assert err[1].startswith("hint:") and "--on-bad-image skip" in err[1]


def test_coco_to_yolo_polygons_and_back_keeps_every_object(tmp_path):
    src = coco_polygons(tmp_path / "coco")
    convert_dataset(src, tmp_path / "yolo", dst_format="yolo")
    lines = (tmp_path / "yolo" / "labels" / "im1.txt").read_text().splitlines()
    assert len(lines) == 3 and all(len(ln.split()) >= 7 for ln in lines)  # polygon lines
    summary = convert_dataset(tmp_path / "yolo", tmp_path / "back", dst_format="coco")
    assert summary["splits"] == {"all": {"images": 4, "objects": 12}}
    ious = object_ious(read_source(src), read_source(tmp_path / "back"))
    assert len(ious) == 12 and min(ious) >= 0.95
