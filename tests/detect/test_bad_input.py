"""Each bad input: a one-line error naming the file and item, or a counted skip; CLI exit 2."""

from __future__ import annotations

import json

import pytest

from transferkit.cli.main import main
from transferkit.core.errors import DatasetError
from transferkit.data.records import assign_splits, read_source

from .helpers import make_image, simple_coco
from .test_readers import _voc, _yolo_image


def _edit_coco(tmp_path, change):
    path = simple_coco(tmp_path, n_images=4)
    d = json.loads(path.read_text())
    change(d)
    path.write_text(json.dumps(d))
    return path


def _fails_then_skips(path, kind, match, fmt="auto"):
    with pytest.raises(DatasetError, match=match) as e:
        read_source(path, fmt)
    assert "\n" not in e.value.message  # one line
    src = read_source(path, fmt, on_bad="skip")
    assert src.issues.counts[kind] == 1
    return src


def test_annotation_pointing_to_missing_image(tmp_path):
    path = _edit_coco(tmp_path, lambda d: None)
    (tmp_path / "img2.png").unlink()
    src = _fails_then_skips(path, "missing_image", r"instances.json: image id 2 \(img2.png\)")
    assert sorted(r.image_id for r in src.splits["all"]) == [1, 3, 4]


def test_annotation_for_unlisted_image_id(tmp_path):
    path = _edit_coco(
        tmp_path,
        lambda d: d["annotations"].append(
            {"id": 99, "image_id": 42, "category_id": 1, "bbox": [1, 1, 2, 2]}
        ),
    )
    _fails_then_skips(path, "missing_image", "annotation id 99 refers to image id 42")


def test_unknown_category_id(tmp_path):
    path = _edit_coco(tmp_path, lambda d: d["annotations"][0].update(category_id=7))
    src = _fails_then_skips(path, "unknown_category", r"annotation id 1 has unknown category id 7")
    assert sum(len(r.objects) for r in src.splits["all"]) == 5  # 6 objects, one dropped


@pytest.mark.parametrize("bbox", [[5, 5, 0, 10], [5, 5, 10, -3]])
def test_zero_or_negative_area_box(tmp_path, bbox):
    path = _edit_coco(tmp_path, lambda d: d["annotations"][2].update(bbox=bbox))
    _fails_then_skips(path, "degenerate_box", "annotation id 3 .*zero or negative area")


def test_box_outside_image_is_clipped_and_counted_or_refused_under_strict(tmp_path):
    path = _edit_coco(tmp_path, lambda d: d["annotations"][0].update(bbox=[50, 40, 30, 20]))
    src = read_source(path)  # image 1 is 64 x 48
    assert src.issues.counts["clipped_box"] == 1
    rec = next(r for r in src.splits["all"] if r.image_id == 1)
    assert rec.objects[0].box == (50.0, 40.0, 64.0, 48.0)
    with pytest.raises(DatasetError, match=r"annotation id 1 .*leaves the 64x48 image"):
        read_source(path, strict=True)


def test_malformed_json_names_line(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text('{\n  "images": [],\n  "annotations": [,]\n}')
    with pytest.raises(DatasetError, match=r"bad.json:3:\d+: not valid JSON"):
        read_source(path)


def test_malformed_xml_names_line(tmp_path):
    _voc(tmp_path, ["a", "b"], labelmap=False)
    (tmp_path / "Annotations" / "b.xml").write_text("<annotation>\n<size>\n</annotation>\n")
    with pytest.raises(DatasetError, match=r"b.xml:3:\d+: not valid XML"):
        read_source(tmp_path)
    src = read_source(tmp_path, on_bad="skip")
    assert src.issues.counts["malformed_file"] == 1 and len(src.splits["all"]) == 1


def test_malformed_yolo_line_names_line(tmp_path):
    _yolo_image(tmp_path, "", "a", ["0 0.5 0.5 0.2 0.2", "1 0.5 0.5"])
    (tmp_path / "classes.txt").write_text("a\nb\n")
    _fails_then_skips(tmp_path, "malformed_file", r"a.txt:2: expected 'class cx cy w h'")


def test_yolo_values_outside_unit_range(tmp_path):
    _yolo_image(tmp_path, "", "a", ["0 0.5 1.4 0.2 0.2"])
    (tmp_path / "classes.txt").write_text("a\n")
    _fails_then_skips(tmp_path, "out_of_range", r"a.txt:1: value 1.4 outside \[0, 1\]")


def test_yolo_unknown_class_index(tmp_path):
    _yolo_image(tmp_path, "", "a", ["3 0.5 0.5 0.2 0.2"])
    (tmp_path / "classes.txt").write_text("a\nb\n")
    _fails_then_skips(tmp_path, "unknown_category", r"a.txt:1: class 3 but only 2 names")


def test_image_listed_twice(tmp_path):
    path = _edit_coco(tmp_path, lambda d: d["images"].append(dict(d["images"][0], id=50)))
    _fails_then_skips(path, "duplicate_image", r"image id 50 \(img1.png\) is listed twice")
    _voc(tmp_path / "voc", ["a", "b"], {"train": ["a", "b", "a"], "val": ["b"]})
    _fails_then_skips(tmp_path / "voc", "duplicate_image", "image a.jpg is listed twice")


def test_empty_after_filtering(tmp_path):
    path = _edit_coco(tmp_path, lambda d: None)
    for i in range(1, 5):
        (tmp_path / f"img{i}.png").unlink()
    with pytest.raises(DatasetError, match="no images left"):
        read_source(path, on_bad="skip")
    one = tmp_path / "one"
    make_image(one / "img1.png", 64, 48)
    simple_coco(one, n_images=1)
    with pytest.raises(DatasetError, match="no validation images"):
        assign_splits(read_source(one / "instances.json"), 0.0, 0.0, 0)


def test_cli_reports_one_line_and_exit_2(tmp_path, capsys):
    path = _edit_coco(tmp_path, lambda d: d["annotations"][0].update(category_id=7))
    code = main(["data", "convert", str(path), str(tmp_path / "out"), "--to", "voc"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert err[0].startswith("error: ") and "instances.json: annotation id 1" in err[0]
    assert err[1].startswith("hint: ") and "--on-bad-image skip" in err[1]
    code = main(
        [
            "data",
            "convert",
            str(path),
            str(tmp_path / "out2"),
            "--to",
            "voc",
            "--on-bad-image",
            "skip",
        ]
    )
    assert code == 0 and "unknown_category: 1" in capsys.readouterr().out
